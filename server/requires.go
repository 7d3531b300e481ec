package server

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// requiresExtension is the spec extension with which a query parameter names
// the query parameters it needs beside it, which OpenAPI 3.0 cannot say:
// listSessions' page needs size, and size page.
const requiresExtension = "x-requires"

// requirement is a query parameter and the query parameters it needs.
type requirement struct {
	name  string
	needs []string
}

// requirements reads the x-requires of the query parameters of op (and of
// its path item). A parameter may need only query parameters of the same
// operation.
func requirements(item *openapi3.PathItem, op *openapi3.Operation) ([]requirement, error) {
	query := map[string]bool{}
	params := slices.Concat(item.Parameters, op.Parameters)
	for _, ref := range params {
		if ref.Value != nil && ref.Value.In == openapi3.ParameterInQuery {
			query[ref.Value.Name] = true
		}
	}
	var out []requirement
	for _, ref := range params {
		p := ref.Value
		if p == nil || p.Extensions[requiresExtension] == nil {
			continue
		}
		list, ok := p.Extensions[requiresExtension].([]any)
		if p.In != openapi3.ParameterInQuery || !ok || len(list) == 0 {
			return nil, fmt.Errorf("server: spec operation %s, parameter %q: %s must be a list of query parameters, on a query parameter",
				op.OperationID, p.Name, requiresExtension)
		}
		r := requirement{name: p.Name}
		for _, v := range list {
			name, ok := v.(string)
			if !ok || !query[name] || name == p.Name {
				return nil, fmt.Errorf("server: spec operation %s, parameter %q: %s names %v, not another query parameter of the operation",
					op.OperationID, p.Name, requiresExtension, v)
			}
			r.needs = append(r.needs, name)
		}
		out = append(out, r)
	}
	return out, nil
}

// checkRequirements is the 400 of a query that gives a parameter without one
// it needs, or nil.
func checkRequirements(reqs []requirement, query url.Values) error {
	for _, r := range reqs {
		if !query.Has(r.name) {
			continue
		}
		for _, need := range r.needs {
			if query.Has(need) {
				continue
			}
			message := fmt.Sprintf("query parameter %q requires %q", r.name, need)
			if mutual(reqs, need, r.name) {
				message += ": give both or neither"
			}
			return echo.NewHTTPError(http.StatusBadRequest, message)
		}
	}
	return nil
}

// mutual says whether parameter name needs other too.
func mutual(reqs []requirement, name, other string) bool {
	for _, r := range reqs {
		if r.name == name && slices.Contains(r.needs, other) {
			return true
		}
	}
	return false
}
