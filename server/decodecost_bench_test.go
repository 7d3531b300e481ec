package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hzkit/sendmessage/server"
)

// BenchmarkGenericDecodeCost measures what a body costs the generic
// validator, which decodes it into map[string]any and []any, in bytes
// allocated per byte of body, for the costliest shapes a member the schema
// leaves open may carry. The reference server charges such bodies
// genericDecodeCost (32) times their size: the figures here say whether
// that holds. The bodies have a type the spec refuses, so that the fast
// path leaves them to the validator.
func BenchmarkGenericDecodeCost(b *testing.B) {
	srv, err := server.New(server.Config{Token: "bench", Limits: server.Limits{MaxBodyBytes: 2 << 20}})
	if err != nil {
		b.Fatal(err)
	}
	const size = 256 << 10
	for _, shape := range []struct{ name, item string }{
		{"numbers", "1"},
		{"empty objects", "{}"},
		{"objects of one member", `{"":0}`},
		{"empty arrays", "[]"},
		{"short strings", `""`},
	} {
		items := strings.TrimSuffix(strings.Repeat(shape.item+",", size/(len(shape.item)+1)), ",")
		body := []byte(`{"message":"m","message_type":"info","session_ids":["a"],"x":[` + items + `]}`)
		b.Run(shape.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "/rest/inventory/v1/sessions/action/send-message", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer bench")
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "message_type") {
					b.Fatalf("status %d %s: want the 400 that names message_type, after decoding", rec.Code, rec.Body)
				}
			}
		})
	}
}
