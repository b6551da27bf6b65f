package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/testenv"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestLiveProgressOnTerminalOnly reads a live cluster with standard error
// on a real terminal, then on a pipe: on the terminal one line says what
// is being read, redrawn in place (carriage returns, no new lines) and
// erased at the end; on the pipe nothing of it is written. Standard output
// is the same JSON either way.
func TestLiveProgressOnTerminalOnly(t *testing.T) {
	env := testenv.Start(t)
	apply(t, env.Config, "examples/ml-platform")
	admin := kubeconfig(t, env, envtest.User{Name: "admin", Groups: []string{"system:masters"}})
	args := []string{"inventory", "--kubeconfig", admin, "-A", "-o", "json"}

	pty, tty := openPty(t)
	defer pty.Close()
	seen := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(pty) // ends with EIO once tty is closed
		seen <- b
	}()
	var onTerm bytes.Buffer
	code := Main(context.Background(), args, Streams{In: strings.NewReader(""), Out: &onTerm, Err: tty, Now: testNow})
	tty.Close()
	drawn := string(<-seen)
	if code != ExitOK {
		t.Fatalf("exit %d: %q", code, drawn)
	}
	if !strings.HasPrefix(drawn, "\rreading envtest: ") || !strings.Contains(drawn, " objects, ") || !strings.HasSuffix(drawn, "\r\x1b[K") || strings.Contains(drawn, "\n") {
		t.Errorf("on a terminal, stderr was %q; want one line redrawn with carriage returns, then erased", drawn)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	piped := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		piped <- b
	}()
	var onPipe bytes.Buffer
	code = Main(context.Background(), args, Streams{In: strings.NewReader(""), Out: &onPipe, Err: w, Now: testNow})
	w.Close()
	if got := <-piped; code != ExitOK || len(got) != 0 {
		t.Errorf("on a pipe: exit %d, stderr %q; want nothing", code, got)
	}
	var a, b any
	if json.Unmarshal(onTerm.Bytes(), &a) != nil || json.Unmarshal(onPipe.Bytes(), &b) != nil || onTerm.String() != onPipe.String() {
		t.Errorf("standard output differs between the two runs")
	}
}
