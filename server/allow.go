package server

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// allowedMethods tells, for the Allow header of a 405, which methods the spec
// has for the path of a request.
type allowedMethods struct {
	router routers.Router
	// methods are those the spec uses on any path: one of them finds the
	// path's item, if the path is in the spec.
	methods []string
}

func newAllowedMethods(doc *openapi3.T) (*allowedMethods, error) {
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("server: spec router: %w", err)
	}
	used := map[string]bool{}
	for _, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			used[method] = true
		}
	}
	return &allowedMethods{router: router, methods: slices.Sorted(maps.Keys(used))}, nil
}

// header returns the Allow header for the path of req: the spec's methods for
// it, sorted, or "" when the spec does not have the path.
func (a *allowedMethods) header(req *http.Request) string {
	for _, method := range a.methods {
		probe := req.WithContext(req.Context())
		probe.Method = method
		if route, _, err := a.router.FindRoute(probe); err == nil {
			return strings.Join(slices.Sorted(maps.Keys(route.PathItem.Operations())), ", ")
		}
	}
	return ""
}
