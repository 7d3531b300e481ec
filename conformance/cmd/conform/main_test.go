package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
	"github.com/hzkit/sendmessage/server/refservertest"
)

const password = "conform-cmd-Passw0rd"

// refServer is the reference server with the demo data, over HTTPS with its
// certificate in a file, as an administrator would run conform against it.
func refServer(t *testing.T, faults []model.FaultRule) (url, caFile string) {
	t.Helper()
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{
		Users:    []model.ReferenceUser{server.DemoAdministrator(password)},
		Sessions: sessions,
		Faults:   faults,
		Limits:   server.Limits{MaxBodyBytes: 64 << 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv)
	t.Cleanup(ts.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return ts.URL, caFile
}

type result struct {
	code           int
	stdout, stderr string
}

func runConform(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	for _, secret := range []string{password, "static-Token-77"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("a secret is printed:\n%s\n%s", r.stdout, r.stderr)
		}
	}
	return r
}

func TestConformsAgainstTheReferenceServer(t *testing.T) {
	t.Parallel()
	url, caFile := refServer(t, nil)
	dir := t.TempDir()
	env := map[string]string{"HORIZON_SERVER": url, "HORIZON_USERNAME": "administrator", "HORIZON_DOMAIN": "EXAMPLE",
		"HORIZON_PASSWORD": password, "HORIZON_CACERT": caFile}
	r := runConform(t, env, "--pace", "0s", "--max-body-bytes", "65536",
		"--json", filepath.Join(dir, "report.json"), "--junit", filepath.Join(dir, "report.xml"))
	if r.code != exitConforms || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	if !strings.Contains(r.stdout, "35 checks: 34 passed, 0 failed, 1 skipped") {
		t.Errorf("summary:\n%s", r.stdout)
	}
	var rep struct {
		Passed int `json:"passed"`
		Checks []struct {
			Check  string `json:"check"`
			Result string `json:"result"`
		} `json:"checks"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil || rep.Passed != 34 || len(rep.Checks) != 35 {
		t.Errorf("report.json: %v, %+v", err, rep)
	}
	data, err = os.ReadFile(filepath.Join(dir, "report.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var junit struct {
		Tests int `xml:"tests,attr"`
	}
	if err := xml.Unmarshal(data, &junit); err != nil || junit.Tests != 35 {
		t.Errorf("report.xml: %v, %d tests", err, junit.Tests)
	}
}

func TestDiffersExitsOne(t *testing.T) {
	t.Parallel()
	status := int32(http.StatusInternalServerError)
	url, caFile := refServer(t, []model.FaultRule{refservertest.Rule(model.RespondFaultRule{Operation: model.FaultOperationSendMessageToSessions, Status: status})})
	r := runConform(t, map[string]string{"HORIZON_PASSWORD": password}, "--server", url, "--ca-file", caFile,
		"--username", "administrator", "--domain", "EXAMPLE", "--pace", "0s", "--max-body-bytes", "65536", "--json", "-")
	if r.code != exitDiffers {
		t.Fatalf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		Failed int `json:"failed"`
		Checks []struct {
			Check       string   `json:"check"`
			Operation   string   `json:"operation"`
			Differences []string `json:"differences"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json -: %v\n%s", err, r.stdout)
	}
	found := false
	for _, c := range rep.Checks {
		if c.Check == "send to ids that cannot exist" {
			found = c.Operation == "sendMessageToSessions" && len(c.Differences) > 0 &&
				strings.Contains(c.Differences[0], "sendMessageToSessions answered 500, want 200")
		}
	}
	if rep.Failed != 1 || !found {
		t.Errorf("failed %d; want the send to unknown ids to fail with 500:\n%s", rep.Failed, r.stdout)
	}
}

func TestCannotRunExitsTwo(t *testing.T) {
	t.Parallel()
	url, caFile := refServer(t, nil)
	login := []string{"--server", url, "--username", "administrator", "--domain", "EXAMPLE"}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no server", nil, nil, "conform: --server (or HORIZON_SERVER) is required\nRun 'conform --help' for usage.\n"},
		{"an argument", nil, []string{"--server", url, "--token", "t", "extra"}, `conform takes no arguments, only flags: "extra"`},
		{"an unknown flag", nil, []string{"--nope"}, "unknown flag: --nope"},
		{"send without confirming", nil, []string{"--server", url, "--token", "t", "--send-to", "s1"}, "add --confirm-send"},
		{"no password", nil, login, "no password: set HORIZON_PASSWORD"},
		{"a server without a scheme", nil, []string{"--server", "horizon.example.com", "--token", "t"}, `--server horizon.example.com has no scheme: write https://horizon.example.com`},
		{"a spec that is not one", nil, []string{"--server", url, "--token", "t", "--spec", "main_test.go"}, "spec main_test.go: neither JSON nor YAML"},
		{"wrong password", map[string]string{"HORIZON_PASSWORD": "not-it", "HORIZON_CACERT": caFile}, login, `refused the login of EXAMPLE\administrator (401)`},
		{"certificate not trusted", map[string]string{"HORIZON_PASSWORD": password}, login, "give it with --ca-file FILE (or HORIZON_CACERT)"},
		{"a wrong token", map[string]string{"HORIZON_CACERT": caFile}, []string{"--server", url, "--token", "static-Token-77"}, "refused the token (401)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runConform(t, tt.env, tt.args...)
			if r.code != exitCannotRun || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	r := runConform(t, nil, "--help")
	for _, want := range []string{"Usage:\n  conform [flags]", "--server URL", "--confirm-send", "--junit FILE", "Exit status: 0"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("--help: exit %d, no %q in\n%s", r.code, want, r.stdout)
		}
	}
}
