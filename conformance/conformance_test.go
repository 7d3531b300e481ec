package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/api"
	"github.com/hzkit/sendmessage/conformance"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
	"github.com/hzkit/sendmessage/server/refservertest"
)

const password = "conform-Passw0rd-4d1e"

// refServer starts the reference server with the demo data on loopback;
// change, when not nil, stands between it and the network and may change
// its answers.
func refServer(t *testing.T, faults []model.FaultRule, change func(http.Handler) http.Handler) (string, *server.MemoryStore) {
	t.Helper()
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	store := server.NewMemoryStore(sessions)
	srv, err := server.New(server.Config{
		Users:  []model.ReferenceUser{server.DemoAdministrator(password)},
		Store:  store,
		Faults: faults,
	})
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = srv
	if change != nil {
		handler = change(srv)
	}
	ts := httptest.NewServer(handler)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(ts.Close)
	return ts.URL + "/rest", store
}

func login() *conformance.Credentials {
	return &conformance.Credentials{Username: server.DemoAdminUsername, Domain: server.DemoAdminDomain, Password: password}
}

func run(t *testing.T, cfg conformance.Config) *conformance.Report {
	t.Helper()
	rep, err := conformance.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// failed returns the failed checks, by name, with their evidence.
func failed(rep *conformance.Report) map[string]conformance.Result {
	out := map[string]conformance.Result{}
	for _, res := range rep.Results {
		if res.Outcome == conformance.Fail {
			out[res.Check] = res
		}
	}
	return out
}

func table(t *testing.T, rep *conformance.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTheReferenceServerPassesEveryCheck(t *testing.T) {
	t.Parallel()
	base, store := refServer(t, nil, nil)
	rep := run(t, conformance.Config{BaseURL: base, Login: login()})
	if rep.Failed != 0 || rep.Passed < 30 {
		t.Fatalf("%d passed, %d failed; want every check but the real send to pass:\n%s", rep.Passed, rep.Failed, table(t, rep))
	}
	if rep.Skipped != 1 || rep.Results[len(rep.Results)-1].Check == "send a real message" {
		t.Errorf("skipped %d, want only the real send:\n%s", rep.Skipped, table(t, rep))
	}
	for _, res := range rep.Results {
		if len(res.Extra) > 0 {
			t.Errorf("%s: extra fields %v from the reference server", res.Check, res.Extra)
		}
		if res.Outcome == conformance.Pass && len(res.Requests) == 0 {
			t.Errorf("%s passed without a request", res.Check)
		}
	}
	if got := store.Messages(""); len(got) != 0 {
		t.Errorf("conform delivered %d messages, want none", len(got))
	}
}

func TestAFaultRuleFailsTheOperationItHits(t *testing.T) {
	t.Parallel()
	status := int32(503)
	base, _ := refServer(t, []model.FaultRule{refservertest.Rule(model.RespondFaultRule{Operation: model.FaultOperationListSessions, Status: status})}, nil)
	rep := run(t, conformance.Config{BaseURL: base, Login: login()})
	fails := failed(rep)
	res, ok := fails["list every session"]
	if !ok || res.Operation != "listSessions" || !strings.Contains(strings.Join(res.Differences, "\n"), "listSessions answered 503, want 200") {
		t.Fatalf("list every session: %+v; want a failure of listSessions that says 503, want 200:\n%s", res, table(t, rep))
	}
	for name, res := range fails {
		for _, d := range res.Differences {
			if !strings.HasPrefix(d, "listSessions ") {
				t.Errorf("%s (%s) failed under a rule on listSessions: %v", name, res.Operation, d)
			}
		}
	}
	if _, ok := fails["send to ids that cannot exist"]; ok || rep.Passed < 10 {
		t.Errorf("the other operations did not pass:\n%s", table(t, rep))
	}
}

func TestAChangedAnswerFailsNamingTheDifference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		change    func(path string, header http.Header, body []byte) []byte
		check, op string
		evidence  string
	}{
		{"send-message items without a timestamp", func(path string, _ http.Header, body []byte) []byte {
			if !strings.HasSuffix(path, "/send-message") {
				return body
			}
			return bytes.ReplaceAll(body, []byte(`"timestamp":`), []byte(`"time":`))
		}, "send to ids that cannot exist", "sendMessageToSessions", `/*/timestamp: property "timestamp" is missing (2 items)`},
		{"no HAS_MORE_RECORDS", func(_ string, header http.Header, body []byte) []byte {
			delete(header, "HAS_MORE_RECORDS") // written in Horizon's capitals
			return body
		}, "first page", "listSessions", "no HAS_MORE_RECORDS: TRUE on page 1"},
		{"an unknown session is there", func(path string, _ http.Header, body []byte) []byte {
			if strings.Contains(path, "/sessions/") && !strings.Contains(path, "/action/") && bytes.Contains(body, []byte("does not exist")) {
				return []byte(`{"id":"made-up","session_state":"CONNECTED"}`)
			}
			return body
		}, "get an unknown session", "getSession", "getSession answered 200, want 404"},
		{"a filter ignored", func(_ string, _ http.Header, body []byte) []byte {
			return body // the request is changed instead, below
		}, "filter Contains", "listSessions", "listSessions: answered 5 sessions the filter does not select"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base, _ := refServer(t, nil, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if tt.check == "filter Contains" && strings.Contains(r.URL.RawQuery, "Contains") {
						r.URL.RawQuery = "" // a server that ignores the filter
					}
					rec := httptest.NewRecorder()
					next.ServeHTTP(rec, r)
					body := tt.change(r.URL.Path, rec.Header(), rec.Body.Bytes())
					for k, v := range rec.Header() {
						w.Header()[k] = v
					}
					w.Header().Del("Content-Length")
					status := rec.Code
					if bytes.HasPrefix(body, []byte(`{"id":"made-up"`)) {
						status = http.StatusOK
					}
					w.WriteHeader(status)
					_, _ = w.Write(body)
				})
			})
			rep := run(t, conformance.Config{BaseURL: base, Login: login()})
			res, ok := failed(rep)[tt.check]
			if !ok || res.Operation != tt.op || !strings.Contains(strings.Join(res.Differences, "\n"), tt.evidence) {
				t.Fatalf("%s: %+v; want a failure of %s with %q:\n%s", tt.check, res, tt.op, tt.evidence, table(t, rep))
			}
			if !strings.Contains(table(t, rep), tt.evidence) {
				t.Errorf("the table does not show %q:\n%s", tt.evidence, table(t, rep))
			}
		})
	}
}

func TestFieldsBeyondTheContractAreExtraNotFailures(t *testing.T) {
	t.Parallel()
	base, _ := refServer(t, nil, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/inventory/v1/sessions") && rec.Code == http.StatusOK {
				body = bytes.ReplaceAll(body, []byte(`"session_state":`), []byte(`"horizon_2406_field":1,"session_state":`))
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	})
	rep := run(t, conformance.Config{BaseURL: base, Login: login()})
	if rep.Failed != 0 {
		t.Fatalf("failures:\n%s", table(t, rep))
	}
	var list, get conformance.Result
	for _, res := range rep.Results {
		switch res.Check {
		case "list every session":
			list = res
		case "get a known session":
			get = res
		}
	}
	if strings.Join(list.Extra, ",") != "/*/horizon_2406_field" || strings.Join(get.Extra, ",") != "/horizon_2406_field" {
		t.Errorf("extra fields: list %v, get %v", list.Extra, get.Extra)
	}
	if !strings.Contains(table(t, rep), "fields the contract does not have: /*/horizon_2406_field") {
		t.Errorf("the table does not name the extra field:\n%s", table(t, rep))
	}
}

func TestAnotherSpecIsHeldToo(t *testing.T) {
	t.Parallel()
	base, _ := refServer(t, nil, nil)
	// Another spec that wants a field no session has, in Swagger 2.0 and
	// in OpenAPI 3 form.
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	info := doc.Components.Schemas["SessionInfo"].Value
	info.Required = append(info.Required, "pod_id")
	info.Properties["pod_id"] = openapi3.NewStringSchema().NewRef()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "horizon.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	other, err := conformance.LoadSpec(file)
	if err != nil {
		t.Fatal(err)
	}
	rep := run(t, conformance.Config{BaseURL: base, Login: login(), OtherSpecs: []conformance.Spec{other}})
	res, ok := failed(rep)["get a known session"]
	if !ok || !strings.Contains(strings.Join(res.Differences, "\n"), `horizon.json: getSession 200: response body doesn't match schema #/components/schemas/SessionInfo: /pod_id: property "pod_id" is missing`) {
		t.Fatalf("get a known session: %+v\n%s", res, table(t, rep))
	}
	if _, ok := failed(rep)["log in"]; ok {
		t.Errorf("login failed against a spec that changed only sessions")
	}
}

func TestATokenInsteadOfALogin(t *testing.T) {
	t.Parallel()
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Token: "static-token-for-the-test", Sessions: sessions})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	rep := run(t, conformance.Config{BaseURL: ts.URL + "/rest", Token: "static-token-for-the-test"})
	if rep.Failed != 0 || rep.Skipped != 9 || rep.Passed < 20 {
		t.Fatalf("%d passed, %d failed, %d skipped:\n%s", rep.Passed, rep.Failed, rep.Skipped, table(t, rep))
	}
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "static-token-for-the-test") {
		t.Error("the JSON report shows the token")
	}

	_, err = conformance.Run(t.Context(), conformance.Config{BaseURL: ts.URL + "/rest", Token: "wrong"})
	if !errors.Is(err, conformance.ErrCannotRun) || !strings.Contains(err.Error(), "refused the token") {
		t.Errorf("a wrong token: %v", err)
	}
}

func TestCannotRun(t *testing.T) {
	t.Parallel()
	base, _ := refServer(t, nil, nil)
	status := int32(500)
	failing, _ := refServer(t, []model.FaultRule{refservertest.Rule(model.RespondFaultRule{Operation: model.FaultOperationLogin, Status: status})}, nil)
	wrong := login()
	wrong.Password = "not-the-password"
	tests := []struct {
		name string
		cfg  conformance.Config
		want string
	}{
		{"login fails", conformance.Config{BaseURL: failing, Login: login()}, "the login answered 500 without an access token, so nothing else can be checked: login answered 500, want 200"},
		{"wrong password", conformance.Config{BaseURL: base, Login: wrong}, `refused the login of EXAMPLE\administrator (401)`},
		{"nothing listens", conformance.Config{BaseURL: "http://127.0.0.1:1/rest", Login: login()}, "log in at http://127.0.0.1:1/rest: Post"},
	}
	for _, tt := range tests {
		rep, err := conformance.Run(t.Context(), tt.cfg)
		if !errors.Is(err, conformance.ErrCannotRun) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want ErrCannotRun with %q", tt.name, err, tt.want)
			continue
		}
		if rep == nil || len(rep.Results) != 1 || rep.Results[0].Outcome != conformance.Fail {
			t.Errorf("%s: report %+v, want the failed login", tt.name, rep)
		}
		if strings.Contains(table(t, rep), "not-the-password") {
			t.Errorf("%s: the table shows the password", tt.name)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := conformance.Run(ctx, conformance.Config{BaseURL: base, Login: login()}); !errors.Is(err, context.Canceled) && !errors.Is(err, conformance.ErrCannotRun) {
		t.Errorf("a cancelled run: %v", err)
	}
}

func TestAnInterruptedRunLogsOut(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var logouts atomic.Int32
	base, _ := refServer(t, nil, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/logout"):
				logouts.Add(1)
			case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/sessions/"):
				cancel() // Ctrl-C while conform reads a session
				<-r.Context().Done()
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	rep, err := conformance.Run(ctx, conformance.Config{BaseURL: base, Login: login()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// One logout for the login with the password as an array, one for the run's.
	if n := logouts.Load(); n != 2 {
		t.Errorf("%d logouts, want 2: the run's login outlives it", n)
	}
	for _, res := range rep.Results {
		if res.Check == "log out" || res.Check == "" {
			t.Errorf("the logout after an interruption is reported as a check: %+v", res)
		}
	}
}

func TestJUnit(t *testing.T) {
	t.Parallel()
	status := int32(500)
	base, _ := refServer(t, []model.FaultRule{refservertest.Rule(model.RespondFaultRule{Operation: model.FaultOperationGetSession, Status: status})}, nil)
	rep := run(t, conformance.Config{BaseURL: base, Login: login()})
	var b bytes.Buffer
	if err := rep.WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suite    struct {
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if doc.Tests != len(rep.Results) || doc.Failures != 2 {
		t.Fatalf("tests %d failures %d; want %d and 2:\n%s", doc.Tests, doc.Failures, len(rep.Results), b.String())
	}
	for _, tc := range doc.Suite.Cases {
		if tc.Failure != nil && (tc.Classname != "getSession" || !strings.Contains(tc.Failure.Message, "getSession answered 500, want ")) {
			t.Errorf("failure %+v", tc)
		}
	}
}
