package fastpath

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// The fast path implements a few fields of kin-openapi's types, each in its
// context, and refuses to compile when any other exported field is set. The
// fields are enumerated by reflection, so that a field kin-openapi adds later
// is refused until someone decides what it means here. Unexported fields are
// caches kin-openapi fills in itself: they are skipped.

// docFields say nothing about which requests are valid. Extensions are
// among them only as far as documentingExtensions goes: this project gives
// some of them meaning.
var docFields = []string{"Extensions", "Origin", "Title", "Description", "Example", "ExternalDocs", "Deprecated"}

// documentingExtensions are the extensions that change no acceptance:
// x-pattern-message rewords the refusal of a pattern, and the fast path only
// accepts. Any other extension (x-refuse-unknown-fields, say) keeps an
// operation off the fast path until someone decides what it means here.
var documentingExtensions = []string{"x-pattern-message"}

// The fields of openapi3.Schema the fast path implements, by what the schema
// describes. An object's additionalProperties decides whether members it
// does not declare are skipped (unset or true) or left to the validator (a
// schema, or false).
var (
	objectSchemaFields = docsAnd("Type", "Properties", "Required", "AdditionalProperties")
	stringSchemaFields = docsAnd("Type", "Enum", "MinLength", "MaxLength", "Pattern")
	arraySchemaFields  = docsAnd("Type", "Items", "MinItems", "MaxItems")
)

// The fields of the operation's own types that the fast path implements.
// Parameters, of the path or of the operation, are not among them: so no
// field of openapi3.Parameter needs judging.
var (
	// The other operations of the path are handled, or not, on their own.
	pathItemFields = []string{
		"Extensions", "Origin", "Summary", "Description",
		"Connect", "Delete", "Get", "Head", "Options", "Patch", "Post", "Put", "Trace", "Query", "AdditionalOperations",
	}
	// Responses and callbacks do not take part in validating a request.
	operationFields = []string{
		"Extensions", "Origin", "Tags", "Summary", "Description", "OperationID", "Deprecated", "ExternalDocs",
		"RequestBody", "Responses", "Callbacks", "Security",
	}
	requestBodyFields = []string{"Extensions", "Origin", "Description", "Required", "Content"}
	mediaTypeFields   = []string{"Extensions", "Origin", "Example", "Examples", "Schema"}
)

// optionsFields are the fields of openapi3filter.Options that the fast path
// implements or that cannot change what it accepts:
//   - AuthenticationFunc checks the security requirements for the
//     validator; the caller checks them before it asks the fast path.
//   - SkipSettingDefaults, MultiError, ExcludeReadOnlyValidations,
//     RegexCompiler and SchemaValidationOptions go to Schema.VisitJSON as
//     ValidateRequestBody passes them (schemaOptions). MultiError also
//     gathers refusals, which the fast path leaves to the validator. The
//     object and array keywords the fast path checks itself (properties,
//     required, minItems, maxItems) no option of kin-openapi v0.153 changes
//     but EnableJSONSchema2020, another validator, which openapi3filter
//     adds for OpenAPI 3.1 documents: those are refused.
//   - KeepValidatedValue: with it the handler binds the value the validator
//     kept, without it a decode of the body; for the plain bodies the fast
//     path accepts both are the value it hands over.
//   - ExcludeRequestQueryParams drops checks of query parameters, and the
//     operation has no parameters (refused otherwise).
//   - RejectWhenRequestBodyNotSpecified concerns operations without a
//     request body, and the operation requires one (refused otherwise).
//   - ExcludeResponseBody, ExcludeWriteOnlyValidations and
//     IncludeResponseStatus are read by ValidateResponse only.
//
// The unexported customSchemaErrorFunc, skipped as all unexported fields,
// only rewords refusals. ExcludeRequestBody is refused: then the validator
// takes any body.
var optionsFields = []string{
	"AuthenticationFunc", "SkipSettingDefaults", "MultiError", "ExcludeReadOnlyValidations", "RegexCompiler",
	"SchemaValidationOptions", "KeepValidatedValue", "ExcludeRequestQueryParams",
	"RejectWhenRequestBodyNotSpecified", "ExcludeResponseBody", "ExcludeWriteOnlyValidations", "IncludeResponseStatus",
}

// docsAnd is docFields and more.
func docsAnd(more ...string) []string { return slices.Concat(docFields, more) }

// onlyFields fails with ErrNotCompiled, naming the field and where it is,
// unless every exported field of the struct v points to is zero or empty or
// named in allowed.
func onlyFields(where string, v any, allowed []string) error {
	if name := setField(v, allowed); name != "" {
		return fmt.Errorf("%w: %s: %s is set", ErrNotCompiled, where, name)
	}
	if extensions := reflect.ValueOf(v).Elem().FieldByName("Extensions"); extensions.IsValid() && extensions.Kind() == reflect.Map {
		for _, key := range extensions.MapKeys() {
			if name := key.String(); !slices.Contains(documentingExtensions, name) {
				return fmt.Errorf("%w: %s: extension %s is set, whose meaning the fast path does not implement", ErrNotCompiled, where, name)
			}
		}
	}
	return nil
}

// setField returns the name of the first exported field of the struct v
// points to that is set (not zero, nor an empty slice or map) and not named
// in except, as "Type.Field (json name)"; "" if there is none.
func setField(v any, except []string) string {
	value := reflect.ValueOf(v).Elem()
	t := value.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || slices.Contains(except, f.Name) {
			continue
		}
		field := value.Field(i)
		switch {
		case field.IsZero():
			continue
		case (field.Kind() == reflect.Slice || field.Kind() == reflect.Map) && field.Len() == 0:
			continue
		}
		name := t.Name() + "." + f.Name
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" {
			name += " (" + tag + ")"
		}
		return name
	}
	return ""
}
