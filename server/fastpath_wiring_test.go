package server

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/fastpath"
)

// bindRecord is one call of the JSON serializer's Deserialize: the value it
// filled, which the generated handler hands on, and the fast path's value
// for the request, if it accepted it.
type bindRecord struct {
	got, fast any
}

// recordingSerializer wraps the server's JSON serializer and records what
// every Deserialize gave.
type recordingSerializer struct {
	echo.JSONSerializer
	records []bindRecord
}

func (r *recordingSerializer) Deserialize(c echo.Context, i any) error {
	fast, _ := fastpath.Decoded(c.Request().Body)
	err := r.JSONSerializer.Deserialize(c, i)
	r.records = append(r.records, bindRecord{got: i, fast: fast})
	return err
}

// TestServerTakesTheFastPath checks that the handler gets the very value the
// fast path decoded for a plain valid request, through echo's own binder and
// the server's JSON serializer, and that any other request binds as it did
// before the fast path: the validator's kept value, no serializer involved.
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
		// BindBody would not decode this spelling: the validator's value.
		{"media type in capitals", "Application/JSON", `{"message":"m","message_type":"INFO","session_ids":["` + id + `"]}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := New(Config{Token: "tok"})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := srv.echo.Binder.(*echo.DefaultBinder); !ok {
				t.Fatalf("echo's Binder is %T: the generated handler would not bind as generated", srv.echo.Binder)
			}
			recorder := &recordingSerializer{JSONSerializer: srv.echo.JSONSerializer}
			srv.echo.JSONSerializer = recorder
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, BasePath+"/inventory/v1/sessions/action/send-message", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer tok")
			req.Header.Set("Content-Type", tt.contentType)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if !tt.fast {
				if len(recorder.records) != 0 {
					t.Errorf("the serializer decoded a body the validator kept a value of: %+v", recorder.records)
				}
				return
			}
			if len(recorder.records) != 1 {
				t.Fatalf("%d binds through the serializer, want 1", len(recorder.records))
			}
			r := recorder.records[0]
			got, ok := r.got.(*model.SendMessageToSessionsJSONRequestBody)
			fast, fastOK := r.fast.(*model.SendMessageToSessionsJSONRequestBody)
			if !ok || !fastOK {
				t.Fatalf("bound %T, fast path decoded %T", r.got, r.fast)
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
