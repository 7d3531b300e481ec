package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

const snapshotToken = "snapshot-test-token"

// serveSessions is the reference server with these sessions and only its
// static token, over HTTPS; it returns the environment to reach it.
func serveSessions(t *testing.T, sessions []model.SessionInfo) map[string]string {
	t.Helper()
	srv, err := server.New(server.Config{Token: snapshotToken, Sessions: sessions})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(spectest.Load(t).Handler(t, srv))
	t.Cleanup(ts.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{envServer: ts.URL, envToken: snapshotToken, envCACert: caFile}
}

// sessionsJSON is what the server answers for sessions: its JSON.
func sessionsJSON(t *testing.T, sessions []model.SessionInfo) []map[string]any {
	t.Helper()
	data, err := json.Marshal(sessions)
	if err != nil {
		t.Fatal(err)
	}
	return decodeSessions(t, data)
}

func decodeSessions(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var out []map[string]any
	if err := decoder.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// loadSnapshot reads a snapshot as the reference server does, which must
// accept it, and as JSON.
func loadSnapshot(t *testing.T, file string) ([]model.SessionInfo, []map[string]any, string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := server.LoadData(file, data)
	if err != nil {
		t.Fatalf("the reference server refuses the snapshot: %v", err)
	}
	var doc struct {
		Sessions json.RawMessage `json:"sessions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return loaded.Sessions, decodeSessions(t, doc.Sessions), string(data)
}

// shape is a session's form without its values: each path and the kind of
// value there, arrays with their length.
func shape(v any, at string, out map[string]string) map[string]string {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			shape(e, at+"/"+k, out)
		}
	case []any:
		out[at] = fmt.Sprintf("array of %d", len(v))
		for _, e := range v {
			shape(e, at+"/*", out)
		}
	default:
		out[at] = fmt.Sprintf("%T", v)
	}
	return out
}

func shapes(sessions []map[string]any) []map[string]string {
	out := make([]map[string]string, len(sessions))
	for i, s := range sessions {
		out[i] = shape(s, "", map[string]string{})
	}
	return out
}

// identifying are the values of the identifying fields of sessions.
func identifying(sessions []map[string]any, withPools bool) []string {
	var out []string
	for _, s := range sessions {
		for path, class := range pseudonymClasses {
			if poolClasses[class] && !withPools {
				continue
			}
			if v, ok := dotted(s, path).(string); ok && v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

func dotted(s map[string]any, path string) any {
	object, member, ok := strings.Cut(path, ".")
	if !ok {
		return s[path]
	}
	inner, _ := s[object].(map[string]any)
	return inner[member]
}

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	demo, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	original := sessionsJSON(t, demo)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.json"), filepath.Join(dir, "second.json")

	r := runCmd(t, serveSessions(t, demo), nil, "snapshot", "--out", first, "--salt", "lab-salt")
	if r.code != 0 || !strings.Contains(r.stdout, "Wrote 6 sessions to "+first) || r.stderr != "" {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	loaded, firstJSON, firstText := loadSnapshot(t, first)
	r = runCmd(t, serveSessions(t, loaded), nil, "snapshot", "--out", second, "--salt", "lab-salt")
	if r.code != 0 {
		t.Fatalf("second snapshot: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	_, secondJSON, _ := loadSnapshot(t, second)

	if diff := cmp.Diff(shapes(original), shapes(firstJSON)); diff != "" {
		t.Errorf("shapes, demo -> snapshot (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(shapes(original), shapes(secondJSON)); diff != "" {
		t.Errorf("shapes, demo -> snapshot -> reference server -> snapshot (-want +got):\n%s", diff)
	}
	values := identifying(original, true)
	if len(values) < 50 {
		t.Fatalf("%d identifying values in the demo data; the check below would mean little", len(values))
	}
	for _, v := range values {
		if strings.Contains(firstText, v) {
			t.Errorf("the snapshot still holds %q", v)
		}
	}
	for _, name := range []string{"jsmith", "FIN-LT-0042", "example.com", "pool-finance", "farm-office-apps", "S-1-5-21-1085031214"} {
		if strings.Contains(firstText, name) {
			t.Errorf("the snapshot still holds %q", name)
		}
	}
	// What stays: relations and what says nothing of anyone.
	for i, s := range firstJSON {
		if (s["user_id"] == s["broker_user_id"]) != (original[i]["user_id"] == original[i]["broker_user_id"]) ||
			s["session_state"] != original[i]["session_state"] || s["start_time"] != original[i]["start_time"] {
			t.Errorf("session %d: %v, from %v", i, s, original[i])
		}
	}
	if firstJSON[1]["user_id"] != firstJSON[5]["user_id"] || firstJSON[0]["user_id"] == firstJSON[1]["user_id"] {
		t.Errorf("the user of sessions 1 and 5 has two pseudonyms, or two users share one")
	}
	if firstJSON[5]["machine_id"] != firstJSON[5]["rds_server_id"] {
		t.Errorf("one host, two pseudonyms: %v, %v", firstJSON[5]["machine_id"], firstJSON[5]["rds_server_id"])
	}
}

func TestSnapshotSaltAndFlags(t *testing.T) {
	t.Parallel()
	demo, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	env := serveSessions(t, demo)
	dir := t.TempDir()
	snap := func(name string, args ...string) (cmdRun, []map[string]any, string) {
		t.Helper()
		file := filepath.Join(dir, name)
		r := runCmd(t, env, nil, append([]string{"snapshot", "--out", file}, args...)...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", name, r.code, r.stdout, r.stderr)
		}
		_, sessions, text := loadSnapshot(t, file)
		return r, sessions, text
	}
	_, a, aText := snap("a.json", "--salt", "one")
	_, _, bText := snap("b.json", "--salt", "one")
	if aText != bText {
		t.Error("the same salt gave other pseudonyms")
	}
	saltEnv := maps.Clone(env)
	saltEnv[envSalt] = "one"
	if r := runCmd(t, saltEnv, nil, "snapshot", "--out", filepath.Join(dir, "env.json")); r.code != 0 {
		t.Fatalf("salt from %s: %s", envSalt, r.stderr)
	}
	if envText, _ := os.ReadFile(filepath.Join(dir, "env.json")); string(envText) != aText {
		t.Errorf("%s gave other pseudonyms than --salt", envSalt)
	}
	r, c, _ := snap("c.json")
	if c[0]["id"] == a[0]["id"] || !strings.Contains(r.stderr, "no --salt") {
		t.Errorf("no salt: id %v (with salt %v), stderr %q", c[0]["id"], a[0]["id"], r.stderr)
	}
	r, kept, keptText := snap("kept.json", "--salt", "one", "--keep-pool-names", "--shift-time", "-24h")
	if !strings.Contains(keptText, `"pool-finance"`) || !strings.Contains(keptText, `"farm-office-apps"`) || !strings.Contains(r.stdout, "times shifted by -24h0m0s") {
		t.Errorf("--keep-pool-names: %s", r.stdout)
	}
	for _, v := range identifying(sessionsJSON(t, demo), false) {
		if strings.Contains(keptText, v) {
			t.Errorf("--keep-pool-names kept %q too", v)
		}
	}
	day := json.Number(fmt.Sprint((24 * time.Hour).Milliseconds()))
	if got, want := kept[2]["disconnected_time"], json.Number("1561938000000"); numberMinus(t, want, day) != got {
		t.Errorf("disconnected_time shifted a day back: %v", got)
	}
}

func numberMinus(t *testing.T, a, b json.Number) json.Number {
	t.Helper()
	x, err := a.Int64()
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return json.Number(fmt.Sprint(x - y))
}

func TestSnapshotLeavesOutWhatTheContractLacks(t *testing.T) {
	t.Parallel()
	rs, ts := newRefServer(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/inventory/v1/sessions") && rec.Code == http.StatusOK {
				// A newer Horizon: a field of its own, and a protocol this
				// contract does not know.
				body = bytes.ReplaceAll(body, []byte(`"session_state":`), []byte(`"pod_name":"pod-a","session_state":`))
				body = bytes.Replace(body, []byte(`"session_protocol":"PCOIP"`), []byte(`"session_protocol":"RDP8"`), 1)
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	})
	rs.start(t, ts)
	file := filepath.Join(t.TempDir(), "lab.json")
	r := runCmd(t, rs.env(), nil, "snapshot", "--ca-file", rs.caFile, "--out", file, "--salt", "s", "--batch-size", "1")
	if r.code != exitTrouble || !strings.Contains(r.stderr, "unknown flag: --batch-size") {
		t.Errorf("a flag of sending: exit %d, %s", r.code, r.stderr)
	}
	r = runCmd(t, rs.env(), nil, "snapshot", "--ca-file", rs.caFile, "--out", file, "--salt", "s")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"Left out fields this contract does not have: pod_name (6 sessions).",
		"Left out values this contract does not allow (a type or an enum value it does not have): session_protocol (1 session).",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout does not say %q:\n%s", want, r.stdout)
		}
	}
	_, sessions, text := loadSnapshot(t, file)
	if strings.Contains(text, "pod_name") || strings.Contains(text, "RDP8") || sessions[1]["session_protocol"] != nil {
		t.Errorf("the snapshot kept what the contract lacks:\n%s", text)
	}
	if len(rs.delivered()) != 0 {
		t.Error("a snapshot sent messages")
	}
}

func TestSnapshotUsage(t *testing.T) {
	t.Parallel()
	env := map[string]string{envServer: "https://h", envToken: "t"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshot"}, "--out FILE is required"},
		{[]string{"snapshot", "--out", "x.json", "extra"}, `snapshot takes no arguments, only flags: "extra"`},
		{[]string{"snapshot", "--out", "x.json", "--retries", "-1"}, "--retries must not be negative"},
	} {
		r := runCmd(t, env, nil, tt.args...)
		if r.code != exitTrouble || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "Run 'sendmsg snapshot --help'") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
	r := runCmd(t, nil, nil, "--help")
	if !strings.Contains(r.stdout, "snapshot    Write the sessions, scrubbed") {
		t.Errorf("sendmsg --help does not list snapshot:\n%s", r.stdout)
	}
}

func TestPseudonymForms(t *testing.T) {
	t.Parallel()
	s := newScrubber([]byte("k"), false, 0)
	forms := []struct {
		class, value string
		form         *regexp.Regexp
	}{
		{"session", "7cdd624f-37d1-46c1-ab96-695a5d13956f", regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)},
		{"session", "not-a-uuid", regexp.MustCompile(`^session-[0-9a-f]{16}$`)},
		{"sid", "S-1-5-21-1-2-3-1104", regexp.MustCompile(`^S-1-5-21-[0-9]+-[0-9]+-[0-9]+-[0-9]{4,}$`)},
		{"address", "203.0.113.77", regexp.MustCompile(`^10\.[0-9]+\.[0-9]+\.[0-9]+$`)},
		{"address", "2001:db8::1", regexp.MustCompile(`^fd[0-9a-f]{2}:`)},
		{"dns", "uag.example.com", regexp.MustCompile(`^host-[0-9a-f]{12}\.example\.invalid$`)},
		{"location", "6bda20e66cda315084edc8b5c67f9cf1e3b0f4559ba990b1004a", regexp.MustCompile(`^[0-9a-f]{52}$`)},
		{"machine", "machine-fin-001", regexp.MustCompile(`^machine-[0-9a-f]{12}$`)},
	}
	for _, f := range forms {
		got := s.pseudonym(f.class, f.value)
		if !f.form.MatchString(got) || strings.Contains(got, f.value) {
			t.Errorf("%s %q: %q, want the form %s", f.class, f.value, got, f.form)
		}
		if again := s.pseudonym(f.class, f.value); again != got {
			t.Errorf("%s %q: %q, then %q", f.class, f.value, got, again)
		}
	}
	if s.pseudonym("machine", "a") == s.pseudonym("client", "a") {
		t.Error("two classes share a pseudonym")
	}
	// A field a later contract adds is replaced, whatever it is.
	if got := s.text("some_new_field", "Alice", false); got == "Alice" || !strings.HasPrefix(got, "value-") {
		t.Errorf("an unclassified field: %q", got)
	}
	if got := slices.Sorted(maps.Keys(jsonFields(sessionType))); len(got) != 22 {
		t.Errorf("SessionInfo has %d fields, want Horizon's 22: %v", len(got), got)
	}
}
