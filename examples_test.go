package sendmessage_test

import (
	"bytes"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

// examples/horizon-workflow.sh does a Horizon administrator's four steps with
// curl over HTTPS; run against the reference server, it warns exactly the
// connected sessions of the pool and leaves no login behind.
func TestWorkflowScript(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("examples/horizon-workflow.sh needs %s, which is not installed: %v", tool, err)
		}
	}
	tests := []struct {
		name, pageSize string
		wantPages      int
	}{
		{"one page", "", 1},
		{"a page per session", "1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startTLSServer(t)
			caFile := filepath.Join(t.TempDir(), "server.pem")
			if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate.Raw}), 0o600); err != nil {
				t.Fatal(err)
			}
			const message = `Restart at 18:00 - save "everything" \ now`
			cmd := exec.CommandContext(t.Context(), "bash", "examples/horizon-workflow.sh")
			cmd.Env = append(os.Environ(),
				"HORIZON_SERVER="+ts.URL, "HORIZON_USERNAME="+testUser, "HORIZON_PASSWORD="+testPassword,
				"HORIZON_DOMAIN="+testDomain, "HORIZON_POOL=pool-finance", "HORIZON_CACERT="+caFile,
				"HORIZON_MESSAGE="+message, "HORIZON_PAGE_SIZE="+tt.pageSize)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("script: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}

			wantOut := "Logged in as EXAMPLE\\administrator\n2 connected sessions in pool pool-finance\nWarned 2 of 2 sessions\nLogged out\n"
			if diff := cmp.Diff(wantOut, stdout.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr: %s", stderr.String())
			}
			var delivered []model.DeliveredMessage
			for _, m := range ts.delivered(t) {
				if m.Message != message || m.MessageType != model.DeliveredMessageMessageTypeWARNING {
					t.Errorf("delivered %+v, want the WARNING as given", m)
				}
				delivered = append(delivered, m)
			}
			if len(delivered) != 2 || delivered[0].SessionID != seedSessionID || delivered[1].SessionID != connectedFinance {
				t.Errorf("delivered %+v, want the two connected sessions of pool-finance", delivered)
			}
			requests := ts.takeRequests()
			pages := 0
			for _, r := range requests {
				if r == "GET /rest/inventory/v1/sessions" {
					pages++
				}
			}
			if pages != tt.wantPages || !slices.Contains(requests, "POST /rest/logout") {
				t.Errorf("requests %v: want %d pages and a logout", requests, tt.wantPages)
			}
			// The script's access token ended with its login, and never showed.
			scripts := slices.DeleteFunc(ts.seenBearers(), func(token string) bool { return token == testToken })
			if len(scripts) != 1 {
				t.Fatalf("the script used %d tokens, want 1", len(scripts))
			}
			if got := ts.sendWith(t, scripts[0]); got != http.StatusUnauthorized {
				t.Errorf("the script's token still works after it ended: %d", got)
			}
			if strings.Contains(stdout.String(), scripts[0]) {
				t.Error("the script printed its token")
			}
		})
	}
}

// When the login has ended by the time the script logs out (here: it has
// expired just then), Horizon 8.0.0 answers the logout 400. Nothing is left
// to end: the script says so and succeeds.
func TestWorkflowScriptLoginAlreadyEnded(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("examples/horizon-workflow.sh needs %s, which is not installed: %v", tool, err)
		}
	}
	ts := startServer(t)
	ts.beforeEach(func(r *http.Request) {
		if r.URL.Path == logoutURL {
			ts.Clock.Advance(server.DefaultRefreshTokenTTL)
		}
	})
	cmd := exec.CommandContext(t.Context(), "bash", "examples/horizon-workflow.sh")
	cmd.Env = append(os.Environ(), "HORIZON_SERVER="+ts.URL, "HORIZON_USERNAME="+testUser,
		"HORIZON_PASSWORD="+testPassword, "HORIZON_DOMAIN="+testDomain, "HORIZON_POOL=pool-finance")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("script: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	wantOut := "Logged in as EXAMPLE\\administrator\n2 connected sessions in pool pool-finance\nWarned 2 of 2 sessions\n" +
		"The login had already ended: refresh token has expired: log in again\n"
	if diff := cmp.Diff(wantOut, stdout.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
	if requests := ts.takeRequests(); !slices.Contains(requests, "POST /rest/logout") {
		t.Errorf("requests %v: want a logout", requests)
	}
}

// A refused login stops the script with the server's reason and no logout.
func TestWorkflowScriptReportsARefusal(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("examples/horizon-workflow.sh needs %s, which is not installed: %v", tool, err)
		}
	}
	ts := startServer(t)
	cmd := exec.CommandContext(t.Context(), "bash", "examples/horizon-workflow.sh")
	cmd.Env = append(os.Environ(), "HORIZON_SERVER="+ts.URL, "HORIZON_USERNAME=administrator@example.com",
		"HORIZON_PASSWORD="+testPassword, "HORIZON_DOMAIN="+testDomain, "HORIZON_POOL=pool-finance")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("the script succeeded:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "UPN-style user names") {
		t.Errorf("stderr does not give the server's reason:\n%s", stderr.String())
	}
	if diff := cmp.Diff([]string{"POST /rest/login"}, ts.takeRequests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
