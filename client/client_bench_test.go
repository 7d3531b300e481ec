package client_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hzkit/sendmessage/client"
	"github.com/hzkit/sendmessage/gen/model"
)

// BenchmarkSendMessage measures the client's whole path (encode the request,
// HTTP over loopback, read and parse the answer, build Results) against an
// httptest server that answers a canned array of n items, one in four failed.
func BenchmarkSendMessage(b *testing.B) {
	for _, n := range []int{1, 1000, 100000} {
		b.Run(fmt.Sprintf("ids=%d", n), func(b *testing.B) {
			ids := make([]string, n)
			items := make([]model.BulkItemResponseInfo, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
				items[i] = model.BulkItemResponseInfo{ID: ids[i], StatusCode: http.StatusOK, Timestamp: 1561939200000}
				if i%4 == 3 {
					reason := fmt.Sprintf("Session %q does not exist.", ids[i])
					items[i].StatusCode = http.StatusNotFound
					items[i].ErrorMessages = &[]string{reason}
					items[i].Errors = &[]model.APIError{{ErrorKey: "session.not.found", ErrorMessage: reason}}
				}
			}
			answer, err := json.Marshal(items)
			if err != nil {
				b.Fatal(err)
			}
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Read the request as a server would before answering.
				var spec model.SessionSendMessageSpec
				if err := json.NewDecoder(r.Body).Decode(&spec); err != nil || len(spec.SessionIDs) != n {
					http.Error(w, "bad request", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(answer)
			}))
			b.Cleanup(ts.Close)
			c, err := client.New(ts.URL, client.WithToken("bench"), client.WithHTTPClient(ts.Client()))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(answer)))
			b.ReportAllocs()
			for b.Loop() {
				results, err := c.SendMessage(b.Context(), client.MessageWarning, "This desktop restarts in 15 minutes.", ids)
				if err != nil {
					b.Fatal(err)
				}
				if len(results) != n {
					b.Fatalf("%d results, want %d", len(results), n)
				}
			}
		})
	}
}
