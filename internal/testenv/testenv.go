// Package testenv starts a real kube-apiserver and etcd for tests, through
// controller-runtime's envtest, from the binaries hack/testbin.sh builds.
// Only tests import it.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Env is a running control plane.
type Env struct {
	*envtest.Environment
	Config *rest.Config
}

// repoRoot is the repository's root, found from this file's path.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start starts kube-apiserver and etcd with the ML operators' CRDs and
// those of crdDirs installed, and stops them when the test ends. Without
// KUBEBUILDER_ASSETS the test is skipped, unless RINGFENCE_LIVE_TESTS=required
// (as `make test` sets it), where a missing control plane fails the test.
func Start(t testing.TB, crdDirs ...string) *Env {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		if os.Getenv("RINGFENCE_LIVE_TESTS") == "required" {
			t.Fatal("KUBEBUILDER_ASSETS is not set: run the tests with make test (hack/testbin.sh builds the control plane)")
		}
		t.Skip("no KUBEBUILDER_ASSETS: live-cluster tests need `make test` (or export KUBEBUILDER_ASSETS=$(hack/testbin.sh))")
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		CRDDirectoryPaths:        append([]string{filepath.Join(repoRoot(), "testdata", "crds")}, crdDirs...),
		ErrorIfCRDPathMissing:    true,
		AttachControlPlaneOutput: os.Getenv("RINGFENCE_TESTENV_VERBOSE") != "",
		// Start-up usually takes 3 s here but has taken 14 s on a busy
		// two-core machine; the default 20 s is too tight for CI.
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	apiServer := env.ControlPlane.GetAPIServer()
	// A certificate directory of our own survives a restart of the API
	// server (RestartAPIServer), so clients keep trusting it.
	apiServer.CertDir = t.TempDir()
	api := apiServer.Configure()
	// Without a default route the apiserver cannot pick an address to
	// advertise, and it refuses loopback; a documentation address (RFC 5737)
	// is only recorded in the kubernetes Service's endpoints, never dialled.
	api.Set("advertise-address", "192.0.2.1")
	// The examples give kube-dns the address EKS uses.
	api.Set("service-cluster-ip-range", "172.20.0.0/16")
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting kube-apiserver and etcd: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	return &Env{Environment: env, Config: cfg}
}

// RestartAPIServer stops kube-apiserver and starts it again on the same
// port, certificates and etcd, as a control-plane upgrade or crash would.
// It is sent SIGTERM and, if it has not exited after 5 s (it waits for
// open watches), SIGKILL, as the kubelet does after a grace period.
// down runs while it is stopped.
func (e *Env) RestartAPIServer(down func()) error {
	api := e.ControlPlane.GetAPIServer()
	pid, err := pidWithArg("--cert-dir=" + api.CertDir)
	if err != nil {
		return err
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if !gone(pid, 5*time.Second) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		if !gone(pid, 30*time.Second) {
			return fmt.Errorf("kube-apiserver (pid %d) did not exit", pid)
		}
	}
	// The process has exited and been reaped: Stop only records it, once
	// envtest's waiter has seen the exit. Until then Stop signals a process
	// that is gone (ESRCH): try again shortly.
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := api.Stop()
		if err == nil {
			break
		}
		if !(errors.Is(err, syscall.ESRCH) || errors.Is(err, os.ErrProcessDone)) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	if down != nil {
		down()
	}
	return api.Start()
}

// pidWithArg finds the process started with arg (Linux /proc).
func pidWithArg(arg string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && slices.Contains(strings.Split(string(cmdline), "\x00"), arg) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no process with argument %s", arg)
}

// gone waits until process pid no longer exists (exited and reaped).
func gone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); os.IsNotExist(err) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// RepoRoot is the repository's root directory.
func RepoRoot() string { return repoRoot() }

// Buffer is a bytes.Buffer a process under test may write while the test
// reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TierCRDs is the directory of the tiered policy kinds' CRDs (EKS
// ClusterNetworkPolicy and ApplicationNetworkPolicy, upstream
// ClusterNetworkPolicy v1alpha2, AdminNetworkPolicy and
// BaselineAdminNetworkPolicy v1alpha1): Start(t, TierCRDs()) installs them.
// They are not installed by default, so that the other live tests keep
// the cluster shape they were written for.
func TierCRDs() string { return filepath.Join(repoRoot(), "testdata", "crds", "tiers") }
