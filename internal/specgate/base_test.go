package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repo is a git repository in a temporary folder.
type repo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	r := &repo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.CommandContext(r.t.Context(), "git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) write(path string, text []byte) {
	r.t.Helper()
	full := filepath.Join(r.dir, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, text, 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// commit commits everything and returns the commit's short name.
func (r *repo) commit(message string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "-m", message)
	return r.git("rev-parse", "--short", "HEAD")
}

const specPath = "api/openapi.yaml"

func (r *repo) base(override string) base {
	r.t.Helper()
	revision, err := os.ReadFile(filepath.Join(r.dir, specPath))
	if err != nil {
		r.t.Fatal(err)
	}
	b, err := resolveBase(r.t.Context(), gitRunner{dir: r.dir}, specPath, revision, override)
	if err != nil {
		r.t.Fatalf("resolveBase: %v", err)
	}
	return b
}

func wantBase(t *testing.T, b base, spec, description string) {
	t.Helper()
	if string(b.spec) != spec {
		t.Errorf("base spec %q, want %q (%s)", b.spec, spec, b.description)
	}
	if !strings.Contains(b.description, description) {
		t.Errorf("base %q, want it to say %q", b.description, description)
	}
}

// The base on main and on a branch, with a clean tree and with changes in it.
func TestResolveBase(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write(specPath, []byte("v1\n"))
	r.commit("first")

	// The spec's first version has nothing before it.
	if b := r.base(""); b.spec != nil || !strings.Contains(b.description, "none") {
		t.Errorf("first version: base %q (%q), want none", b.spec, b.description)
	}

	r.write(specPath, []byte("v2\n"))
	second := r.commit("second")
	r.write("README", []byte("not the spec\n"))
	r.commit("unrelated")

	// A clean main: the spec before its last change.
	wantBase(t, r.base(""), "v1\n", "before "+second)

	// Uncommitted changes on main: the spec at HEAD.
	r.write(specPath, []byte("v3\n"))
	wantBase(t, r.base(""), "v2\n", "the fork point with main")
	r.git("checkout", "-q", "--", specPath)

	// A branch that changed the spec, committed or not: the fork point's.
	r.git("checkout", "-q", "-b", "topic")
	r.write(specPath, []byte("v3\n"))
	r.commit("topic change")
	wantBase(t, r.base(""), "v2\n", "the fork point with main")

	// Main moved on with its own change: still the fork point's, so the
	// branch's changes alone.
	r.git("checkout", "-q", "main")
	r.write(specPath, []byte("v2b\n"))
	r.commit("main moves on")
	r.git("checkout", "-q", "topic")
	wantBase(t, r.base(""), "v2\n", "the fork point with main")

	// A branch that did not touch the spec: main's last change.
	r.git("checkout", "-q", "-b", "other", "main")
	r.write("README", []byte("other\n"))
	r.commit("other")
	wantBase(t, r.base(""), "v2\n", "before")

	// Merged into main: the merge is the last change, against main before it.
	r.git("checkout", "-q", "main")
	r.git("merge", "-q", "--no-ff", "-X", "theirs", "-m", "merge topic", "topic")
	wantBase(t, r.base(""), "v2b\n", "before")

	// A release tag wins: the last release, by version.
	r.git("tag", "spec/v1.0.0", second)
	r.git("tag", "spec/v1.10.0", "HEAD~1")
	r.git("tag", "spec/v1.9.0", second)
	r.git("tag", "spec/vnext", "HEAD")
	wantBase(t, r.base(""), "v2b\n", "spec/v1.10.0, the last release")

	// BASE wins over everything.
	wantBase(t, r.base(second+"~1"), "v1\n", "(given)")
}
