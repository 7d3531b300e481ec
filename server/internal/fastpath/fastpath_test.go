package fastpath

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/go-cmp/cmp"

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

// compileSend compiles the send-message operation of the spec with limits.
func compileSend(t testing.TB, lim limits) *fastOperation {
	t.Helper()
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := contract.ApplyLimits(doc, lim.MaxMessageLength, lim.MaxSessionIDs); err != nil {
		t.Fatal(err)
	}
	fast, err := Compile(doc, basePath, func(context.Context, *openapi3filter.AuthenticationInput) error { return nil }, sendBodyTypes)
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
func viaValidator(t testing.TB, op *fastOperation, body []byte) (model.SessionSendMessageSpec, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://127.0.0.1"+basePath+op.route.Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	input := &openapi3filter.RequestValidationInput{Request: req, Route: op.route, Options: &openapi3filter.Options{KeepValidatedValue: true}}
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
	if err := bindJSONValue(kept.ValidatedValue(), &spec); err != nil {
		return spec, fmt.Errorf("bind: %w", err)
	}
	return spec, nil
}

// viaFastPath is the fast path's decode; ok false means "not sure".
func viaFastPath(op *fastOperation, body []byte) (model.SessionSendMessageSpec, bool) {
	v := reflect.New(op.body.goType)
	ok := op.body.decode(string(body), v.Elem())
	spec, _ := v.Interface().(*model.SessionSendMessageSpec)
	return *spec, ok
}

// agree fails t when the fast path accepts body and the validator does not,
// or binds another value.
func agree(t *testing.T, op *fastOperation, body []byte) (fastAccepted bool) {
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
		`{` + ok + `,"extra":1}`,
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

func TestFastPathCompilesOnlyWhatItImplements(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*openapi3.Schema)
	}{
		{"closed object", func(s *openapi3.Schema) { no := false; s.AdditionalProperties.Has = &no }},
		{"optional property", func(s *openapi3.Schema) { s.Required = s.Required[1:] }},
		{"minProperties", func(s *openapi3.Schema) { s.MinProps = 1 }},
		{"uniqueItems", func(s *openapi3.Schema) { s.Properties["session_ids"].Value.UniqueItems = true }},
		{"nullable string", func(s *openapi3.Schema) { s.Properties["message"].Value.Nullable = true }},
		{"default", func(s *openapi3.Schema) { s.Properties["message_type"].Value.Default = "INFO" }},
		{"number property", func(s *openapi3.Schema) {
			s.Properties["message"].Value.Type = &openapi3.Types{openapi3.TypeNumber}
		}},
		{"allOf", func(s *openapi3.Schema) { s.AllOf = openapi3.SchemaRefs{{Value: &openapi3.Schema{}}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := contract.Load()
			if err != nil {
				t.Fatal(err)
			}
			tt.change(doc.Components.Schemas[contract.SendMessageSchema].Value)
			_, err = Compile(doc, basePath, nil, sendBodyTypes)
			if !errors.Is(err, ErrNotCompiled) {
				t.Errorf("compiled a schema with %s: err = %v", tt.name, err)
			}
		})
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
