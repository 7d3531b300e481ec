package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/hzkit/sendmessage/server/internal/contract"
	"github.com/hzkit/sendmessage/server/internal/jsontext"
)

// jsonParameters decodes the parameters that the spec declares as JSON text
// (content: application/json, such as listSessions' filter) and checks them
// against their schema with opts. kin-openapi's own decoder would take text
// that is not JSON for a string and match that against the schema, and a
// value that fails inside a oneOf would reach echo-middleware as the bare
// errors of the alternatives, without the parameter they are about: the
// answer could not say which parameter is wrong. The errors returned here
// keep it.
//
// limits, by parameter name, bound a parameter before its schema is checked:
// text is checked before it is decoded, shape once it is.
func jsonParameters(limits map[string]parameterLimits, opts ...openapi3.SchemaValidationOption) openapi3filter.ContentParameterDecoder {
	return func(param *openapi3.Parameter, values []string) (any, *openapi3.Schema, error) {
		limit := limits[param.Name]
		media := param.Content.Get("application/json")
		if len(param.Content) != 1 || media == nil || media.Schema == nil || media.Schema.Value == nil {
			return nil, nil, errors.New("the spec declares no JSON schema for it")
		}
		if len(values) != 1 {
			return nil, nil, fmt.Errorf("given %d times; give it once", len(values))
		}
		text := values[0]
		if text == "" {
			return nil, nil, errors.New("empty; give it as JSON")
		}
		if limit.text != nil {
			if err := limit.text(text); err != nil {
				return nil, nil, err
			}
		}
		if err := jsontext.Check([]byte(text)); err != nil {
			return nil, nil, fmt.Errorf("not valid JSON: %w", err)
		}
		decoder := json.NewDecoder(strings.NewReader(text))
		decoder.UseNumber() // numbers stay exact for the handler's checks
		var value any
		if err := decoder.Decode(&value); err != nil {
			return nil, nil, fmt.Errorf("not valid JSON: %w", err)
		}
		if limit.shape != nil {
			if err := limit.shape(value); err != nil {
				return nil, nil, err
			}
		}
		if err := wantObject(media, value); err != nil {
			return nil, nil, err
		}
		if err := media.Schema.Value.VisitJSON(value, opts...); err != nil {
			// Only the description: the error itself holds the alternatives'
			// MultiError, which echo-middleware would pick out of the chain.
			return nil, nil, errors.New(contract.DescribeSchemaError(err))
		}
		// Checked: no schema left for the validator to check it against again.
		return value, nil, nil
	}
}

// parameterLimits bound a JSON parameter: its text, then its decoded value.
type parameterLimits struct {
	text  func(text string) error
	shape func(value any) error
}

// wantObject explains a common mistake (a filter written as a plain string)
// better than the schema can: "value must be an object" says neither what
// an object would look like nor what came instead. The spec's example does.
func wantObject(media *openapi3.MediaType, value any) error {
	schema := media.Schema.Value
	if _, isObject := value.(map[string]any); isObject || (!schema.Type.Is(openapi3.TypeObject) && schema.Discriminator == nil) {
		return nil
	}
	got := "null"
	if value != nil {
		got = fmt.Sprintf("%T", value)
		switch value.(type) {
		case string:
			got = "a string"
		case json.Number:
			got = "a number"
		case bool:
			got = "a boolean"
		case []any:
			got = "an array"
		}
	}
	example, err := json.Marshal(media.Example)
	if media.Example == nil || err != nil {
		return fmt.Errorf("want a JSON object, not %s", got)
	}
	return fmt.Errorf("want a JSON object such as %s, not %s", example, got)
}
