package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"go.yaml.in/yaml/v3"
)

// Spec is an OpenAPI document that answers are held to, with a name for the
// differences it finds.
type Spec struct {
	Name string
	Doc  *openapi3.T
}

// LoadSpec reads an OpenAPI 3 document, or a Swagger 2.0 one (as some
// Horizon versions publish theirs), in JSON or YAML. Its paths are matched
// with or without the base path /rest.
func LoadSpec(path string) (Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("spec: %w", err)
	}
	name := filepath.Base(path)
	// JSON is YAML: read either, and hand kin-openapi JSON.
	var generic map[string]any
	if err := yaml.Unmarshal(data, &generic); err != nil {
		return Spec{}, fmt.Errorf("spec %s: neither JSON nor YAML: %w", path, err)
	}
	asJSON, err := json.Marshal(stringKeys(generic))
	if err != nil {
		return Spec{}, fmt.Errorf("spec %s: %w", path, err)
	}
	swagger, _ := generic["swagger"].(string)
	openAPI, _ := generic["openapi"].(string)
	switch {
	case strings.HasPrefix(swagger, "2."):
		var doc2 openapi2.T
		if err := json.Unmarshal(asJSON, &doc2); err != nil {
			return Spec{}, fmt.Errorf("spec %s: not a Swagger 2.0 document: %w", path, err)
		}
		doc, err := openapi2conv.ToV3(&doc2)
		if err != nil {
			return Spec{}, fmt.Errorf("spec %s: convert Swagger 2.0 to OpenAPI 3: %w", path, err)
		}
		return Spec{Name: name, Doc: doc}, nil
	case strings.HasPrefix(openAPI, "3."):
		doc, err := openapi3.NewLoader().LoadFromData(asJSON)
		if err != nil {
			return Spec{}, fmt.Errorf("spec %s: %w", path, err)
		}
		return Spec{Name: name, Doc: doc}, nil
	}
	return Spec{}, fmt.Errorf("spec %s: says neither \"openapi: 3.x\" nor \"swagger: 2.0\"", path)
}

// stringKeys makes the maps of a YAML document JSON objects: YAML allows
// keys such as an unquoted 200, JSON only strings.
func stringKeys(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = stringKeys(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = stringKeys(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = stringKeys(e)
		}
	}
	return v
}

// operation is one operation of a spec, found by id or by method and path.
type operation struct {
	route routers.Route
}

// findOperation finds the operation with the given operationId.
func findOperation(doc *openapi3.T, id string) (*operation, error) {
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == id {
				return &operation{route: routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}}, nil
			}
		}
	}
	return nil, fmt.Errorf("the contract has no operation %q", id)
}

// matchOperation finds the operation of another spec at the same method and
// path template, with or without /rest in front: another spec may name its
// operations otherwise.
func matchOperation(doc *openapi3.T, method, template string) *operation {
	if doc.Paths == nil {
		return nil
	}
	for _, path := range []string{template, "/rest" + template} {
		item := doc.Paths.Find(path)
		if item == nil {
			continue
		}
		if op := item.GetOperation(method); op != nil {
			return &operation{route: routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}}
		}
	}
	return nil
}

// protected says whether the operation needs a token.
func (o *operation) protected() bool {
	security := o.route.Spec.Security
	if o.route.Operation.Security != nil {
		security = *o.route.Operation.Security
	}
	return len(security) > 0
}

// declared lists the statuses the operation declares, in order.
func (o *operation) declared() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for code := range o.route.Operation.Responses.Map() {
			if !yield(code) {
				return
			}
		}
	})
}

// check holds one answer to the operation: its status must be declared,
// and its headers and body must match what the status declares. It returns
// each difference found.
func (o *operation) check(req *http.Request, a *answer) []string {
	op := o.route.Operation
	if op.Responses.Status(a.status) == nil && op.Responses.Default() == nil {
		return []string{fmt.Sprintf("status %d is not declared (it declares %s)", a.status, strings.Join(o.declared(), ", "))}
	}
	// A header written in its own case (HAS_MORE_RECORDS) is checked too.
	header := make(http.Header, len(a.header))
	for name, values := range a.header {
		for _, v := range values {
			header.Add(name, v)
		}
	}
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &o.route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  a.status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(a.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	return describe(err)
}

// describe words a validation error as one line per difference: the JSON
// pointer and the reason, never the value (it could be a token).
func describe(err error) []string {
	if err == nil {
		return nil
	}
	var respErr *openapi3filter.ResponseError
	if errors.As(err, &respErr) {
		if respErr.Err == nil {
			return []string{respErr.Reason}
		}
		var out []string
		for _, d := range describe(respErr.Err) {
			out = append(out, respErr.Reason+": "+d)
		}
		return out
	}
	// The top level only: a failed oneOf is a SchemaError that wraps its
	// alternatives' errors, and is worded as one.
	if multi, ok := err.(openapi3.MultiError); ok { //nolint:errorlint // the top level only, as said
		var out []string
		for _, e := range multi {
			out = append(out, describe(e)...)
		}
		return out
	}
	var schemaErr *openapi3.SchemaError
	if errors.As(err, &schemaErr) {
		pointer := ""
		for _, key := range schemaErr.JSONPointer() {
			pointer += "/" + key
		}
		reason := schemaErr.Reason
		if reason == "" {
			reason = fmt.Sprintf("does not match %q", schemaErr.SchemaField)
		}
		if pointer == "" {
			return []string{reason}
		}
		return []string{pointer + ": " + reason}
	}
	return []string{firstLine(err.Error())}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// extraFields lists the members of a JSON answer that its schema does not
// declare, where the schema allows them: what a newer server adds. Array
// indexes are written as *, so that a field of every session is named once.
func (o *operation) extraFields(a *answer) []string {
	ref := o.route.Operation.Responses.Status(a.status)
	if ref == nil || ref.Value == nil || a.json == nil {
		return nil
	}
	media := ref.Value.Content.Get("application/json")
	if media == nil || media.Schema == nil || media.Schema.Value == nil {
		return nil
	}
	found := map[string]bool{}
	walkExtra(media.Schema.Value, a.json, "", found)
	return slices.Sorted(func(yield func(string) bool) {
		for path := range found {
			if !yield(path) {
				return
			}
		}
	})
}

func walkExtra(schema *openapi3.Schema, value any, at string, found map[string]bool) {
	switch value := value.(type) {
	case map[string]any:
		// Alternatives and open schemas without properties say nothing of
		// which members belong.
		if len(schema.OneOf) > 0 || len(schema.AnyOf) > 0 || len(schema.Properties) == 0 {
			return
		}
		for name, member := range value {
			if prop, ok := schema.Properties[name]; ok && prop.Value != nil {
				walkExtra(prop.Value, member, at+"/"+name, found)
			} else if !ok && schema.AdditionalProperties.Schema == nil {
				found[at+"/"+name] = true
			}
		}
	case []any:
		if schema.Items == nil || schema.Items.Value == nil {
			return
		}
		for _, item := range value {
			walkExtra(schema.Items.Value, item, at+"/*", found)
		}
	}
}

// queryParameterMaximum is the maximum of an integer query parameter of the
// operation, if the spec gives one.
func (o *operation) queryParameterMaximum(name string) (int64, bool) {
	p := o.route.Operation.Parameters.GetByInAndName("query", name)
	if p == nil || p.Schema == nil || p.Schema.Value == nil || p.Schema.Value.Max == nil {
		return 0, false
	}
	return int64(*p.Schema.Value.Max), true
}

// filterTypes are the filter types that the spec's filter schema names
// (its discriminator's mapping), in order.
func filterTypes(doc *openapi3.T) []string {
	ref := doc.Components.Schemas["SessionFilter"]
	if ref == nil || ref.Value == nil || ref.Value.Discriminator == nil {
		return nil
	}
	return slices.Sorted(func(yield func(string) bool) {
		for name := range ref.Value.Discriminator.Mapping {
			if !yield(name) {
				return
			}
		}
	})
}

// sessionField is a field of the spec's SessionInfo as filters see it.
type sessionField struct {
	kind string // "string", "enum", "integer", "boolean", or "list" (of strings)
	// takes are the filter types the field takes (its x-filters); nil when
	// the spec does not say, and then any type that applies.
	takes []string
}

// takesType says whether the field takes filters of type kind.
func (f sessionField) takesType(kind string) bool {
	return f.takes == nil || slices.Contains(f.takes, kind)
}

// sessionFields are the fields of the spec's SessionInfo that filters name,
// with their types and the filter types each takes. Fields of an object are
// named with a dot, as filters name them.
func sessionFields(doc *openapi3.T) map[string]sessionField {
	ref := doc.Components.Schemas["SessionInfo"]
	if ref == nil || ref.Value == nil {
		return nil
	}
	fields := map[string]sessionField{}
	var walk func(prefix string, s *openapi3.Schema)
	walk = func(prefix string, s *openapi3.Schema) {
		for name, prop := range s.Properties {
			if prop.Value == nil {
				continue
			}
			v := prop.Value
			f := sessionField{takes: filterTypesOf(v)}
			switch {
			case v.Type.Is("object"):
				if prefix == "" {
					walk(name+".", v)
				}
				continue
			case v.Type.Is("string") && len(v.Enum) > 0:
				f.kind = "enum"
			case v.Type.Is("string"), v.Type.Is("integer"), v.Type.Is("boolean"):
				f.kind = v.Type.Slice()[0]
			case v.Type.Is("array") && v.Items != nil && v.Items.Value != nil && v.Items.Value.Type.Is("string"):
				f.kind = "list"
			default:
				continue
			}
			fields[prefix+name] = f
		}
	}
	walk("", ref.Value)
	return fields
}

// filterTypesOf reads a field's x-filters: the filter types it takes, or nil
// when it does not say.
func filterTypesOf(s *openapi3.Schema) []string {
	list, ok := s.Extensions["x-filters"].([]any)
	if !ok {
		return nil
	}
	takes := []string{}
	for _, v := range list {
		if kind, ok := v.(string); ok {
			takes = append(takes, kind)
		}
	}
	return takes
}
