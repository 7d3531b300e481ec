// Package contract loads the embedded spec, applies the server's limits, words schema errors.
package contract

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/api"
)

// Component schemas the server reads.
const (
	// SessionSchema is the session; filters take field names and value
	// types from it.
	SessionSchema = "SessionInfo"
	// DataSchema is what a data file must match.
	DataSchema = "ReferenceData"
	// SendMessageSchema is the body of send-message, whose limits are
	// configurable.
	SendMessageSchema = "SessionSendMessageSpec"

	messageProperty    = "message"
	sessionIDsProperty = "session_ids"
)

// patternMessage is the spec extension that explains a schema's pattern.
const patternMessage = "x-pattern-message"

// notMessage is the spec extension that words the refusal of a schema's
// `not`: what the refused combination breaks. The refusal is about the first
// property that the `not`'s schema requires.
const notMessage = "x-not-message"

// refuseUnknownFields is the spec extension with which a schema says that
// every object in what it describes, at any depth, refuses the properties its
// schema does not declare, as if that said additionalProperties: false.
const refuseUnknownFields = "x-refuse-unknown-fields"

// Load parses and validates the embedded spec; each call returns a fresh copy.
func Load() (*openapi3.T, error) {
	doc, err := api.Load()
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return doc, nil
}

// Schema returns the component schema with the given name.
func Schema(doc *openapi3.T, name string) (*openapi3.Schema, error) {
	ref, ok := doc.Components.Schemas[name]
	if !ok || ref.Value == nil {
		return nil, fmt.Errorf("server: spec has no %s schema", name)
	}
	return ref.Value, nil
}

// DataFileSchema returns the schema a data file must match: DataSchema, and,
// when it says x-refuse-unknown-fields: true, every object schema it reaches
// closed to properties it does not declare. Schemas that say what their
// additional properties may be keep their word. doc must be the caller's own
// copy: the schemas are changed in place, SessionInfo among them.
func DataFileSchema(doc *openapi3.T) (*openapi3.Schema, error) {
	schema, err := Schema(doc, DataSchema)
	if err != nil {
		return nil, err
	}
	switch refuse := schema.Extensions[refuseUnknownFields]; refuse {
	case nil, false:
	case true:
		closeObjects(schema, map[*openapi3.Schema]bool{})
	default:
		return nil, fmt.Errorf("server: spec schema %s: %s must be true or false, not %v", DataSchema, refuseUnknownFields, refuse)
	}
	return schema, nil
}

// closeObjects sets additionalProperties: false on s and every schema below it
// that describes an object and says nothing of additional properties.
func closeObjects(s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	extra := &s.AdditionalProperties
	if (s.Type.Is(openapi3.TypeObject) || len(s.Properties) > 0) && extra.Has == nil && extra.Schema == nil {
		closed := false
		extra.Has = &closed
	}
	// Not s.Not: it describes what is refused, and closed it would refuse
	// less.
	refs := []*openapi3.SchemaRef{s.Items, extra.Schema}
	for _, group := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
		refs = append(refs, group...)
	}
	for _, ref := range s.Properties {
		refs = append(refs, ref)
	}
	for _, ref := range refs {
		if ref != nil {
			closeObjects(ref.Value, seen)
		}
	}
}

// ApplyLimits writes the message length and session id limits into doc, so
// that the validator enforces them and its 400 names them. A zero limit takes
// the spec's own; the limits in force are returned, and where they stand in
// the spec, for the served document.
func ApplyLimits(doc *openapi3.T, maxMessageLength, maxSessionIDs int) (int, int, []Limit, error) {
	if maxMessageLength < 0 || maxSessionIDs < 0 {
		return 0, 0, nil, fmt.Errorf("server: limits must not be negative: message length %d, session ids %d", maxMessageLength, maxSessionIDs)
	}
	message, err := property(doc, SendMessageSchema, messageProperty)
	if err != nil {
		return 0, 0, nil, err
	}
	sessionIDs, err := property(doc, SendMessageSchema, sessionIDsProperty)
	if err != nil {
		return 0, 0, nil, err
	}
	if message.MaxLength == nil || sessionIDs.MaxItems == nil {
		return 0, 0, nil, fmt.Errorf("server: spec must bound %s.%s (maxLength) and %s.%s (maxItems)",
			SendMessageSchema, messageProperty, SendMessageSchema, sessionIDsProperty)
	}
	specMaxLength, specMaxItems := *message.MaxLength, *sessionIDs.MaxItems
	if specMaxLength > math.MaxInt || specMaxItems > math.MaxInt {
		return 0, 0, nil, fmt.Errorf("server: spec bounds %s.%s (maxLength %d) and %s.%s (maxItems %d) must fit an int",
			SendMessageSchema, messageProperty, specMaxLength, SendMessageSchema, sessionIDsProperty, specMaxItems)
	}
	if maxMessageLength == 0 {
		maxMessageLength = int(specMaxLength)
	}
	if maxSessionIDs == 0 {
		maxSessionIDs = int(specMaxItems)
	}
	if uint64(maxMessageLength) < message.MinLength {
		return 0, 0, nil, fmt.Errorf("server: message length limit %d is below the spec's minLength %d", maxMessageLength, message.MinLength)
	}
	if uint64(maxSessionIDs) < sessionIDs.MinItems {
		return 0, 0, nil, fmt.Errorf("server: session id limit %d is below the spec's minItems %d", maxSessionIDs, sessionIDs.MinItems)
	}
	maxLength, maxItems := uint64(maxMessageLength), uint64(maxSessionIDs)
	message.MaxLength, sessionIDs.MaxItems = &maxLength, &maxItems
	schema := []string{"components", "schemas", SendMessageSchema, "properties"}
	set := []Limit{
		{Path: append(slices.Clone(schema), messageProperty, "maxLength"), Value: maxLength},
		{Path: append(slices.Clone(schema), sessionIDsProperty, "maxItems"), Value: maxItems},
	}
	return maxMessageLength, maxSessionIDs, set, nil
}

func property(doc *openapi3.T, schema, name string) (*openapi3.Schema, error) {
	s, err := Schema(doc, schema)
	if err != nil {
		return nil, err
	}
	prop, ok := s.Properties[name]
	if !ok || prop.Value == nil {
		return nil, fmt.Errorf("server: spec schema %s has no property %s", schema, name)
	}
	return prop.Value, nil
}

// DescribeSchemaError turns a kin-openapi schema error into one line that
// points at the offending value, e.g. `/message_type: value is not one of ...`.
func DescribeSchemaError(err error) string {
	var schemaErr *openapi3.SchemaError
	if !errors.As(err, &schemaErr) {
		return FirstLine(err.Error())
	}
	pointer := ""
	for _, key := range schemaErr.JSONPointer() {
		pointer += "/" + pointerEscaper.Replace(key)
	}
	reason := schemaErr.Reason
	schema := schemaErr.Schema
	switch {
	// A failed oneOf says only that; the reasons are its alternatives', which
	// point at the value themselves. With a discriminator there is one.
	case schemaErr.SchemaField == "oneOf":
		var alternatives openapi3.MultiError
		if errors.As(schemaErr.Origin, &alternatives) && len(alternatives) > 0 {
			return DescribeAlternatives(alternatives) + goesWith(schema, alternatives)
		}
	// A failed allOf: the first of the schemas it failed says why.
	case schemaErr.SchemaField == "allOf":
		var failed openapi3.MultiError
		if errors.As(schemaErr.Origin, &failed) && len(failed) > 0 {
			return DescribeSchemaError(failed[0])
		}
	case schema == nil: // the cases below read the schema
	// A `not` that the value matched: the spec may say what it refuses, of
	// the first property its schema requires.
	case schemaErr.SchemaField == "not":
		reason = "matches a schema that \"not\" refuses"
		if message, ok := schema.Extensions[notMessage].(string); ok {
			reason = message
		}
		if schema.Not != nil && schema.Not.Value != nil && len(schema.Not.Value.Required) > 0 {
			pointer += "/" + pointerEscaper.Replace(schema.Not.Value.Required[0])
		}
	// A pattern says little to a reader; the spec may say what it means.
	case schemaErr.SchemaField == "pattern":
		if message, ok := schema.Extensions[patternMessage].(string); ok {
			reason = message
		}
	// Say which values the discriminator knows, not only that it does not
	// know this one.
	case schemaErr.SchemaField == "discriminator" && schema.Discriminator != nil:
		name := schema.Discriminator.PropertyName
		pointer += "/" + name
		want := "want one of " + strings.Join(slices.Sorted(maps.Keys(schema.Discriminator.Mapping)), ", ")
		if value, ok := schemaErr.Value.(string); ok {
			reason = fmt.Sprintf("unknown %s %q; %s", name, value, want)
		} else {
			reason = fmt.Sprintf("property %q is missing or not a string; %s", name, want)
		}
	// An unknown property: the validator points at the object that has it;
	// the answer points at the property, which is the first unknown one in
	// the validator's (sorted) order.
	case schemaErr.SchemaField == "properties":
		if name, ok := unknownProperty(schemaErr); ok {
			pointer += "/" + pointerEscaper.Replace(name)
		}
		reason += "; the properties are " + QuoteAll(slices.Sorted(maps.Keys(schema.Properties)))
	}
	if pointer != "" {
		return pointer + ": " + reason
	}
	return reason
}

// unknownProperty is the property that an error of additionalProperties is
// about: the first, in the validator's (sorted) order, that its schema does
// not declare.
func unknownProperty(e *openapi3.SchemaError) (string, bool) {
	object, ok := e.Value.(map[string]any)
	if !ok || e.Schema == nil || e.SchemaField != "properties" {
		return "", false
	}
	for _, name := range slices.Sorted(maps.Keys(object)) {
		if _, known := e.Schema.Properties[name]; !known {
			return name, true
		}
	}
	return "", false
}

// goesWith says, when the one alternative that a discriminator chose failed
// on a property it does not declare, which values of the discriminator have
// alternatives that do: `; it goes with action respond`.
func goesWith(parent *openapi3.Schema, alternatives openapi3.MultiError) string {
	var e *openapi3.SchemaError
	if parent == nil || parent.Discriminator == nil || len(alternatives) != 1 || !errors.As(alternatives[0], &e) {
		return ""
	}
	name, ok := unknownProperty(e)
	if !ok {
		return ""
	}
	var with []string
	for value, ref := range parent.Discriminator.Mapping {
		for _, alternative := range parent.OneOf {
			if alternative.Ref == ref.Ref && alternative.Value != nil && alternative.Value.Properties[name] != nil {
				with = append(with, value)
			}
		}
	}
	if len(with) == 0 {
		return ""
	}
	slices.Sort(with)
	return fmt.Sprintf("; it goes with %s %s", parent.Discriminator.PropertyName, strings.Join(with, " or "))
}

// pointerEscaper writes a name as one token of a JSON pointer (RFC 6901).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// DescribeAlternatives says why a value matched none of the alternatives,
// each reason once: `/password: value must be a string, or value must be an
// array`.
func DescribeAlternatives(errs openapi3.MultiError) string {
	var b strings.Builder
	seen := map[string]bool{}
	lastPlace := ""
	for _, err := range errs {
		reason := DescribeSchemaError(err)
		if seen[reason] {
			continue
		}
		seen[reason] = true
		place, rest, found := strings.Cut(reason, ": ")
		if b.Len() > 0 {
			b.WriteString(", or ")
		}
		if found && strings.HasPrefix(place, "/") && place == lastPlace {
			reason = rest
		}
		if found && strings.HasPrefix(place, "/") {
			lastPlace = place
		}
		b.WriteString(reason)
	}
	return b.String()
}

// QuoteAll quotes each name, as Go would, and lists them: `"a", "b"`.
func QuoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return strings.Join(quoted, ", ")
}

// FirstLine returns s up to its first line break.
func FirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
