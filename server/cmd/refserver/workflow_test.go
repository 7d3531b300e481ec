package main

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
)

// TestWorkflowOverHTTPS is what every script that messages Horizon users
// does, against the real program over HTTPS with its self-signed certificate:
// log in, list the sessions of one pool through the filter (one page at a
// time), send them a WARNING, see on the inspection endpoint that exactly the
// connected ones got it, refresh the access token, log out, and see every
// token of the login refused. Every answer is checked against the spec.
func TestWorkflowOverHTTPS(t *testing.T) {
	t.Parallel()
	const password = "workflow-Passw0rd"
	certFile := filepath.Join(t.TempDir(), "refserver.pem")
	r := startRun(t, []string{"-addr", "127.0.0.1:0", "-tls", "-tls-cert-out", certFile, "-admin-password", password}, nil)
	client := httpsClient(t, certFile, tls.VersionTLS13)

	// 1. Log in.
	tokens, status := loginAs(t, client, r.base, "administrator", password, "EXAMPLE")
	if status != http.StatusOK {
		t.Fatalf("login: %d", status)
	}

	// 2. The sessions of pool-finance, through the filter, two per page.
	filter := `{"type":"Equals","name":"desktop_pool_id","value":"pool-finance"}`
	var ids []string
	pages := 0
	for page := 1; ; page++ {
		query := url.Values{"filter": {filter}, "page": {strconv.Itoa(page)}, "size": {"2"}}
		resp, body := call(t, client, http.MethodGet, r.base+"/inventory/v1/sessions?"+query.Encode(), tokens.AccessToken, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list page %d: %d %s", page, resp.StatusCode, body)
		}
		var sessions []model.SessionInfo
		decode(t, body, &sessions)
		for _, s := range sessions {
			ids = append(ids, s.ID)
		}
		pages++
		if resp.Header.Get("HAS_MORE_RECORDS") != "TRUE" {
			break
		}
	}
	finance := []string{seedID, "2f1c0b7e-5a7d-4c8b-9e5f-1a2b3c4d5e6f", "9b8a7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"}
	if diff := cmp.Diff(finance, ids); diff != "" || pages != 2 {
		t.Fatalf("pool-finance in %d pages (-want +got):\n%s", pages, diff)
	}

	// 3. Send them a WARNING; the disconnected one cannot show it.
	const message = "This desktop restarts in 15 minutes. Please save your work."
	spec, err := json.Marshal(model.SessionSendMessageSpec{Message: message, MessageType: model.SessionSendMessageSpecMessageTypeWARNING, SessionIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := call(t, client, http.MethodPost, r.base+sendSuffix, tokens.AccessToken, string(spec))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("send: %d %s", resp.StatusCode, body)
	}
	var statuses []int32
	for _, item := range decodeItems(t, body) {
		statuses = append(statuses, item.StatusCode)
	}
	if diff := cmp.Diff([]int32{200, 200, 409}, statuses); diff != "" {
		t.Errorf("result status codes (-want +got):\n%s", diff)
	}

	// 4. Exactly the connected sessions of the pool got it, as a WARNING.
	resp, body = call(t, client, http.MethodGet, r.base+"/refserver/v1/messages", tokens.AccessToken, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("inspection: %d %s", resp.StatusCode, body)
	}
	var delivered model.DeliveredMessages
	decode(t, body, &delivered)
	var got []string
	for _, m := range delivered.Messages {
		if m.Message != message || m.MessageType != model.DeliveredMessageMessageTypeWARNING {
			t.Errorf("delivered %+v, want the WARNING", m)
		}
		got = append(got, m.SessionID)
	}
	if diff := cmp.Diff(finance[:2], got); diff != "" {
		t.Errorf("delivered to (-want +got):\n%s", diff)
	}

	// 5. Refresh: a new access token that works.
	resp, body = call(t, client, http.MethodPost, r.base+"/refresh", "", `{"refresh_token":"`+tokens.RefreshToken+`"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	var refreshed model.AccessToken
	decode(t, body, &refreshed)
	if resp, body := call(t, client, http.MethodGet, r.base+"/inventory/v1/sessions/"+seedID, refreshed.AccessToken, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the refreshed token: %d %s", resp.StatusCode, body)
	}

	// 6. Log out; every token of the login is refused from then on.
	if resp, body := call(t, client, http.MethodPost, r.base+"/logout", "", `{"refresh_token":"`+tokens.RefreshToken+`"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	for name, token := range map[string]string{"access": tokens.AccessToken, "refreshed": refreshed.AccessToken} {
		if resp, _ := call(t, client, http.MethodGet, r.base+"/inventory/v1/sessions", token, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s token after logout: %d, want 401", name, resp.StatusCode)
		}
	}
	if resp, body := call(t, client, http.MethodPost, r.base+"/refresh", "", `{"refresh_token":"`+tokens.RefreshToken+`"}`); resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "logged out") {
		t.Errorf("refresh token after logout: %d %s, want 400 saying it is logged out", resp.StatusCode, body)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("run = %v", err)
	}
}
