package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/textlog"
)

// BenchmarkLayers prices the reference server's layers at one id, in one
// process and one run: a bare echo handler as tools/benchbaseline has it,
// then the same inside the server's middleware (state, token, headers, gate,
// access log), then the whole server (spec validation, inventory, record;
// the access log formatted and discarded in both). The differences between
// rows are what each layer costs; the request building is common to all.
func BenchmarkLayers(b *testing.B) {
	body := []byte(`{"message":"This desktop restarts in 15 minutes. Please save your work.","message_type":"WARNING","session_ids":["7cdd624f-37d1-46c1-ab96-695a5d13956f"]}`)
	sessions, _ := DemoSessions()
	connected := map[string]bool{}
	for _, s := range sessions {
		connected[s.ID] = true
	}
	bare := func(c echo.Context) error {
		var spec model.SessionSendMessageSpec
		if err := c.Bind(&spec); err != nil {
			return err
		}
		ts := time.Now().UnixMilli()
		items := make([]model.BulkItemResponseInfo, len(spec.SessionIDs))
		for i, id := range spec.SessionIDs {
			items[i] = model.BulkItemResponseInfo{ID: id, StatusCode: http.StatusOK, Timestamp: ts}
			if !connected[id] {
				items[i].StatusCode = http.StatusNotFound
			}
		}
		return c.JSON(http.StatusOK, items)
	}
	run := func(b *testing.B, h http.Handler) {
		b.Helper()
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "/rest/inventory/v1/sessions/action/send-message", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer bench")
			req.Header.Set("Content-Type", "application/json")
			w := &nopWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Fatal(w.code)
			}
		}
	}
	// Formatted as the refserver does, then dropped.
	logger := slog.New(textlog.New(droppedLines{}, nil))
	b.Run("0-bare", func(b *testing.B) {
		e := echo.New()
		e.POST("/rest/inventory/v1/sessions/action/send-message", bare)
		run(b, e)
	})
	b.Run("1-middleware+bare", func(b *testing.B) {
		srv, err := New(Config{Token: "bench", Logger: logger})
		if err != nil {
			b.Fatal(err)
		}
		e := echo.New()
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				srv.serve(c, next)
				return nil
			}
		})
		e.POST("/rest/inventory/v1/sessions/action/send-message", bare)
		run(b, e)
	})
	b.Run("2-refserver-discard-log", func(b *testing.B) {
		srv, err := New(Config{Token: "bench", Logger: logger})
		if err != nil {
			b.Fatal(err)
		}
		run(b, srv)
	})
}

// nopWriter is an http.ResponseWriter that keeps only the status.
type nopWriter struct {
	h    http.Header
	code int
}

func (w *nopWriter) Header() http.Header { return w.h }
func (w *nopWriter) WriteHeader(c int) {
	if w.code == 0 {
		w.code = c
	}
}
func (w *nopWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

// droppedLines is a log destination that drops what it is given.
type droppedLines struct{}

func (droppedLines) Write(p []byte) (int, error) { return len(p), nil }
