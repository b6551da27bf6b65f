package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// A git revision is read with the git command, not a Go implementation of
// git: the repository a CI job checks out (shallow, partial, with
// alternates or worktrees) is whatever git makes of it, and only git reads
// every such shape. go-git would add a dozen modules to the binary for a
// subset of them. `git archive` was the other candidate; it applies
// export-ignore and export-subst attributes, so a file could be missing
// from the base or rewritten. ls-tree plus one `cat-file --batch` stream
// reads the committed blobs exactly, in two processes whatever the number
// of files.

// revision is a git revision of some paths, written into a temporary
// directory.
type revision struct {
	// Dir is the temporary directory; Root the directory in it that
	// stands for the current one, whose prefix outputs trim.
	Dir, Root string
	// Paths are the given paths as they are found under Dir.
	Paths []string
}

// extractRevision writes the files of paths (relative to the current
// directory, inside its git work tree) as they are at rev into a new
// temporary directory. Paths absent at rev are left out of Paths: the
// base had nothing there.
func extractRevision(ctx context.Context, rev string, paths []string) (*revision, error) {
	if strings.HasPrefix(rev, "-") {
		return nil, usagef("--base-ref %q: not a revision", rev)
	}
	top, err := git(ctx, "", nil, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, usagef("--base-ref needs a git work tree: %v", err)
	}
	top = strings.TrimSpace(top)
	if _, err := git(ctx, top, nil, "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		return nil, usagef("--base-ref %q: no such commit in %s", rev, top)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	// Symlinks in the work tree's path (macOS /tmp) must not make paths
	// look outside it.
	realTop, err := filepath.EvalSymlinks(top)
	if err != nil {
		return nil, err
	}
	realCwd, err := filepath.EvalSymlinks(cwd)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ringfence-base-")
	if err != nil {
		return nil, err
	}
	prefix, _ := filepath.Rel(realTop, realCwd)
	r := &revision{Dir: dir, Root: filepath.Join(dir, prefix)}
	var rel []string
	for _, p := range paths {
		if p == "-" {
			os.RemoveAll(dir)
			return nil, usagef("--base-ref compares files of the repository: standard input has no revision")
		}
		abs := filepath.Join(realCwd, p)
		if filepath.IsAbs(p) {
			abs = p
		}
		rp, err := filepath.Rel(realTop, abs)
		if err != nil || rp == ".." || strings.HasPrefix(rp, ".."+string(filepath.Separator)) {
			os.RemoveAll(dir)
			return nil, usagef("--head %s is outside the git work tree %s, which --base-ref reads", p, top)
		}
		rel = append(rel, filepath.ToSlash(rp))
		r.Paths = append(r.Paths, filepath.Join(dir, rp))
	}
	if err := writeTree(ctx, top, rev, rel, dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A path absent at the revision held nothing then.
	var present []string
	for _, p := range r.Paths {
		if _, err := os.Lstat(p); err == nil {
			present = append(present, p)
		}
	}
	r.Paths = present
	return r, nil
}

// writeTree lists the blobs under paths at rev and writes them below dir.
func writeTree(ctx context.Context, top, rev string, paths []string, dir string) error {
	args := append([]string{"ls-tree", "-r", "-z", "--full-tree", rev, "--"}, paths...)
	list, err := git(ctx, top, nil, args...)
	if err != nil {
		return fmt.Errorf("--base-ref %s: %v", rev, err)
	}
	type entry struct{ mode, oid, path string }
	var entries []entry
	var batch bytes.Buffer
	for _, rec := range strings.Split(list, "\x00") {
		if rec == "" {
			continue
		}
		meta, path, ok := strings.Cut(rec, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 3 {
			return fmt.Errorf("--base-ref %s: unexpected git ls-tree output %q", rev, rec)
		}
		if f[1] != "blob" {
			continue // a submodule: its files are another repository's
		}
		entries = append(entries, entry{mode: f[0], oid: f[2], path: path})
		batch.WriteString(f[2] + "\n")
	}
	if len(entries) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "git", "cat-file", "--batch")
	cmd.Dir = top
	cmd.Stdin = &batch
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git: %v", err)
	}
	rd := bufio.NewReader(stdout)
	for _, e := range entries {
		header, err := rd.ReadString('\n')
		if err != nil {
			cmd.Wait()
			return fmt.Errorf("git cat-file: %v %s", err, stderr.String())
		}
		f := strings.Fields(header)
		if len(f) != 3 || f[0] != e.oid {
			cmd.Wait()
			return fmt.Errorf("git cat-file: unexpected header %q for %s", strings.TrimSpace(header), e.path)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			cmd.Wait()
			return fmt.Errorf("git cat-file: bad size in %q", strings.TrimSpace(header))
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(rd, data); err != nil {
			cmd.Wait()
			return fmt.Errorf("git cat-file: %v", err)
		}
		if _, err := rd.Discard(1); err != nil { // the newline after each object
			cmd.Wait()
			return fmt.Errorf("git cat-file: %v", err)
		}
		target := filepath.Join(dir, filepath.FromSlash(e.path))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			cmd.Wait()
			return err
		}
		if e.mode == "120000" {
			err = os.Symlink(string(data), target)
		} else {
			err = os.WriteFile(target, data, 0o644)
		}
		if err != nil {
			cmd.Wait()
			return err
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git cat-file: %v %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// git runs a git command in dir (the current directory when empty) and
// returns its standard output; its standard error becomes the error.
func git(ctx context.Context, dir string, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("%s", msg)
		}
		return "", err
	}
	return out.String(), nil
}
