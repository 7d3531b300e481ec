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
)

// BenchmarkSendMessage measures the whole handler path (middleware, spec
// validation, auth, inventory lookup, recording, encoding) without a network.
// The answer is counted, not kept, as a connection would: B/op is what the
// server allocates.
func BenchmarkSendMessage(b *testing.B) {
	for _, n := range []int{1, 1000, 100000} {
		b.Run(fmt.Sprintf("ids=%d", n), func(b *testing.B) {
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
