package fastpath

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/go-cmp/cmp"
	"github.com/oapi-codegen/runtime"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/contract"
	"github.com/hzkit/sendmessage/server/internal/jsontext"
)

// basePath is where the server mounts the spec's paths.
const basePath = "/rest"

// limits are the server's configurable limits; zero takes the spec's.
type limits struct{ MaxMessageLength, MaxSessionIDs int }

const sendRoute = "POST " + basePath + "/inventory/v1/sessions/action/send-message"

var sendBodyTypes = map[string]reflect.Type{
	"sendMessageToSessions": reflect.TypeFor[model.SendMessageToSessionsJSONRequestBody](),
}

// serverOptions are the validator options of the server, but for a token
// check that lets every request in.
func serverOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		KeepValidatedValue:      true,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
	}
}

// loadSpec loads the shipped spec with limits written in.
func loadSpec(t testing.TB, lim limits) *openapi3.T {
	t.Helper()
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := contract.ApplyLimits(doc, lim.MaxMessageLength, lim.MaxSessionIDs); err != nil {
		t.Fatal(err)
	}
	return doc
}

// compileSend compiles the send-message operation of the spec with limits.
func compileSend(t testing.TB, lim limits) *Operation {
	t.Helper()
	return compileSendFor(t, loadSpec(t, lim), serverOptions())
}

func compileSendFor(t testing.TB, doc *openapi3.T, options *openapi3filter.Options) *Operation {
	t.Helper()
	fast, err := Compile(doc, basePath, options, sendBodyTypes)
	if err != nil {
		t.Fatalf("the fast path does not compile the spec's send-message operation: %v", err)
	}
	op := fast.operations[sendRoute]
	if op == nil {
		t.Fatalf("no fast path for %s; have %v", sendRoute, fast.operations)
	}
	return op
}

// viaValidator is the generic path: the validator's decode and schema check
// of the body, strictJSON's check of its bytes, then the generated code's bind
// of the value the validator kept.
func viaValidator(t testing.TB, op *Operation, body []byte) (model.SessionSendMessageSpec, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://127.0.0.1"+basePath+op.route.Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	input := &openapi3filter.RequestValidationInput{Request: req, Route: op.route, Options: op.options}
	var spec model.SessionSendMessageSpec
	if err := openapi3filter.ValidateRequestBody(context.Background(), input, op.requestBody); err != nil {
		return spec, err
	}
	kept, ok := req.Body.(interface{ ValidatedValue() any })
	if !ok {
		t.Fatal("the validator kept no value")
	}
	if err := jsontext.Check(body); err != nil {
		return spec, err
	}
	if err := runtime.BindJSONValue(kept.ValidatedValue(), &spec); err != nil {
		return spec, fmt.Errorf("bind: %w", err)
	}
	return spec, nil
}

// viaFastPath is the fast path's decode; ok false means "not sure".
func viaFastPath(op *Operation, body []byte) (model.SessionSendMessageSpec, bool) {
	v := reflect.New(op.body.goType)
	ok := op.body.decode(string(body), v.Elem())
	spec, _ := v.Interface().(*model.SessionSendMessageSpec)
	return *spec, ok
}

// agree fails t when the fast path accepts body and the validator does not,
// or binds another value.
func agree(t *testing.T, op *Operation, body []byte) (fastAccepted bool) {
	t.Helper()
	fast, ok := viaFastPath(op, body)
	if !ok {
		return false
	}
	slow, err := viaValidator(t, op, body)
	if err != nil {
		t.Fatalf("fast path accepts what the validator refuses (%v):\n%q", err, body)
	}
	if diff := cmp.Diff(slow, fast); diff != "" {
		t.Fatalf("fast path binds another value (-validator +fast):\n%s\nbody %q", diff, body)
	}
	return true
}

func TestFastPathAcceptsPlainValidBodies(t *testing.T) {
	t.Parallel()
	op := compileSend(t, limits{})
	bodies := []string{
		`{"message":"Sample Info Message","message_type":"INFO","session_ids":["7cdd624f-37d1-46c1-ab96-695a5d13956f"]}`,
		"{ \"session_ids\" : [ \"a\" , \"b\" ] ,\n\t\"message_type\":\"ERROR\", \"message\":\"x\" }\r\n",
		`{"message":"caf\u00e9 ` + "\u00e9\U0001F600" + `","message_type":"WARNING","session_ids":["a\"b","a"]}`,
		// Members the schema does not declare hold any value: skipped.
		`{"message":"m","message_type":"INFO","session_ids":["a"],"extra":1}`,
		`{"extra":[1,1,1],"message":"m","message_type":"INFO","session_ids":["a"]}`,
		`{"message":"m","x":{"a":[1,{"b":"]}\",\\"}],"c":null},"message_type":"INFO","session_ids":["a"],"y":"}"}`,
		`{"message":"m","message_type":"INFO","session_ids":["a"],"t":true,"f":false,"n":null,"e":-1.5e+3,"s":"\u00e9"}`,
		`{"Message":"M","message":"m","message_type":"INFO","session_ids":["a"],"extra":[],"extra":{}}`,
	}
	for _, body := range bodies {
		if !agree(t, op, []byte(body)) {
			t.Errorf("fast path declines a plain valid body: %s", body)
		}
	}
}

func TestFastPathDeclinesWhatItCannotBeSureOf(t *testing.T) {
	t.Parallel()
	op := compileSend(t, limits{MaxMessageLength: 5, MaxSessionIDs: 2})
	ok := `"message":"m","message_type":"INFO","session_ids":["a"]`
	bodies := []string{
		``, `null`, `[]`, `{}`, `{` + ok + `}x`, `{` + ok + `}{}`, "\ufeff{" + ok + `}`,
		// Skipped members are still JSON, in UTF-8.
		`{` + ok + `,"extra":[1,}`, `{` + ok + `,"extra":01}`, `{` + ok + `,"extra":tru}`, `{` + ok + `,"extra":}`,
		`{` + ok + `,"extra":"a` + "\x01" + `"}`, `{` + ok + `,"extra":"caf` + "\xff" + `"}`, `{` + ok + `,"extra":[1] 2}`,
		`{` + ok + `,"extra":"open}`, `{` + ok + `,"extra":{"a":1}`, `{` + ok + `,"extra"}`, `{` + ok + `,"extra":1,}`,
		`{` + ok + `,"extra":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		`{"Message":"m","message_type":"INFO","session_ids":["a"]}`,
		`{` + ok + `,"message":"n"}`,
		`{"message":null,"message_type":"INFO","session_ids":["a"]}`,
		`{"message":"m","message_type":"INFO","session_ids":null}`,
		`{"message":"m","message_type":"info","session_ids":["a"]}`,
		`{"message":"","message_type":"INFO","session_ids":["a"]}`,
		`{"message":"123456","message_type":"INFO","session_ids":["a"]}`,
		`{"message":"m","message_type":"INFO","session_ids":[]}`,
		`{"message":"m","message_type":"INFO","session_ids":["a","b","c"]}`,
		`{"message":"m","message_type":"INFO","session_ids":["a",1]}`,
		`{"message":"m","message_type":"INFO","session_ids":["a",]}`,
		`{"message":"m","message_type":"INFO","session_ids":["a"],}`,
		"{\"message\":\"m\x01\",\"message_type\":\"INFO\",\"session_ids\":[\"a\"]}",
		`{"message":"m\x","message_type":"INFO","session_ids":["a"]}`,
		`{"messag\u0065":"m","message_type":"INFO","session_ids":["a"]}`,
		`{"message":"m","message_type":"INFO"`,
		// What strictJSON refuses and encoding/json would let through.
		"{\"message\":\"caf\xff\",\"message_type\":\"INFO\",\"session_ids\":[\"a\"]}",
		"{\"message\":\"\xc0\xaf\",\"message_type\":\"INFO\",\"session_ids\":[\"a\"]}",
		"{\"message\":\"\xed\xa0\x80\",\"message_type\":\"INFO\",\"session_ids\":[\"a\"]}",
		"{\"message\":\"m\",\"message_type\":\"INFO\",\"session_ids\":[\"\xe2\x82\"]}",
		"{\"message\":\"m\",\"message_type\":\"INFO\",\"session_ids\":[\"a\"]}\xff",
		`{` + ok + `} {}`, `{` + ok + `}]`, "{" + ok + "}\n\x00garbage",
		`{"message":"m","message_type":"DEBUG","message_type":"INFO","session_ids":["a"]}`,
	}
	for _, body := range bodies {
		if agree(t, op, []byte(body)) {
			t.Errorf("fast path accepts %q", body)
		}
	}
}

// TestFastPathCompilesTheShippedSpec fails when the fast path cannot be built
// for the spec the server ships with, and so would be off in production.
func TestFastPathCompilesTheShippedSpec(t *testing.T) {
	t.Parallel()
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	fast, err := Compile(doc, basePath, serverOptions(), sendBodyTypes)
	if err != nil {
		t.Fatalf("the fast path does not compile the shipped spec: %v", err)
	}
	if fast.operations[sendRoute] == nil {
		t.Fatalf("no fast path for %s", sendRoute)
	}
}

func TestFastPathCompilesOnlyWhatItImplements(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*openapi3.Schema)
		// refused is a fragment of the refusal; "" when the fast path
		// implements the change.
		refused string
	}{
		{"closed object", func(s *openapi3.Schema) { no := false; s.AdditionalProperties.Has = &no }, ""},
		{"pattern", func(s *openapi3.Schema) { s.Properties["message"].Value.Pattern = "^a" }, ""},
		{"optional property", func(s *openapi3.Schema) { s.Required = s.Required[1:] }, "optional property"},
		{"required property not declared", func(s *openapi3.Schema) { s.Required = append(s.Required, "x") }, `"x" is not declared`},
		{"minProperties", func(s *openapi3.Schema) { s.MinProps = 1 }, "Schema.MinProps (minProperties) is set"},
		{"uniqueItems", func(s *openapi3.Schema) { s.Properties["session_ids"].Value.UniqueItems = true }, "properties.session_ids: Schema.UniqueItems"},
		{"readOnly", func(s *openapi3.Schema) { s.Properties["message_type"].Value.ReadOnly = true }, "properties.message_type: Schema.ReadOnly"},
		{"nullable string", func(s *openapi3.Schema) { s.Properties["message"].Value.Nullable = true }, "Schema.Nullable"},
		{"default", func(s *openapi3.Schema) { s.Properties["message_type"].Value.Default = "INFO" }, "Schema.Default"},
		{"format of the items", func(s *openapi3.Schema) { s.Properties["session_ids"].Value.Items.Value.Format = "uuid" }, "session_ids.items: Schema.Format"},
		{"number property", func(s *openapi3.Schema) {
			s.Properties["message"].Value.Type = &openapi3.Types{openapi3.TypeNumber}
		}, "neither a string nor an array of strings"},
		{"allOf", func(s *openapi3.Schema) { s.AllOf = openapi3.SchemaRefs{{Value: &openapi3.Schema{}}} }, "Schema.AllOf (allOf) is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := loadSpec(t, limits{})
			tt.change(doc.Components.Schemas[contract.SendMessageSchema].Value)
			_, err := Compile(doc, basePath, serverOptions(), sendBodyTypes)
			switch {
			case tt.refused == "" && err != nil:
				t.Errorf("refused a schema with %s: %v", tt.name, err)
			case tt.refused != "" && !errors.Is(err, ErrNotCompiled):
				t.Errorf("compiled a schema with %s: err = %v", tt.name, err)
			case tt.refused != "" && !strings.Contains(err.Error(), tt.refused):
				t.Errorf("refusal %q does not say %q", err, tt.refused)
			}
		})
	}
}

// fieldContexts are the values whose fields the fast path judges, each in the
// shipped spec and options, with the fields it implements there.
func fieldContexts(doc *openapi3.T, options *openapi3filter.Options) []struct {
	name    string
	value   any
	allowed []string
} {
	item := doc.Paths.Find("/inventory/v1/sessions/action/send-message")
	op := item.Post
	mediaType := op.RequestBody.Value.Content.Get("application/json")
	body := mediaType.Schema.Value
	ids := body.Properties["session_ids"].Value
	return []struct {
		name    string
		value   any
		allowed []string
	}{
		{"options", options, optionsFields},
		{"path item", item, pathItemFields},
		{"operation", op, operationFields},
		{"request body", op.RequestBody.Value, requestBodyFields},
		{"media type", mediaType, mediaTypeFields},
		{"object schema", body, objectSchemaFields},
		{"string schema", body.Properties["message"].Value, stringSchemaFields},
		{"array schema", ids, arraySchemaFields},
		{"array items", ids.Items.Value, stringSchemaFields},
	}
}

// TestFastPathRefusesEveryFieldItDoesNotImplement sets, one at a time, every
// exported field of kin-openapi's types and options that the fast path does
// not implement in that place, and wants Compile to refuse it by name. So a
// field that kin-openapi adds is refused until it is thought through.
func TestFastPathRefusesEveryFieldItDoesNotImplement(t *testing.T) {
	t.Parallel()
	count := 0
	for _, c := range fieldContexts(loadSpec(t, limits{}), serverOptions()) {
		typ := reflect.TypeOf(c.value).Elem()
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() || slices.Contains(c.allowed, f.Name) {
				continue
			}
			count++
			doc, options := loadSpec(t, limits{}), serverOptions()
			var target any
			for _, again := range fieldContexts(doc, options) {
				if again.name == c.name {
					target = again.value
				}
			}
			reflect.ValueOf(target).Elem().Field(i).Set(nonZero(f.Type))
			_, err := Compile(doc, basePath, options, sendBodyTypes)
			if !errors.Is(err, ErrNotCompiled) || !strings.Contains(err.Error(), typ.Name()+"."+f.Name+" ") {
				t.Errorf("%s with %s.%s set: err = %v, want a refusal naming it", c.name, typ.Name(), f.Name, err)
			}
		}
	}
	if count < 50 {
		t.Errorf("only %d fields tried: the contexts lost their fields", count)
	}
}

// TestFieldListsNameFields keeps the lists of implemented fields true to
// kin-openapi's types: a renamed field must not stay allowed by its old name.
func TestFieldListsNameFields(t *testing.T) {
	t.Parallel()
	for _, c := range fieldContexts(loadSpec(t, limits{}), serverOptions()) {
		typ := reflect.TypeOf(c.value).Elem()
		for _, name := range c.allowed {
			if f, ok := typ.FieldByName(name); !ok || !f.IsExported() {
				t.Errorf("%s: %s has no exported field %s", c.name, typ, name)
			}
		}
	}
}

// nonZero returns a value of type t that is not zero, nor an empty slice or
// map.
func nonZero(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Pointer:
		v.Set(reflect.New(t.Elem()))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(t, 1, 1))
	case reflect.Map:
		m := reflect.MakeMapWithSize(t, 1)
		m.SetMapIndex(nonZero(t.Key()), reflect.Zero(t.Elem()))
		v.Set(m)
	case reflect.Interface:
		v.Set(reflect.ValueOf("x"))
	case reflect.Func:
		v.Set(reflect.MakeFunc(t, func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, t.NumOut())
			for i := range out {
				out[i] = reflect.Zero(t.Out(i))
			}
			return out
		}))
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				v.Field(i).Set(nonZero(t.Field(i).Type))
				break
			}
		}
	default:
		panic("nonZero: no value for " + t.String())
	}
	return v
}

// TestFastPathUsesTheValidatorOptions checks that the options reach the
// string checks as they reach the validator's.
func TestFastPathUsesTheValidatorOptions(t *testing.T) {
	t.Parallel()
	body := []byte(`{"message":"Hello","message_type":"INFO","session_ids":["a"]}`)
	withPattern := func(pattern string) *openapi3.T {
		doc := loadSpec(t, limits{})
		doc.Components.Schemas[contract.SendMessageSchema].Value.Properties["message"].Value.Pattern = pattern
		return doc
	}
	// The shipped options: the pattern refuses the body.
	if agree(t, compileSendFor(t, withPattern("^Bye"), serverOptions()), body) {
		t.Errorf("fast path accepts a message that breaks the pattern")
	}
	// Pattern checks turned off: both accept it.
	options := serverOptions()
	options.SchemaValidationOptions = append(options.SchemaValidationOptions, openapi3.DisablePatternValidation())
	if !agree(t, compileSendFor(t, withPattern("^Bye"), options), body) {
		t.Errorf("fast path declines a body that the validator accepts without pattern checks")
	}
	// A regular expression engine of one's own: both take what it says.
	// kin-openapi keeps every pattern it compiled, whoever compiled it: this
	// one is new.
	options = serverOptions()
	compiled := 0
	options.RegexCompiler = func(string) (openapi3.RegexMatcher, error) {
		compiled++
		return anything{}, nil
	}
	op := compileSendFor(t, withPattern("^Bye, from TestFastPathUsesTheValidatorOptions$"), options)
	if !agree(t, op, body) || compiled == 0 {
		t.Errorf("fast path does not match patterns with the RegexCompiler of the options (%d compiled)", compiled)
	}
}

// anything is a regular expression that matches every string.
type anything struct{}

func (anything) MatchString(string) bool { return true }

// TestFastPathRefusesWhatTheOptionsMakeUnsure checks the options that keep the
// fast path off.
func TestFastPathRefusesWhatTheOptionsMakeUnsure(t *testing.T) {
	t.Parallel()
	options := serverOptions()
	options.ExcludeRequestBody = true
	if _, err := Compile(loadSpec(t, limits{}), basePath, options, sendBodyTypes); !errors.Is(err, ErrNotCompiled) || !strings.Contains(err.Error(), "ExcludeRequestBody") {
		t.Errorf("compiled for a validator that skips bodies: err = %v", err)
	}
	options = serverOptions()
	options.AuthenticationFunc = nil
	if _, err := Compile(loadSpec(t, limits{}), basePath, options, sendBodyTypes); !errors.Is(err, ErrNotCompiled) || !strings.Contains(err.Error(), "AuthenticationFunc") {
		t.Errorf("compiled for a validator without an AuthenticationFunc: err = %v", err)
	}
	doc := loadSpec(t, limits{})
	doc.OpenAPI = "3.1.0"
	if _, err := Compile(doc, basePath, serverOptions(), sendBodyTypes); !errors.Is(err, ErrNotCompiled) || !strings.Contains(err.Error(), "3.1") {
		t.Errorf("compiled an OpenAPI 3.1 document: err = %v", err)
	}
}

// TestFastPathAgreesWithValidatorOnGeneratedBodies is the differential check
// of fast path and validator over many bodies near the valid ones.
func TestFastPathAgreesWithValidatorOnGeneratedBodies(t *testing.T) {
	t.Parallel()
	op := compileSend(t, limits{MaxMessageLength: 8, MaxSessionIDs: 4})
	rng := rand.New(rand.NewPCG(5, 2026))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	accepted := 0
	for range n {
		if agree(t, op, []byte(nearValidBody(rng))) {
			accepted++
		}
	}
	// Both outcomes must be exercised for the check to mean anything.
	if accepted < n/20 || accepted > n-n/20 {
		t.Errorf("fast path accepted %d of %d generated bodies", accepted, n)
	}
}

func FuzzFastPathAgreesWithValidator(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		f.Add([]byte(nearValidBody(rng)))
	}
	op := compileSend(f, limits{MaxMessageLength: 8, MaxSessionIDs: 4})
	f.Fuzz(func(t *testing.T, body []byte) {
		agree(t, op, body)
	})
}

// nearValidBody writes a send-message body that is often valid and otherwise
// wrong in one of the ways the fast path must not get wrong.
func nearValidBody(rng *rand.Rand) string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	// One in three is meant valid: only the mutations below that keep it so.
	valid := rng.IntN(3) == 0
	odd := func(oneIn int) bool { return !valid && rng.IntN(oneIn) == 0 }
	ws := func() string {
		switch {
		case rng.IntN(4) > 0:
			return ""
		case valid:
			return pick(" ", "\n", "\t ", "\r\n")
		}
		return pick(" ", "\n", "\t ", "\r\n", "\u00a0", "\v")
	}
	str := func() string {
		if valid {
			return pick(`"a"`, `"12345678"`, `"caf\u00e9"`, `"\ud83d\ude00"`, "\"\u00e9\U0001F600\"", `"a\"b"`, `"\/"`, `"7cdd624f"`)
		}
		return pick(`"a"`, `"INFO"`, `"ERROR"`, `"WARNING"`, `"info"`, `""`, `"12345678"`, `"123456789"`,
			`"caf\u00e9"`, "\"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\"", "\"\U0001F600\U0001F600\U0001F600\U0001F600\"",
			`"\ud83d\ude00"`, `"\ud800"`, `"\udc00x"`, "\"\xff\xfe\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xe2\x82\"", "\"a\x01\"", `"a\"b"`, `"a\\"`, `"\/"`, `"\x"`, `"\u00"`, `"7cdd624f"`)
	}
	value := func() string {
		switch rng.IntN(8) {
		case 0:
			return pick(`null`, `1`, `-0.5e3`, `true`, `{}`, `{"a":"b"}`, `[]`, `[[]]`, `01`, `nul`)
		case 1, 2, 3:
			return str()
		default:
			items := make([]string, rng.IntN(6))
			if valid {
				items = make([]string, 1+rng.IntN(4))
			}
			for i := range items {
				if odd(10) {
					items[i] = pick(`null`, `1`, `[]`, `{}`)
				} else {
					items[i] = ws() + str() + ws()
				}
			}
			trailing := ""
			if odd(20) {
				trailing = ","
			}
			return "[" + strings.Join(items, ",") + trailing + "]"
		}
	}
	// Mostly the right value for each member, sometimes any value.
	member := func(key string) string {
		var v string
		switch {
		case odd(5):
			v = value()
		case key == `"message_type"`:
			v = pick(`"INFO"`, `"ERROR"`, `"WARNING"`)
		case key == `"session_ids"`:
			for !strings.HasPrefix(v, "[") {
				v = value()
			}
		default:
			v = str()
		}
		return ws() + key + ws() + ":" + ws() + v + ws()
	}
	keys := []string{`"message"`, `"message_type"`, `"session_ids"`}
	var members []string
	for _, key := range keys {
		if !odd(15) {
			members = append(members, member(key))
		}
	}
	if odd(8) {
		members = append(members, member(pick(`"Message"`, `"MESSAGE_TYPE"`, `"session_Ids"`, `"extra"`,
			`"message"`, `"session_ids"`, `"messag\u0065"`, `"message "`, `""`, "\"x\xff\"")))
	}
	rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	body := ws() + "{" + strings.Join(members, ",") + "}" + ws()
	if odd(15) {
		body += pick("x", "}", "{}", "\x00", "null", "\xff", "\n\x00garbage")
	}
	if odd(30) {
		body = body[:rng.IntN(len(body))]
	}
	return body
}

// TestDecodedValueOutlivesTheReadBuffer reads two bodies one after the other,
// so that the second is read into the buffer the first was read into, and
// wants the first value as it was decoded.
func TestDecodedValueOutlivesTheReadBuffer(t *testing.T) {
	t.Parallel()
	op := compileSend(t, limits{})
	first := jsonRequest(t, `{"message":"first","message_type":"INFO","session_ids":["aaaa","bbbb"]}`)
	value, ok := op.Accept(first)
	if !ok {
		t.Fatal("fast path declines a plain valid body")
	}
	second := jsonRequest(t, `{"message":"other","message_type":"INFO","session_ids":["cccc","dddd"]}`)
	if _, ok := op.Accept(second); !ok {
		t.Fatal("fast path declines a plain valid body")
	}
	want := &model.SendMessageToSessionsJSONRequestBody{Message: "first", MessageType: "INFO", SessionIDs: []string{"aaaa", "bbbb"}}
	if !reflect.DeepEqual(value, want) {
		t.Errorf("first value is now %+v", value)
	}
}

// jsonRequest is a send-message request with body.
func jsonRequest(t *testing.T, body string) *http.Request {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, sendRoute[len("POST "):], strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}
