package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The accounts of the data file: none is the operator. The static token
// (operatorToken) is the operator's credential.
const (
	operatorToken = "hostile-operator-token"
	domain        = "EXAMPLE"
	adminUser     = "administrator"
	adminPassword = "hostile-Admin-Passw0rd"
	probeUser     = "helpdesk"
	probePassword = "hostile-Helpdesk-Passw0rd"
	manySessions  = 20000
	sendPath      = "/rest/inventory/v1/sessions/action/send-message"
	listPath      = "/rest/inventory/v1/sessions"
	loginPath     = "/rest/login"
	healthPath    = "/rest/refserver/v1/health"
	faultsPath    = "/rest/refserver/v1/faults"
	messagesPath  = "/rest/refserver/v1/messages"
)

// harness runs the attacks and keeps the table of what they measured.
type harness struct {
	bin      string
	check    bool
	dir      string
	dataFile string      // 20,000 connected sessions and two ordinary accounts
	flags    serverFlags // the server's flags and their defaults
	current  string      // the attack running
	rows     []row
	failed   int
}

func newHarness(ctx context.Context, bin string, check bool) (*harness, error) {
	dir, err := os.MkdirTemp("", "hostile")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	h := &harness{bin: bin, check: check, dir: dir, dataFile: filepath.Join(dir, "data.json")}
	if h.flags, err = readFlags(ctx, bin); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := writeDataFile(h.dataFile, false); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return h, nil
}

// writeDataFile writes the data file: the sessions and the two accounts;
// with operator, a third account that has the design's operator role.
func writeDataFile(name string, operator bool) error {
	type session struct {
		ID    string `json:"id"`
		State string `json:"session_state"`
	}
	users := []map[string]any{
		{"username": adminUser, "domain": domain, "password": adminPassword},
		{"username": probeUser, "domain": domain, "password": probePassword},
	}
	if operator {
		users = append(users, map[string]any{"username": "operator", "domain": domain, "password": adminPassword, "operator": true})
	}
	data := struct {
		Users    []map[string]any `json:"users"`
		Sessions []session        `json:"sessions"`
	}{Users: users}
	for i := range manySessions {
		data.Sessions = append(data.Sessions, session{ID: sessionID(i), State: "CONNECTED"})
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("data file: %w", err)
	}
	if err := os.WriteFile(name, raw, 0o600); err != nil {
		return fmt.Errorf("data file: %w", err)
	}
	return nil
}

func sessionID(i int) string { return fmt.Sprintf("s-%05d", i) }

// sessionIDs are the first n sessions of the data file.
func sessionIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = sessionID(i)
	}
	return ids
}

type attack struct {
	name string
	run  func(context.Context, *harness) error
}

// attacks are every attack, by family: one file each.
func attacks() []attack {
	return []attack{
		{"design-flags", designFlagsAttack},
		{"headers-http1", headersHTTP1},
		{"headers-http2", headersHTTP2},
		{"body-wrong-token-http1", bodyWrongTokenHTTP1},
		{"body-wrong-token-http2", bodyWrongTokenHTTP2},
		{"valid-bodies-http1", validBodiesHTTP1},
		{"valid-bodies-http2", validBodiesHTTP2},
		{"valid-bodies-sustained", validBodiesSustained},
		{"login-large-bodies", loginLargeBodies},
		{"trickled-logins-http1", trickledLoginsHTTP1},
		{"trickled-logins-http2", trickledLoginsHTTP2},
		{"slow-uploads", slowUploads},
		{"trickled-body", trickledBody},
		{"login-guessing", loginGuessing},
		{"login-spread-guessing", loginSpreadGuessing},
		{"login-flood", loginFlood},
		{"login-long-names", loginLongNames},
		{"login-name-folding", loginNameFolding},
		{"silent-sockets", silentSockets},
		{"churn-default-cap", churnDefaultCap},
		{"idle-connections", idleConnections},
		{"metrics-idle", metricsIdle},
		{"harness-ordinary-user", harnessOrdinaryUser},
		{"fault-rules-many-ids", faultRulesManyIDs},
		{"fault-rules-at-caps", faultRulesAtCaps},
		{"fault-rules-count", faultRulesCount},
		{"fault-long-error", faultLongError},
		{"fault-delay-timeout", faultDelayPastTimeout},
		{"delayed-listings", delayedListings},
		{"record-read", recordRead},
		{"request-id", longRequestIDs},
		{"long-paths", longPaths},
		{"large-filter", largeFilter},
		{"data-file-too-large", dataFileTooLarge},
		{"small-ones", smallOnes},
		{"metrics-scrape", scrapeMetrics},
	}
}

func (h *harness) runAll(ctx context.Context, only string) {
	h.header()
	for _, a := range attacks() {
		if only != "" && !strings.Contains(a.name, only) {
			continue
		}
		if ctx.Err() != nil {
			h.current = a.name
			h.add(row{measure: "not run", value: "the run's time limit passed", verdict: verdictError})
			continue
		}
		h.current = a.name
		start := time.Now()
		if err := a.run(ctx, h); err != nil {
			h.add(row{measure: "attack could not run", value: err.Error(), verdict: verdictError})
			continue
		}
		h.info("time taken", time.Since(start).Round(10*time.Millisecond).String())
	}
}
