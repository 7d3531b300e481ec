package bulkjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/gen/model"
)

// BenchmarkEncodeItems compares the answer's encoder with the generated
// code's encoding/json for delivered items.
func BenchmarkEncodeItems(b *testing.B) {
	for _, n := range []int{1, 1000, 100000} {
		items := make([]model.BulkItemResponseInfo, n)
		for i := range items {
			items[i] = model.BulkItemResponseInfo{ID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), StatusCode: http.StatusOK, Timestamp: 1561939200000}
		}
		b.Run(fmt.Sprintf("ids=%d/encoding-json", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var buf bytes.Buffer
				if err := json.NewEncoder(&buf).Encode(apiserver.SendMessageToSessions200JSONResponse(items)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ids=%d/appendItems", n), func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, flushEvery+flushEvery/4)
			for b.Loop() {
				var err error
				if buf, err = appendItems(buf[:0], items, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
