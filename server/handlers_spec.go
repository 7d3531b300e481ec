package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/server/internal/docs"
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

// GetDocsPage answers the docs page, which renders the spec of GetSpecJSON.
func (h *handlers) GetDocsPage(context.Context, apiserver.GetDocsPageRequestObject) (apiserver.GetDocsPageResponseObject, error) {
	return apiserver.GetDocsPage200TextHTMLResponse{
		Body:          bytes.NewReader(docs.Page),
		ContentLength: int64(len(docs.Page)),
		Headers:       apiserver.GetDocsPage200ResponseHeaders{ContentSecurityPolicy: docs.ContentSecurityPolicy},
	}, nil
}

// GetDocsScript answers the script of the docs page.
func (h *handlers) GetDocsScript(context.Context, apiserver.GetDocsScriptRequestObject) (apiserver.GetDocsScriptResponseObject, error) {
	return apiserver.GetDocsScript200TextJavascriptResponse{
		Body:          bytes.NewReader(docs.Script),
		ContentLength: int64(len(docs.Script)),
	}, nil
}

// docsOperation is the spec's operation of the docs page.
const docsOperation = "getDocsPage"

// docsPagePath is the path of the docs page, under BasePath, as the spec
// gives it.
func docsPagePath(doc *openapi3.T) (string, error) {
	for path, item := range doc.Paths.Map() {
		if item.Get != nil && item.Get.OperationID == docsOperation {
			return BasePath + path, nil
		}
	}
	return "", fmt.Errorf("server: spec has no operation %s", docsOperation)
}

// leadToDocs redirects a person who opens the server's root, or the docs
// page's path with a slash after it (whose relative links would miss), to
// the docs page.
func leadToDocs(e *echo.Echo, page string) {
	methods := []string{http.MethodGet, http.MethodHead}
	e.Match(methods, "/", func(c echo.Context) error { return c.Redirect(http.StatusFound, page) })
	e.Match(methods, page+"/", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, page) })
}
