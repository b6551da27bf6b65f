package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalsEndARun builds ringfence and stops real runs blocked in
// loading, on a FIFO without a writer (explicitly named, so it is opened)
// and on a standard input that never ends, with SIGINT and SIGTERM: each
// must end within a second (slack) with the shell's status for the signal.
func TestSignalsEndARun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := build(t, dir)
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
				// Some input, more than a pipe holds, then silence: once
				// the write returns, the run is reading (its signal
				// handler is in place), and the load is under way.
				io.WriteString(w, "apiVersion: v1\nkind: Namespace\n"+strings.Repeat("# padding\n", 30000))
			} else {
				waitOpening(t, cmd.Process.Pid)
			}
			time.Sleep(100 * time.Millisecond)
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
				if elapsed > slack {
					t.Errorf("took %v to end after the signal", elapsed)
				}
				// Loading takes the context: the run stops by itself, not
				// by the forced exit ("cut short").
				if !strings.Contains(stderr.String(), "ringfence: interrupted by SIG") || strings.Contains(stderr.String(), "cut short") || strings.Contains(stderr.String(), "goroutine") {
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

// slack is how long a run may take to end after a signal in these tests:
// the second users expect, plus a second for a machine loaded by other
// tests. A run that misses the signal or hangs takes the full 10 seconds;
// whether it stopped by itself or by the forced exit is told by its
// message, not by the time.
const slack = 2 * time.Second

// waitOpening waits (up to 10 seconds) until a thread of process pid is in
// the openat system call, blocked opening a FIFO: then its signal handler
// is in place and loading is under way. Where /proc does not say (not
// Linux, another architecture), it waits a second.
func waitOpening(t *testing.T, pid int) {
	t.Helper()
	nr := map[string]string{"amd64": "257", "arm64": "56"}[runtime.GOARCH]
	if nr == "" {
		time.Sleep(time.Second)
		return
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
		if len(tasks) == 0 {
			time.Sleep(time.Second)
			return
		}
		for _, task := range tasks {
			b, err := os.ReadFile(task)
			if err != nil && !os.IsNotExist(err) {
				time.Sleep(time.Second) // not ours to read
				return
			}
			if strings.HasPrefix(string(b), nr+" ") {
				return
			}
		}
	}
	t.Fatal("the run never opened the FIFO")
}

// build builds ringfence into dir.
func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "ringfence")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestSignalsStopAnalysisAndOutput stops real runs on a large generated
// cluster after loading: during the analysis (reach, audit), which must
// stop at its own checks of the context (the run's usual one-line message,
// not the forced exit's "cut short"), and while writing the output to a
// pipe nobody reads, where only the forced exit can end it. Each ends
// within a second with the shell's status for the signal.
func TestSignalsStopAnalysisAndOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and a large cluster")
	}
	dir := t.TempDir()
	bin := build(t, dir)
	cluster := filepath.Join(dir, "cluster")
	gen := exec.Command(bin, "gencluster", "--out", cluster, "--namespaces", "600", "--workloads-per-ns", "10", "--policies-per-ns", "8")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("gencluster: %v\n%s", err, out)
	}
	// A file that is not an object: its warning, printed once loading is
	// over, tells the test that the analysis has begun.
	if err := os.WriteFile(filepath.Join(cluster, "values.yaml"), []byte("replicaCount: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const loaded = "ringfence: warning: not used: 1 files"
	tests := []struct {
		name   string
		args   []string
		output bool // signal once the output has begun, on a pipe never read
		signal syscall.Signal
		code   int
		want   string // the last line of standard error
	}{
		{"SIGINT during reach's analysis", []string{"reach", "-f", cluster, "-o", "json"}, false, syscall.SIGINT, 130, "ringfence: interrupted by SIGINT"},
		{"SIGTERM during audit's analysis", []string{"audit", "-f", cluster, "-o", "json"}, false, syscall.SIGTERM, 143, "ringfence: interrupted by SIGTERM"},
		{"SIGINT while writing to a full pipe", []string{"reach", "-f", cluster, "-o", "json"}, true, syscall.SIGINT, 130, "ringfence: interrupted by SIGINT (cut short: it did not stop within 500ms)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stdout io.ReadCloser
			if tt.output {
				if stdout, err = cmd.StdoutPipe(); err != nil {
					t.Fatal(err)
				}
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			lines := make(chan string, 16)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			var log []string
			next := func(timeout time.Duration) (string, bool) {
				select {
				case l, ok := <-lines:
					if ok {
						log = append(log, l)
					}
					return l, ok
				case <-time.After(timeout):
					return "", false
				}
			}
			if l, ok := next(2 * time.Minute); !ok || !strings.HasPrefix(l, loaded) {
				t.Fatalf("loading did not end with the expected warning: %q", log)
			}
			if tt.output {
				// The first byte of the output: the run is writing, and
				// blocks once the pipe is full.
				if _, err := stdout.Read(make([]byte, 1)); err != nil {
					t.Fatalf("no output: %v; stderr: %q", err, log)
				}
				time.Sleep(300 * time.Millisecond)
			} else {
				time.Sleep(200 * time.Millisecond)
			}
			sent := time.Now()
			if err := cmd.Process.Signal(tt.signal); err != nil {
				t.Fatal(err)
			}
			for {
				if _, ok := next(10 * time.Second); !ok {
					break
				}
			}
			err = cmd.Wait()
			elapsed := time.Since(sent)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tt.code {
				t.Errorf("exit %v, want %d; stderr: %q", err, tt.code, log)
			}
			if elapsed > slack {
				t.Errorf("took %v to end after the signal", elapsed)
			}
			if len(log) != 2 || log[1] != tt.want {
				t.Errorf("stderr %q, want the loading warning and %q", log, tt.want)
			}
		})
	}
}
