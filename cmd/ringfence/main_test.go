package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalsEndARun builds ringfence and stops real runs blocked in
// loading, on a FIFO without a writer (explicitly named, so it is opened)
// and on a standard input that never ends, with SIGINT and SIGTERM: each
// must end within a second with the shell's status for the signal.
func TestSignalsEndARun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ringfence")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fifo := filepath.Join(dir, "objects.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	tests := []struct {
		name   string
		args   []string
		stdin  bool
		signal syscall.Signal
		code   int
	}{
		{"SIGINT while opening a FIFO", []string{"inventory", "-f", fifo}, false, syscall.SIGINT, 130},
		{"SIGTERM while opening a FIFO", []string{"audit", fifo}, false, syscall.SIGTERM, 143},
		{"SIGINT while reading stdin", []string{"reach", "-f", "-"}, true, syscall.SIGINT, 130},
		{"SIGTERM while reading stdin", []string{"explain", "-f", "-", "--from", "a/b", "--to", "c/d"}, true, syscall.SIGTERM, 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			var w io.WriteCloser
			if tt.stdin {
				var err error
				if w, err = cmd.StdinPipe(); err != nil {
					t.Fatal(err)
				}
				defer w.Close()
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if tt.stdin {
				// Some input, then silence: the load is under way.
				io.WriteString(w, "apiVersion: v1\nkind: Namespace\n")
			}
			time.Sleep(300 * time.Millisecond)
			sent := time.Now()
			if err := cmd.Process.Signal(tt.signal); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				elapsed := time.Since(sent)
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != tt.code {
					t.Errorf("exit %v, want %d; stderr: %s", err, tt.code, stderr.String())
				}
				if elapsed > time.Second {
					t.Errorf("took %v to end after the signal", elapsed)
				}
				if !strings.Contains(stderr.String(), "ringfence: interrupted by SIG") || strings.Contains(stderr.String(), "goroutine") {
					t.Errorf("stderr: %q", stderr.String())
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 10s after %v; stderr: %s", tt.signal, stderr.String())
			}
		})
	}
	os.Remove(fifo)
}
