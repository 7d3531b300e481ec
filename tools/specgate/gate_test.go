package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// oasdiffBin is oasdiff at the Makefile's version, so that the tests run what
// make breaking runs; TestMain installs it.
var oasdiffBin string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	makefile, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pinned := regexp.MustCompile(`(?m)^OASDIFF_VERSION := (\S+)$`).FindSubmatch(makefile)
	if pinned == nil {
		fmt.Fprintln(os.Stderr, "the Makefile sets no OASDIFF_VERSION")
		return 1
	}
	dir, err := os.MkdirTemp("", "specgate-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	install := exec.CommandContext(context.Background(), "go", "install", "github.com/oasdiff/oasdiff@"+string(pinned[1]))
	install.Env = append(os.Environ(), "GOBIN="+dir)
	if out, err := install.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "install oasdiff %s: %v\n%s", pinned[1], err, out)
		return 1
	}
	oasdiffBin = filepath.Join(dir, "oasdiff")
	return m.Run()
}

// The contract's files that the gate reads, copied into each test's
// repository as they are.
var contractFiles = []string{"api/openapi.yaml", "api/oasdiff.yaml", "api/oasdiff-levels.txt", "api/CHANGELOG.md"}

// contractRepo is a repository on main whose one commit holds the contract's
// files; the test runs in it. Its spec's version is returned.
func contractRepo(t *testing.T) (*repo, []byte) {
	t.Helper()
	r := newRepo(t)
	for _, path := range contractFiles {
		text, err := os.ReadFile(filepath.Join("..", "..", path))
		if err != nil {
			t.Fatal(err)
		}
		r.write(path, text)
	}
	r.commit("the contract")
	spec, err := os.ReadFile(filepath.Join(r.dir, specPath))
	if err != nil {
		t.Fatal(err)
	}
	return r, spec
}

// gateRun runs the command in the current folder and returns its output.
func gateRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(t.Context(), append([]string{"-oasdiff", oasdiffBin, "-templates", packageDir}, args...), &out, &out)
	return out.String(), err
}

// packageDir is this package's folder, where the templates are; the tests
// run in their repositories.
var packageDir = func() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return dir
}()

// edit replaces old with new in spec, once, failing t when old is not there
// exactly once: an edit that misses would test nothing.
func edit(t *testing.T, spec []byte, old, replacement string) []byte {
	t.Helper()
	if n := bytes.Count(spec, []byte(old)); n != 1 {
		t.Fatalf("the spec has %d copies of %q, want 1", n, old)
	}
	return bytes.Replace(spec, []byte(old), []byte(replacement), 1)
}

// withVersion sets info.version.
func withVersion(t *testing.T, spec []byte, v string) []byte {
	t.Helper()
	current, err := specVersion(spec)
	if err != nil {
		t.Fatal(err)
	}
	return edit(t, spec, "\n  version: "+current+"\n", "\n  version: "+v+"\n")
}

// version is MAJOR.MINOR.PATCH, for the tests' arithmetic.
type version [3]int

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

func current(t *testing.T, spec []byte) version {
	t.Helper()
	s, err := specVersion(spec)
	if err != nil {
		t.Fatal(err)
	}
	var v version
	if _, err := fmt.Sscanf(s, "%d.%d.%d", &v[0], &v[1], &v[2]); err != nil || v.String() != s {
		t.Fatalf("info.version %q", s)
	}
	return v
}

// Edits of the contract, each a kind of change the gate must know.
const (
	bulkItemErrorMessages = `        error_messages:
          type: array
          description: |
            Why the operation failed for this id; absent when it succeeded.
            Deprecated by Horizon 2203 in favour of ` + "`errors`" + `; both are returned.
          items:
            type: string
`
	messageTypeEnum   = "          enum: [ERROR, WARNING, INFO]\n          example: INFO\n"
	narrowedEnum      = "          enum: [ERROR, WARNING]\n          example: WARNING\n"
	sendSpecIDsAnchor = "        session_ids:\n          type: array\n          description: |\n            List of session ids"
	priority          = "        priority:\n          type: string\n          description: How urgent the message is.\n"
)

// ackLines are the lines the report offers to acknowledge with.
var ackLines = regexp.MustCompile(`(?m)^- [A-Z]+ /\S+ .*$`)

// A breaking change is refused until the file of its version acknowledges
// it, and the report writes the lines that do; the file of another version
// does not count, and an acknowledged change still needs a new major
// version. make changelog writes the section, breaking changes first.
func TestGateOnABreakingChange(t *testing.T) {
	r, spec := contractRepo(t)
	t.Chdir(r.dir)
	v := current(t, spec)
	nextMajor := version{v[0] + 1, 0, 0}.String()
	nextMinor := version{v[0], v[1] + 1, 0}.String()
	narrowed := edit(t, spec, messageTypeEnum, narrowedEnum)
	r.write(specPath, withVersion(t, narrowed, nextMajor))

	out, err := gateRun(t)
	if !errors.Is(err, errGate) {
		t.Fatalf("a narrowed enum: err = %v, want the gate's refusal\n%s", err, out)
	}
	ackFile := "api/breaking-changes/" + nextMajor + ".md"
	lines := ackLines.FindAllString(out, -1)
	if len(lines) != 1 || !strings.Contains(lines[0], "POST /inventory/v1/sessions/action/send-message") ||
		!strings.Contains(out, "add these lines to "+ackFile) || !strings.Contains(out, "at the fork point with main") {
		t.Fatalf("the report does not offer the line to acknowledge the change with, or its base:\n%s", out)
	}
	ack := "# " + nextMajor + "\n\nINFO messages are shown as WARNING by every client anyway.\n\n" + lines[0] + "\n"

	// In the file of another version, the line does not count.
	r.write("api/breaking-changes/"+version{v[0] + 2, 0, 0}.String()+".md", []byte(ack))
	if out, err := gateRun(t); !errors.Is(err, errGate) {
		t.Fatalf("acknowledged for another version: err = %v\n%s", err, out)
	}

	// In the file of its version: passes.
	r.write(ackFile, []byte(ack))
	if out, err := gateRun(t); err != nil {
		t.Fatalf("acknowledged: %v\n%s", err, out)
	}

	// Acknowledged, but in a minor version: oasdiff's versioning policy refuses.
	r.write(specPath, withVersion(t, narrowed, nextMinor))
	r.write("api/breaking-changes/"+nextMinor+".md", []byte(ack))
	out, err = gateRun(t)
	if !errors.Is(err, errGate) || !strings.Contains(out, "needs a new major version, "+nextMajor) {
		t.Fatalf("a breaking change in %s: err = %v\n%s", nextMinor, err, out)
	}

	// make changelog writes the section of the version.
	r.write(specPath, withVersion(t, narrowed, nextMajor))
	if out, err := gateRun(t, "-changelog", "api/CHANGELOG.md"); err != nil {
		t.Fatalf("changelog: %v\n%s", err, out)
	}
	changelog, err := os.ReadFile(filepath.Join(r.dir, "api", "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"## " + nextMajor + "\n\nChanges since " + v.String() + ".\n\nBreaking",
		"(breaking-changes/" + nextMajor + ".md)",
		"- `POST /inventory/v1/sessions/action/send-message`: ",
		"## " + v.String() + "\n",
	} {
		if !bytes.Contains(changelog, []byte(want)) {
			t.Errorf("the changelog lacks %q:\n%s", want, changelog)
		}
	}
}

// The contract's own levels (api/oasdiff.yaml): a removed optional response
// property, only info to oasdiff by default, is breaking here.
func TestGateUsesTheContractsLevels(t *testing.T) {
	r, spec := contractRepo(t)
	t.Chdir(r.dir)
	v := current(t, spec)
	r.write(specPath, withVersion(t, edit(t, spec, bulkItemErrorMessages, ""), version{v[0], v[1] + 1, 0}.String()))
	out, err := gateRun(t)
	if !errors.Is(err, errGate) || !strings.Contains(out, "response-optional-property-removed") {
		t.Fatalf("a removed optional response property: err = %v\n%s", err, out)
	}
}

// The rest of the version rule, which is specgate's: any change raises the
// version, which never goes down and is MAJOR.MINOR.PATCH; wording alone
// needs nothing.
func TestGateVersionRule(t *testing.T) {
	r, spec := contractRepo(t)
	t.Chdir(r.dir)
	v := current(t, spec)
	added := edit(t, spec, sendSpecIDsAnchor, priority+sendSpecIDsAnchor)
	worded := edit(t, spec, "List of session ids to which message is to be sent.", "The ids of the sessions to send the message to.")
	lower := v
	switch {
	case lower[2] > 0:
		lower[2]--
	case lower[1] > 0:
		lower[1]--
	default:
		lower[0]--
	}
	tests := []struct {
		name     string
		revision []byte
		wantFail string
	}{
		{"addition without a new version", added, "must be raised"},
		{"addition with a minor raise", withVersion(t, added, version{v[0], v[1] + 1, 0}.String()), ""},
		{"addition with a patch raise", withVersion(t, added, version{v[0], v[1], v[2] + 1}.String()), ""},
		{"wording alone", worded, ""},
		{"version down", withVersion(t, worded, lower.String()), "went down"},
		{"not semver", withVersion(t, worded, v.String()+"-rc.1"), "not MAJOR.MINOR.PATCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.write(specPath, tt.revision)
			out, err := gateRun(t)
			switch {
			case tt.wantFail == "" && err != nil:
				t.Errorf("refused: %v\n%s", err, out)
			case tt.wantFail != "" && (!errors.Is(err, errGate) || !strings.Contains(out, tt.wantFail)):
				t.Errorf("err = %v, want a refusal about %q\n%s", err, tt.wantFail, out)
			}
		})
	}
}

// The spec's first version has nothing to compare with, and passes.
func TestGateFirstVersion(t *testing.T) {
	r, _ := contractRepo(t)
	t.Chdir(r.dir)
	out, err := gateRun(t)
	if err != nil || !strings.Contains(out, "nothing to compare") {
		t.Fatalf("err = %v\n%s", err, out)
	}
}
