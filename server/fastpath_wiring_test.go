package server

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/model"
)

// bindRecord is one bind of a body: the value filled, which the generated
// handler hands on, and what the request's state held then: the fast path's
// value, and the validator's.
type bindRecord struct {
	got, fast, validated any
}

// recordingBinder wraps the server's binder and records every bind.
type recordingBinder struct {
	echo.Binder
	records []bindRecord
}

func (b *recordingBinder) Bind(i any, c echo.Context) error {
	r := stateOf(c)
	err := b.Binder.Bind(i, c)
	b.records = append(b.records, bindRecord{got: i, fast: r.decoded, validated: r.validated})
	return err
}

// TestServerTakesTheFastPath checks that the handler gets the very value the
// fast path decoded for a plain valid request, through the request's state,
// and that any other request binds the value the validator kept: one decode
// of a body, never two.
func TestServerTakesTheFastPath(t *testing.T) {
	t.Parallel()
	const id = "7cdd624f-37d1-46c1-ab96-695a5d13956f"
	for _, tt := range []struct {
		name, contentType, body string
		fast                    bool
	}{
		{"plain", "application/json", `{"message":"m","message_type":"INFO","session_ids":["` + id + `"]}`, true},
		{"with charset", "application/json; charset=utf-8", `{"message":"m","message_type":"INFO","session_ids":["` + id + `"]}`, true},
		{"extra member", "application/json", `{"message":"m","message_type":"INFO","session_ids":["` + id + `"],"x":1}`, true},
		{"duplicate member", "application/json", `{"message":"m","message":"m","message_type":"INFO","session_ids":["` + id + `"]}`, false},
		{"media type in capitals", "Application/JSON", `{"message":"m","message_type":"INFO","session_ids":["` + id + `"]}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := New(Config{Token: "tok"})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := srv.echo.Binder.(*echo.DefaultBinder); ok {
				t.Fatal("echo's Binder is the default one: the generated handler would bind past the request's state")
			}
			recorder := &recordingBinder{Binder: srv.echo.Binder}
			srv.echo.Binder = recorder
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, BasePath+"/inventory/v1/sessions/action/send-message", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer tok")
			req.Header.Set("Content-Type", tt.contentType)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if len(recorder.records) != 1 {
				t.Fatalf("%d binds, want 1", len(recorder.records))
			}
			r := recorder.records[0]
			got, ok := r.got.(*model.SendMessageToSessionsJSONRequestBody)
			if !ok {
				t.Fatalf("bound %T", r.got)
			}
			if !tt.fast {
				if r.fast != nil || r.validated == nil {
					t.Errorf("fast value %v, validated value %v: want the validator's alone", r.fast, r.validated)
				}
				return
			}
			fast, ok := r.fast.(*model.SendMessageToSessionsJSONRequestBody)
			if !ok || r.validated != nil {
				t.Fatalf("fast path decoded %T, validator kept %v: want the fast path's alone", r.fast, r.validated)
			}
			if !reflect.DeepEqual(got, fast) {
				t.Errorf("handler got %+v, fast path decoded %+v", got, fast)
			}
			// The same array, not a second decode of the body.
			if len(got.SessionIDs) != 1 || &got.SessionIDs[0] != &fast.SessionIDs[0] {
				t.Errorf("handler's session ids are not the fast path's")
			}
		})
	}
}
