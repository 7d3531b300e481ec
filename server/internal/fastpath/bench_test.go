package fastpath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/oapi-codegen/runtime"

	"github.com/hzkit/sendmessage/gen/model"
)

// BenchmarkBodyToStruct compares the ways a validated send-message body can
// reach the handler's struct: the generated code's bind of the value the
// validator kept (runtime.BindJSONValue), a second decode with encoding/json,
// and the fast path's decode, which also validates.
func BenchmarkBodyToStruct(b *testing.B) {
	for _, n := range []int{1, 1000, 100000} {
		op := compileSend(b, limits{MaxSessionIDs: n})
		spec := model.SessionSendMessageSpec{Message: "This desktop restarts in 15 minutes.", MessageType: model.SessionSendMessageSpecMessageTypeWARNING}
		for i := range n {
			spec.SessionIDs = append(spec.SessionIDs, fmt.Sprintf("%08d-0000-4000-8000-000000000000", i))
		}
		body, err := json.Marshal(spec)
		if err != nil {
			b.Fatal(err)
		}
		var kept any
		if err := json.Unmarshal(body, &kept); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("ids=%d/BindJSONValue", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var got model.SessionSendMessageSpec
				if err := runtime.BindJSONValue(kept, &got); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ids=%d/json.Unmarshal", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var got model.SessionSendMessageSpec
				if err := json.Unmarshal(body, &got); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ids=%d/fast-path-decode-and-validate", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v := reflect.New(op.body.goType)
				if !op.body.decode(string(body), v.Elem()) {
					b.Fatal("declined")
				}
			}
		})
		b.Run(fmt.Sprintf("ids=%d/validator-decode-and-validate", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := viaValidator(b, op, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAccept measures the fast path on a request, as the middleware
// runs it: the token, reading the body, decoding and checking it.
func BenchmarkAccept(b *testing.B) {
	for _, n := range []int{1, 1000, 100000} {
		op := compileSend(b, limits{MaxSessionIDs: n})
		spec := model.SessionSendMessageSpec{Message: "This desktop restarts in 15 minutes.", MessageType: model.SessionSendMessageSpecMessageTypeWARNING}
		for i := range n {
			spec.SessionIDs = append(spec.SessionIDs, fmt.Sprintf("%08d-0000-4000-8000-000000000000", i))
		}
		body, err := json.Marshal(spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("ids=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequestWithContext(b.Context(), http.MethodPost, basePath+op.route.Path, bytes.NewReader(body))
				req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
				if _, ok := op.Accept(req); !ok {
					b.Fatal("declined")
				}
			}
		})
	}
}
