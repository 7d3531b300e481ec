package server

import (
	"bytes"
	"context"
	"net/http"
	"strconv"

	"github.com/hzkit/sendmessage/gen/apiserver"
)

// servedSpec is the spec the server enforces, rendered once at start-up.
type servedSpec struct {
	yaml, json []byte
}

// GetSpecYAML answers the spec the server enforces, in YAML.
func (h *handlers) GetSpecYAML(context.Context, apiserver.GetSpecYAMLRequestObject) (apiserver.GetSpecYAMLResponseObject, error) {
	return apiserver.GetSpecYAML200ApplicationYamlResponse{
		Body:          bytes.NewReader(h.spec.yaml),
		ContentLength: int64(len(h.spec.yaml)),
	}, nil
}

// GetSpecJSON answers the spec the server enforces, in JSON.
func (h *handlers) GetSpecJSON(context.Context, apiserver.GetSpecJSONRequestObject) (apiserver.GetSpecJSONResponseObject, error) {
	return specJSONResponse(h.spec.json), nil
}

// specJSONResponse is the 200 answer of getSpecJSON: the document as rendered
// at start-up, not the generated model encoded anew, which would keep only
// the members that the OpenAPIDocument schema names.
type specJSONResponse []byte

var _ apiserver.GetSpecJSONResponseObject = specJSONResponse(nil)

// VisitGetSpecJSONResponse implements apiserver.GetSpecJSONResponseObject.
func (r specJSONResponse) VisitGetSpecJSONResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(r)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(r)
	return err
}
