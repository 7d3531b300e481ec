package server_test

import (
	"net/http"
	"testing"

	"github.com/hzkit/sendmessage/internal/spectest"
)

// checkResponse fails t unless the answer to req (status, header, body) is one
// the spec allows.
func checkResponse(t *testing.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if err := spectest.Load(t).Check(req, status, header, body); err != nil {
		t.Errorf("%s %s: answer %d breaks the spec: %v\nbody: %s", req.Method, req.URL.Path, status, err, body)
	}
}
