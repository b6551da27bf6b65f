package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPty opens a pseudo-terminal pair: what the command writes to tty,
// a terminal for term.IsTerminal, is read from pty.
func openPty(t *testing.T) (pty, tty *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	pty = os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		pty.Close()
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		pty.Close()
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		pty.Close()
		t.Fatal(err)
	}
	return pty, tty
}

// TestReportRefusesTerminal runs `report` with its standard output on a
// real terminal: the HTML page is refused (exit 2, nothing written to the
// terminal) unless -o html is given with --force; --force alone, or -o
// html alone, is not enough.
func TestReportRefusesTerminal(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		write bool
	}{
		{[]string{"report", "-f", "examples/ml-platform"}, false},
		{[]string{"report", "-f", "examples/ml-platform", "--force"}, false},
		{[]string{"report", "-f", "examples/ml-platform", "-o", "html"}, false},
		{[]string{"report", "-f", "examples/ml-platform", "-o", "html", "--force"}, true},
		{[]string{"report", "-f", "examples/ml-platform", "-o", "dot"}, true},
	} {
		name := strings.Join(tc.args[3:], " ")
		if name == "" {
			name = "no flags"
		}
		t.Run(name, func(t *testing.T) {
			pty, tty := openPty(t)
			defer pty.Close()
			// Drain the terminal while the command writes: a page is
			// larger than the terminal's buffer.
			seen := make(chan []byte)
			go func() {
				b, _ := io.ReadAll(pty) // ends with EIO once tty is closed
				seen <- b
			}()
			var errb bytes.Buffer
			code := Main(context.Background(), tc.args, Streams{In: strings.NewReader(""), Out: tty, Err: &errb, Now: testNow})
			tty.Close()
			got := <-seen
			if !tc.write {
				if code != ExitInput || !strings.Contains(errb.String(), "redirect it to a file") || len(got) != 0 {
					t.Errorf("exit %d, stderr %q, %d bytes on the terminal; want exit 2, the advice, nothing written", code, errb.String(), len(got))
				}
				return
			}
			if code != ExitOK || len(got) == 0 {
				t.Fatalf("exit %d, %s; %d bytes on the terminal", code, errb.String(), len(got))
			}
			if tc.args[len(tc.args)-1] == "--force" && !bytes.Contains(got, []byte("</html>")) {
				t.Errorf("no page on the terminal: %.200q", got)
			}
		})
	}
	// Redirected (not a terminal), the page is written without --force.
	out, errOut, code := run(t, "", "report", "-f", "examples/ml-platform")
	if code != ExitOK || !strings.Contains(out, "</html>") {
		t.Errorf("redirected: exit %d, %s", code, errOut)
	}
}
