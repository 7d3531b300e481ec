package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hzkit/sendmessage/server/internal/fastpath"
)

// TestServerTakesTheFastPath checks that the server routes a plain valid
// request through the fast path, which leaves a *decodedBody behind, and
// anything else past it.
func TestServerTakesTheFastPath(t *testing.T) {
	t.Parallel()
	srv, err := New(Config{Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		body string
		fast bool
	}{
		{`{"message":"m","message_type":"INFO","session_ids":["7cdd624f-37d1-46c1-ab96-695a5d13956f"]}`, true},
		{`{"message":"m","message_type":"INFO","session_ids":["7cdd624f-37d1-46c1-ab96-695a5d13956f"],"x":1}`, false},
	} {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, BasePath+"/inventory/v1/sessions/action/send-message", strings.NewReader(tt.body))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if fast := fastpath.Decoded(req.Body); fast != tt.fast {
			t.Errorf("fast path taken = %v, want %v, for %s", fast, tt.fast, tt.body)
		}
	}
}
