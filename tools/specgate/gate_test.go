package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// oasdiffCommand is the Makefile's pinned oasdiff, so that the tests run the
// version that make breaking runs.
var oasdiffCommand = sync.OnceValues(func() ([]string, error) {
	makefile, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		return nil, err
	}
	m := regexp.MustCompile(`(?m)^OASDIFF_VERSION := (\S+)$`).FindSubmatch(makefile)
	if m == nil {
		return nil, errors.New("the Makefile sets no OASDIFF_VERSION")
	}
	return []string{"go", "run", "github.com/oasdiff/oasdiff@" + string(m[1])}, nil
})

func oasdiff(t *testing.T) []string {
	t.Helper()
	cmd, err := oasdiffCommand()
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

// contract is api/openapi.yaml and the project's policy.
func contract(t *testing.T) ([]byte, policy) {
	t.Helper()
	spec, err := os.ReadFile(filepath.Join("..", "..", "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := loadPolicy(filepath.Join("..", "..", "api", "breaking-changes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return spec, p
}

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
func withVersion(t *testing.T, spec []byte, version string) []byte {
	t.Helper()
	current, err := specVersion(spec)
	if err != nil {
		t.Fatal(err)
	}
	return edit(t, spec, "\n  version: "+current+"\n", "\n  version: "+version+"\n")
}

func major(t *testing.T, spec []byte) version {
	t.Helper()
	s, err := specVersion(spec)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := parseVersion(s)
	if !ok {
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
	bulkItemTimestamp = `        timestamp:
          type: integer
          format: int64
          description: When the operation was done, in milliseconds since the Unix epoch.
          example: 1561939200000
`
	bulkItemRequired  = "      required: [id, status_code, timestamp]\n      properties:\n        error_messages:"
	messageTypeEnum   = "          enum: [ERROR, WARNING, INFO]\n          example: INFO\n"
	sendSpecRequired  = "      required: [message, message_type, session_ids]\n"
	sendSpecIDsAnchor = "        session_ids:\n          type: array\n          description: |\n            List of session ids"
	priority          = "        priority:\n          type: string\n          description: How urgent the message is.\n"
)

// The gate refuses a removed response property, a narrowed enum and a new
// required request property, even in a new major version, until the policy
// acknowledges it; an added optional property passes in a new minor version.
func TestGateOnChanges(t *testing.T) {
	t.Parallel()
	spec, p := contract(t)
	current := major(t, spec)
	nextMajor := version{current[0] + 1, 0, 0}.String()
	nextMinor := version{current[0], current[1] + 1, 0}.String()

	tests := []struct {
		name     string
		revise   func([]byte) []byte
		version  string
		wantID   string
		wantFail bool
	}{
		{
			name:    "removed optional response property",
			revise:  func(s []byte) []byte { return edit(t, s, bulkItemErrorMessages, "") },
			version: nextMajor, wantID: "response-optional-property-removed", wantFail: true,
		},
		{
			name: "removed required response property",
			revise: func(s []byte) []byte {
				s = edit(t, s, bulkItemTimestamp, "")
				return edit(t, s, bulkItemRequired, "      required: [id, status_code]\n      properties:\n        error_messages:")
			},
			version: nextMajor, wantID: "response-required-property-removed", wantFail: true,
		},
		{
			name: "narrowed enum",
			revise: func(s []byte) []byte {
				return edit(t, s, messageTypeEnum, "          enum: [ERROR, WARNING]\n          example: WARNING\n")
			},
			version: nextMajor, wantID: "request-property-enum-value-removed", wantFail: true,
		},
		{
			name: "new required request property",
			revise: func(s []byte) []byte {
				s = edit(t, s, sendSpecRequired, "      required: [message, message_type, session_ids, priority]\n")
				return edit(t, s, sendSpecIDsAnchor, priority+sendSpecIDsAnchor)
			},
			version: nextMajor, wantID: "new-required-request-property", wantFail: true,
		},
		{
			name:    "added optional request property",
			revise:  func(s []byte) []byte { return edit(t, s, sendSpecIDsAnchor, priority+sendSpecIDsAnchor) },
			version: nextMinor, wantID: "new-optional-request-property", wantFail: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			revision := withVersion(t, tt.revise(spec), tt.version)
			changes, err := compare(t.Context(), oasdiff(t), spec, revision, p.Levels)
			if err != nil {
				t.Fatal(err)
			}
			var found *change
			for i, c := range changes {
				if c.ID == tt.wantID {
					found = &changes[i]
				}
			}
			if found == nil {
				t.Fatalf("oasdiff reported %+v, not %s", changes, tt.wantID)
			}
			v := judge(changes, current.String(), tt.version, p, "policy")
			var out bytes.Buffer
			v.report(&out, "api/openapi.yaml", "policy")
			if v.failed() != tt.wantFail {
				t.Fatalf("failed = %v, want %v; report:\n%s", v.failed(), tt.wantFail, out.String())
			}
			if !tt.wantFail {
				if !strings.Contains(out.String(), "breaking: ok") || !strings.Contains(out.String(), tt.wantID) {
					t.Errorf("the report does not pass the change:\n%s", out.String())
				}
				return
			}
			if !strings.Contains(out.String(), "[NOT ACKNOWLEDGED]") || !strings.Contains(out.String(), "id: "+tt.wantID) {
				t.Errorf("the report does not name the change to acknowledge:\n%s", out.String())
			}

			// Acknowledged, with its reason, in the new major version: passes.
			ack := acknowledgement{Version: tt.version, ID: tt.wantID, Operation: found.where(), Reason: "the test says so"}
			acked := p
			acked.Acknowledged = append([]acknowledgement{ack}, p.Acknowledged...)
			if v := judge(changes, current.String(), tt.version, acked, "policy"); v.failed() {
				t.Errorf("acknowledged, the change is still refused: %q", v.problems)
			}
			// Acknowledged for another version: refused.
			other := acked
			other.Acknowledged = []acknowledgement{ack}
			other.Acknowledged[0].Version = version{current[0] + 2, 0, 0}.String()
			if v := judge(changes, current.String(), tt.version, other, "policy"); !v.failed() {
				t.Error("an acknowledgement for another version let the change through")
			}
			// Acknowledged, but without a new major version: refused.
			sameMajor := acked
			sameMajor.Acknowledged = []acknowledgement{ack}
			sameMajor.Acknowledged[0].Version = nextMinor
			v = judge(changes, current.String(), nextMinor, sameMajor, "policy")
			if !v.failed() || !strings.Contains(strings.Join(v.problems, "\n"), "new major version") {
				t.Errorf("a breaking change in %s passed or for another reason: %q", nextMinor, v.problems)
			}
		})
	}
}

// The versioning rule on its own: any change raises the version, which never
// goes down; wording alone needs nothing.
func TestGateVersionRule(t *testing.T) {
	t.Parallel()
	spec, p := contract(t)
	current := major(t, spec)
	added := edit(t, spec, sendSpecIDsAnchor, priority+sendSpecIDsAnchor)
	worded := edit(t, spec, "List of session ids to which message is to be sent.", "The ids of the sessions to send the message to.")
	lower := current
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
		{"addition with a patch raise", withVersion(t, added, version{current[0], current[1], current[2] + 1}.String()), ""},
		{"wording alone", worded, ""},
		{"version down", withVersion(t, worded, lower.String()), "went down"},
		{"not semver", withVersion(t, worded, "9.0.0-rc.1"), "not MAJOR.MINOR.PATCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			changes, err := compare(t.Context(), oasdiff(t), spec, tt.revision, p.Levels)
			if err != nil {
				t.Fatal(err)
			}
			revVersion, err := specVersion(tt.revision)
			if err != nil {
				t.Fatal(err)
			}
			v := judge(changes, current.String(), revVersion, p, "policy")
			problems := strings.Join(v.problems, "\n")
			if tt.wantFail == "" && v.failed() {
				t.Errorf("refused: %s", problems)
			}
			if tt.wantFail != "" && !strings.Contains(problems, tt.wantFail) {
				t.Errorf("problems %q, want one about %q", problems, tt.wantFail)
			}
		})
	}
}

// The policy file is checked: unknown members, levels and reasons that say
// nothing are refused.
func TestPolicyIsChecked(t *testing.T) {
	t.Parallel()
	for name, text := range map[string]string{
		"unknown member": "acknowledged:\n  - version: 9.0.0\n    id: x\n    operation: GET /a\n    reason: because it had to be\n    why: typo\n",
		"bad level":      "levels:\n  endpoint-added: loud\n",
		"no reason":      "acknowledged:\n  - version: 9.0.0\n    id: x\n    operation: GET /a\n",
		"short reason":   "acknowledged:\n  - version: 9.0.0\n    id: x\n    operation: GET /a\n    reason: needed\n",
		"bad version":    "acknowledged:\n  - version: v9\n    id: x\n    operation: GET /a\n    reason: because it had to be\n",
		"no operation":   "acknowledged:\n  - version: 9.0.0\n    id: x\n    reason: because it had to be\n",
	} {
		if _, err := parsePolicy("policy", []byte(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parsePolicy("policy", []byte("levels: {}\nacknowledged: []\n")); err != nil {
		t.Errorf("an empty policy: %v", err)
	}
}

// The whole command in a repository: it refuses a work tree that narrows an
// enum, and passes it once the change is acknowledged in a new major version.
func TestRunInARepository(t *testing.T) {
	spec, _ := contract(t)
	policyText, err := os.ReadFile(filepath.Join("..", "..", "api", "breaking-changes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := strings.Join(oasdiff(t), " ")
	repo := newRepo(t)
	repo.write("api/openapi.yaml", spec)
	repo.write("api/breaking-changes.yaml", policyText)
	repo.commit("the contract")
	t.Chdir(repo.dir)

	args := []string{"-oasdiff", cmd}
	var out bytes.Buffer
	if err := run(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("a clean tree with one commit: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "nothing to compare") {
		t.Errorf("the first version has no base, yet:\n%s", out.String())
	}

	current := major(t, spec)
	narrowed := edit(t, spec, messageTypeEnum, "          enum: [ERROR, WARNING]\n          example: WARNING\n")
	repo.write("api/openapi.yaml", withVersion(t, narrowed, version{current[0] + 1, 0, 0}.String()))
	out.Reset()
	if err := run(context.Background(), args, &out, &out); !errors.Is(err, errGate) {
		t.Fatalf("a narrowed enum: err = %v, want the gate's refusal\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "request-property-enum-value-removed") || !strings.Contains(out.String(), "at the fork point with main") {
		t.Errorf("the report does not name the change and its base:\n%s", out.String())
	}

	ack := "\n  - version: " + version{current[0] + 1, 0, 0}.String() +
		"\n    id: request-property-enum-value-removed\n    operation: POST /inventory/v1/sessions/action/send-message" +
		"\n    detail: \"`INFO`\"\n    reason: INFO messages are shown as WARNING by every client anyway\n"
	// The list of acknowledgements is the file's last entry, empty or not.
	withAck := bytes.Replace(policyText, []byte("acknowledged: []\n"), []byte("acknowledged:\n"), 1)
	repo.write("api/breaking-changes.yaml", append(bytes.TrimRight(withAck, "\n"), ack...))
	out.Reset()
	if err := run(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("acknowledged: %v\n%s", err, out.String())
	}

	// make changelog writes the same comparison.
	out.Reset()
	if err := run(context.Background(), append(args, "-changelog", "api/CHANGELOG.md"), &out, &out); err != nil {
		t.Fatalf("changelog: %v\n%s", err, out.String())
	}
	changelog, err := os.ReadFile(filepath.Join(repo.dir, "api", "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## " + version{current[0] + 1, 0, 0}.String(), "Breaking:", "request-property-enum-value-removed", "Why: INFO messages"} {
		if !bytes.Contains(changelog, []byte(want)) {
			t.Errorf("the changelog lacks %q:\n%s", want, changelog)
		}
	}
}
