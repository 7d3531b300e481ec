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

// spec is a stand-in spec: a version and a mark.
func spec(version, mark string) string {
	return "info:\n  version: " + version + "\n# " + mark + "\n"
}

// The base on main and on a branch, with a clean tree and with changes in it.
func TestResolveBase(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write(specPath, []byte(spec("1.0.0", "a")))
	first := r.commit("first")

	// The spec's first version has nothing before it.
	if b := r.base(""); b.spec != nil || !strings.Contains(b.description, "one version") {
		t.Errorf("first version: base %q (%q), want none", b.spec, b.description)
	}

	// A clean main: the previous version, however many commits made the
	// current one (a fast-forward merge lands them all).
	r.write(specPath, []byte(spec("1.1.0", "b")))
	r.commit("second")
	wantBase(t, r.base(""), spec("1.0.0", "a"), "the previous version")
	r.write(specPath, []byte(spec("1.1.0", "c")))
	r.commit("third, same version")
	r.write("README", []byte("not the spec\n"))
	r.commit("unrelated")
	wantBase(t, r.base(""), spec("1.0.0", "a"), first+", the previous version")

	// Uncommitted changes on main: the spec at HEAD.
	r.write(specPath, []byte(spec("1.2.0", "d")))
	wantBase(t, r.base(""), spec("1.1.0", "c"), "the fork point with main")
	r.git("checkout", "-q", "--", specPath)

	// A branch that changed the spec, committed or not: the fork point's.
	r.git("checkout", "-q", "-b", "topic")
	r.write(specPath, []byte(spec("1.2.0", "d")))
	r.commit("topic change")
	wantBase(t, r.base(""), spec("1.1.0", "c"), "the fork point with main")

	// Main moved on with its own change: still the fork point's, so the
	// branch's changes alone.
	r.git("checkout", "-q", "main")
	r.write(specPath, []byte(spec("1.1.1", "c2")))
	r.commit("main moves on")
	r.git("checkout", "-q", "topic")
	wantBase(t, r.base(""), spec("1.1.0", "c"), "the fork point with main")

	// A branch that did not touch the spec: main's previous version.
	r.git("checkout", "-q", "-b", "other", "main")
	r.write("README", []byte("other\n"))
	r.commit("other")
	wantBase(t, r.base(""), spec("1.1.0", "c"), "the previous version")

	// Merged into main: main before the merge.
	r.git("checkout", "-q", "main")
	r.git("merge", "-q", "--no-ff", "-X", "theirs", "-m", "merge topic", "topic")
	wantBase(t, r.base(""), spec("1.1.1", "c2"), "the previous version")

	// A release tag wins: the last release, by version.
	r.git("tag", "spec/v1.0.0", first)
	r.git("tag", "spec/v1.10.0", "HEAD~1")
	r.git("tag", "spec/v1.9.0", first)
	r.git("tag", "spec/vnext", "HEAD")
	wantBase(t, r.base(""), spec("1.1.1", "c2"), "spec/v1.10.0, the last release")

	// BASE wins over everything.
	wantBase(t, r.base(first), spec("1.0.0", "a"), "(given)")
}
