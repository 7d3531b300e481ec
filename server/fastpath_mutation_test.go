package server_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

// specMutation changes the send-message body schema of the spec a server
// enforces. want says what the fast path does with it: "refused" (it does not
// compile, and says which field stopped it) or "agreed" (it compiles and must
// answer as the validator).
type specMutation struct {
	name   string
	change func(body *openapi3.Schema)
	want   string
	// reason is a fragment of the refusal, naming what stopped it.
	reason string
	// bites says that the change makes some body of the corpus invalid that
	// the shipped spec takes: without one the agreement proves little.
	bites bool
}

// property is a property of the shipped body schema.
func property(body *openapi3.Schema, name string) *openapi3.Schema {
	return body.Properties[name].Value
}

func newProperty(name string, required bool, schema *openapi3.Schema) func(*openapi3.Schema) {
	return func(body *openapi3.Schema) {
		body.Properties[name] = &openapi3.SchemaRef{Value: schema}
		if required {
			body.Required = append(body.Required, name)
		}
	}
}

func typed(typ string) *openapi3.Schema { return &openapi3.Schema{Type: &openapi3.Types{typ}} }

var specMutations = []specMutation{
	{name: "readOnly type", want: "refused", reason: "ReadOnly", change: func(b *openapi3.Schema) {
		property(b, "message_type").ReadOnly = true
	}},
	{name: "writeOnly message", want: "refused", reason: "WriteOnly", change: func(b *openapi3.Schema) {
		property(b, "message").WriteOnly = true
	}},
	{name: "pattern on the message", want: "agreed", bites: true, change: func(b *openapi3.Schema) {
		property(b, "message").Pattern = `^[A-Za-z !]+$`
	}},
	{name: "pattern on the ids", want: "agreed", bites: true, change: func(b *openapi3.Schema) {
		property(b, "session_ids").Items.Value.Pattern = `^[0-9]{1,4}(-[0-9]{4})?$`
	}},
	{name: "format of the ids", want: "refused", reason: "Format", change: func(b *openapi3.Schema) {
		property(b, "session_ids").Items.Value.Format = "uuid"
	}},
	{name: "format of the message", want: "refused", reason: "Format", change: func(b *openapi3.Schema) {
		property(b, "message").Format = "date-time"
	}},
	{name: "enum without ERROR", want: "agreed", bites: true, change: func(b *openapi3.Schema) {
		property(b, "message_type").Enum = []any{"WARNING", "INFO"}
	}},
	{name: "enum on the message", want: "agreed", bites: true, change: func(b *openapi3.Schema) {
		property(b, "message").Enum = []any{"Hello", "Hello world"}
	}},
	{name: "maxLength 5", want: "agreed", bites: true, change: func(b *openapi3.Schema) {
		n := uint64(5)
		property(b, "message").MaxLength = &n
	}},
	{name: "minLength 3", want: "agreed", bites: true, change: func(b *openapi3.Schema) {
		property(b, "message").MinLength = 3
	}},
	{name: "maxLength of the ids", want: "agreed", bites: true, change: func(b *openapi3.Schema) {
		n := uint64(10)
		property(b, "session_ids").Items.Value.MaxLength = &n
	}},
	{name: "minItems 2, maxItems 3", want: "agreed", bites: true, change: func(b *openapi3.Schema) {
		n := uint64(3)
		ids := property(b, "session_ids")
		ids.MinItems, ids.MaxItems = 2, &n
	}},
	{name: "uniqueItems", want: "refused", reason: "UniqueItems", change: func(b *openapi3.Schema) {
		property(b, "session_ids").UniqueItems = true
	}},
	{name: "nullable message", want: "refused", reason: "Nullable", change: func(b *openapi3.Schema) {
		property(b, "message").Nullable = true
	}},
	{name: "additionalProperties false", want: "agreed", bites: true, change: func(b *openapi3.Schema) {
		no := false
		b.AdditionalProperties.Has = &no
	}},
	{name: "additionalProperties a schema", want: "agreed", bites: true, change: func(b *openapi3.Schema) {
		b.AdditionalProperties.Schema = &openapi3.SchemaRef{Value: typed(openapi3.TypeString)}
	}},
	{name: "an extension that means something", want: "refused", reason: "extension x-refuse-unknown-fields", change: func(b *openapi3.Schema) {
		b.Extensions = map[string]any{"x-refuse-unknown-fields": true}
	}},
	{name: "an extension of a property", want: "refused", reason: "extension x-masked", change: func(b *openapi3.Schema) {
		property(b, "message").Extensions = map[string]any{"x-masked": true}
	}},
	{name: "a pattern's message", want: "agreed", bites: true, change: func(b *openapi3.Schema) {
		property(b, "message").Pattern = `^[A-Za-z !]+$`
		property(b, "message").Extensions = map[string]any{"x-pattern-message": "letters only"}
	}},
	{name: "new required string", want: "refused", reason: `"priority"`, change: newProperty("priority", true, typed(openapi3.TypeString))},
	{name: "new optional string", want: "refused", reason: `optional property "note"`, change: newProperty("note", false, typed(openapi3.TypeString))},
	{name: "new optional number", want: "refused", reason: `optional property "ratio"`, change: newProperty("ratio", false, typed(openapi3.TypeNumber))},
	{name: "new optional integer", want: "refused", reason: `optional property "count"`, change: newProperty("count", false, typed(openapi3.TypeInteger))},
	{name: "new optional boolean", want: "refused", reason: `optional property "urgent"`, change: newProperty("urgent", false, typed(openapi3.TypeBoolean))},
	{name: "new optional array", want: "refused", reason: `optional property "tags"`, change: newProperty("tags", false,
		&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeArray}, Items: &openapi3.SchemaRef{Value: typed(openapi3.TypeString)}})},
	{name: "new optional object", want: "refused", reason: `optional property "meta"`, change: newProperty("meta", false, typed(openapi3.TypeObject))},
	{name: "oneOf on the message", want: "refused", reason: "OneOf", change: func(b *openapi3.Schema) {
		n := uint64(3)
		property(b, "message").OneOf = openapi3.SchemaRefs{{Value: &openapi3.Schema{MaxLength: &n}}, {Value: &openapi3.Schema{Pattern: "^H"}}}
	}},
	{name: "default type", want: "refused", reason: "Default", change: func(b *openapi3.Schema) {
		property(b, "message_type").Default = "INFO"
	}},
	{name: "message an integer", want: "refused", reason: "integer", change: func(b *openapi3.Schema) {
		property(b, "message").Type = &openapi3.Types{openapi3.TypeInteger}
	}},
	{name: "minProperties", want: "refused", reason: "MinProps", change: func(b *openapi3.Schema) {
		b.MinProps = 4
	}},
	{name: "documentation only", want: "agreed", change: func(b *openapi3.Schema) {
		m := property(b, "message")
		m.Title, m.Description, m.Deprecated = "Text", "What the user reads.", true
		b.ExternalDocs = &openapi3.ExternalDocs{URL: "https://example.com/doc"}
	}},
}

// mutationCorpus holds bodies valid for the shipped spec, bodies that some
// mutation makes invalid, and near misses, by name.
func mutationCorpus() map[string]string {
	body := func(message, messageType any, extra string, ids ...string) string {
		var members []string
		if message != nil {
			members = append(members, fmt.Sprintf(`"message":%s`, message))
		}
		if messageType != nil {
			members = append(members, fmt.Sprintf(`"message_type":%s`, messageType))
		}
		members = append(members, `"session_ids":["`+strings.Join(ids, `","`)+`"]`)
		if extra != "" {
			members = append(members, extra)
		}
		return "{" + strings.Join(members, ",") + "}"
	}
	return map[string]string{
		"plain":                 body(`"Hello"`, `"INFO"`, "", idConnected),
		"two words":             body(`"Hello world"`, `"WARNING"`, "", idConnected, idConnected2),
		"error type, three ids": body(`"Hello world"`, `"ERROR"`, "", idConnected, idConnected2, idNoUser),
		"four ids":              body(`"Hello"`, `"INFO"`, "", idConnected, idConnected2, idNoUser, idDisconnected),
		"same id twice":         body(`"Hello"`, `"INFO"`, "", idConnected, idConnected),
		"digits":                body(`"abc123"`, `"INFO"`, "", idConnected),
		"short":                 body(`"Hi"`, `"INFO"`, "", idConnected),
		"exclamation":           body(`"Hello!"`, `"WARNING"`, "", idConnected),
		"non-ASCII":             body(`"caf\u00e9 `+"\u00e9"+`"`, `"INFO"`, "", idConnected),
		"short ids":             body(`"Hello"`, `"INFO"`, "", "0123-4567", "89"),
		"date-time message":     body(`"2019-07-01T00:00:00Z"`, `"INFO"`, "", idConnected),
		"empty message":         body(`""`, `"INFO"`, "", idConnected),
		"null message":          body(`null`, `"INFO"`, "", idConnected),
		"numeric message":       body(`7`, `"INFO"`, "", idConnected),
		"lower-case type":       body(`"Hello"`, `"info"`, "", idConnected),
		"unknown type":          body(`"Hello"`, `"DEBUG"`, "", idConnected),
		"no type":               body(`"Hello"`, nil, "", idConnected),
		"no message":            body(nil, `"INFO"`, "", idConnected),
		"no ids":                `{"message":"Hello","message_type":"INFO","session_ids":[]}`,
		"id a number":           `{"message":"Hello","message_type":"INFO","session_ids":["` + idConnected + `",7]}`,
		"with note":             body(`"Hello"`, `"INFO"`, `"note":"x"`, idConnected),
		"with count":            body(`"Hello"`, `"INFO"`, `"count":3`, idConnected),
		"with ratio":            body(`"Hello"`, `"INFO"`, `"ratio":1.5`, idConnected),
		"with urgent":           body(`"Hello"`, `"INFO"`, `"urgent":true`, idConnected),
		"with tags":             body(`"Hello"`, `"INFO"`, `"tags":["a"]`, idConnected),
		"with meta":             body(`"Hello"`, `"INFO"`, `"meta":{"k":"v"}`, idConnected),
		"with priority":         body(`"Hello"`, `"INFO"`, `"priority":"high"`, idConnected),
		"with null extra":       body(`"Hello"`, `"INFO"`, `"note":null`, idConnected),
		"duplicate type":        `{"message":"Hello","message_type":"ERROR","message_type":"INFO","session_ids":["` + idConnected + `"]}`,
		"trailing data":         body(`"Hello"`, `"INFO"`, "", idConnected) + ` {}`,
	}
}

// TestFastPathFollowsSpecMutations changes the send-message body schema in
// ways a spec may change, and wants each change either refused by the fast
// path (which then stays off and says why) or answered by it exactly as by
// the validator: status, headers but the request id, body, and record, on
// every body of the corpus.
func TestFastPathFollowsSpecMutations(t *testing.T) {
	t.Parallel()
	corpus := mutationCorpus()
	shipped := mutationAnswers(t, nil, corpus)
	var mu sync.Mutex
	outcomes := map[string]int{}
	// Cleanup runs once the parallel subtests are done.
	t.Cleanup(func() {
		if outcomes["refused"] == 0 || outcomes["agreed"] == 0 {
			t.Errorf("outcomes %v: both must occur", outcomes)
		}
	})
	for _, m := range specMutations {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			outcome := checkMutation(t, m, corpus, shipped)
			mu.Lock()
			outcomes[outcome]++
			mu.Unlock()
		})
	}
}

// checkMutation builds servers for the spec with m and returns what the fast
// path did with it: "refused" or "agreed".
func checkMutation(t *testing.T, m specMutation, corpus map[string]string, shipped mutationResult) string {
	t.Helper()
	change := func(doc *openapi3.T) { m.change(doc.Components.Schemas["SessionSendMessageSpec"].Value) }
	answers := mutationAnswers(t, change, corpus)
	outcome := "agreed"
	if !answers.fast.Active {
		outcome = "refused"
		reason := ""
		if answers.fast.Reason != nil {
			reason = *answers.fast.Reason
		}
		if m.reason == "" || !strings.Contains(reason, m.reason) {
			t.Errorf("fast path refused, but the reason %q does not name %q", reason, m.reason)
		}
		t.Logf("refused: %s", reason)
	} else {
		differ := 0
		for name := range corpus {
			if diff := cmp.Diff(answers.slow[name], answers.fastAnswers[name]); diff != "" {
				differ++
				t.Errorf("body %q: answer (-validator +fast path):\n%s", name, diff)
			}
		}
		t.Logf("agreed on %d of %d bodies (%d valid, %d taken by the fast path)", len(corpus)-differ, len(corpus), answers.accepted, answers.fastTaken)
		if answers.fastTaken == 0 {
			t.Errorf("the fast path took none of the bodies: agreement proves nothing")
		}
	}
	if outcome != m.want {
		t.Errorf("fast path %s the change, want %s", outcome, m.want)
	}
	if m.bites {
		bitten := 0
		for name, a := range answers.slow {
			if strings.HasPrefix(shipped.slow[name], "OK\n") && strings.HasPrefix(a, "Bad Request\n") {
				bitten++
			}
		}
		if bitten == 0 {
			t.Errorf("no body of the corpus that the shipped spec takes is refused after the change")
		}
	}
	return outcome
}

// mutationResult is what a server with the fast path and one without
// answered to each body of a corpus, for one spec.
type mutationResult struct {
	fast        model.FastPathStatus
	fastAnswers map[string]string
	slow        map[string]string
	accepted    int // bodies answered 200 by the validator
	fastTaken   int // bodies whose value the fast path handed over
}

// mutationAnswers builds two servers from the spec that change makes, one
// with the fast path and one without, and sends each body of corpus to both.
func mutationAnswers(t *testing.T, change func(*openapi3.T), corpus map[string]string) mutationResult {
	t.Helper()
	res := mutationResult{fastAnswers: map[string]string{}, slow: map[string]string{}}
	for i, cfg := range []server.Config{{}, server.WithoutFastPath(server.Config{})} {
		store := server.NewMemoryStore(testSessions())
		cfg.Token, cfg.Store, cfg.Now = testToken, store, newFakeClock().Now
		if change != nil {
			cfg = server.WithSpecChange(cfg, change)
		}
		srv, err := server.New(cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		taken := server.CountFastPathBinds(srv)
		answers := res.fastAnswers
		if i == 0 {
			res.fast = srv.FastPath()
		} else {
			answers = res.slow
		}
		// In one order for both: the record numbers deliveries.
		for _, name := range slices.Sorted(maps.Keys(corpus)) {
			body := corpus[name]
			a := answer(t, srv, http.MethodPost, sendPath, "", "", strings.NewReader(body), int64(len(body)))
			// The record too: what the handler got is what it recorded.
			record, err := json.Marshal(store.Messages(""))
			if err != nil {
				t.Fatal(err)
			}
			answers[name] = a + "\nrecord: " + string(record)
			store.ClearMessages()
			if i == 1 && strings.HasPrefix(a, "OK\n") {
				res.accepted++
			}
		}
		if i == 0 {
			res.fastTaken = int(taken.Load())
		} else if taken.Load() != 0 {
			t.Errorf("the server without the fast path handed over %d fast path values", taken.Load())
		}
	}
	return res
}
