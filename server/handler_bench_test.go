package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
	"github.com/hzkit/sendmessage/server/refservertest"
)

// BenchmarkSendMessage measures the whole handler path (middleware, spec
// validation, auth, inventory lookup, recording, encoding) without a network.
// The answer is counted, not kept, as a connection would: B/op is what the
// server allocates. faults=16 adds fault rules that none of the requests
// matches, half of them on send-message naming other sessions: what rules
// that do not match cost.
func BenchmarkSendMessage(b *testing.B) {
	for _, bench := range []struct{ ids, faults int }{{1, 0}, {1, 16}, {1000, 0}, {1000, 16}, {100000, 0}, {100000, 16}} {
		n := bench.ids
		b.Run(fmt.Sprintf("ids=%d/faults=%d", n, bench.faults), func(b *testing.B) {
			sessions := make([]model.SessionInfo, n)
			ids := make([]string, n)
			for i := range sessions {
				ids[i] = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
				sessions[i] = model.SessionInfo{ID: ids[i], SessionState: model.SessionInfoSessionStateCONNECTED}
			}
			store := server.NewMemoryStore(sessions)
			srv, err := server.New(server.Config{
				Token:  "bench",
				Store:  store,
				Limits: server.Limits{MaxSessionIDs: n, MaxBodyBytes: int64(64*n + 1024)},
				Faults: nonMatchingFaults(bench.faults),
			})
			if err != nil {
				b.Fatal(err)
			}
			body, err := json.Marshal(model.SessionSendMessageSpec{
				Message: "This desktop restarts in 15 minutes.", MessageType: model.SessionSendMessageSpecMessageTypeWARNING, SessionIDs: ids,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "/rest/inventory/v1/sessions/action/send-message", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer bench")
				req.Header.Set("Content-Type", "application/json")
				w := &discardWriter{header: http.Header{}}
				srv.ServeHTTP(w, req)
				if w.status != http.StatusOK || w.written == 0 {
					b.Fatalf("status %d, %d bytes", w.status, w.written)
				}
				store.ClearMessages()
			}
		})
	}
}

// discardWriter is an http.ResponseWriter that keeps the status and counts the
// body.
type discardWriter struct {
	header  http.Header
	status  int
	written int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.written += len(p)
	return len(p), nil
}

// nonMatchingFaults are n fault rules that no benchmark request matches: the
// send-message ones name sessions outside the inventory.
func nonMatchingFaults(n int) []model.FaultRule {
	status, delay := int32(503), int32(1000)
	rules := make([]model.FaultRule, n)
	for i := range rules {
		ids := []string{fmt.Sprintf("ffffffff-ffff-4fff-8fff-%012x", i)}
		user := fmt.Sprintf("nobody-%d", i)
		rules[i] = []model.FaultRule{
			refservertest.Rule(model.RespondFaultRule{Operation: model.FaultOperationSendMessageToSessions, SessionIDs: &ids, Status: status}),
			refservertest.Rule(model.RespondFaultRule{Operation: model.FaultOperationLogin, Username: &user, Status: status}),
			refservertest.Rule(model.FailSessionsFaultRule{Operation: model.FailSessionsFaultRuleOperationSendMessageToSessions, SessionIDs: &ids}),
			refservertest.Rule(model.DelayFaultRule{Operation: model.FaultOperationListSessions, DelayMs: delay}),
		}[i%4]
	}
	return rules
}
