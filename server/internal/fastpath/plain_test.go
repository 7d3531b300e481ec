package fastpath

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// plainString says of every string what Schema.VisitJSON says, for every
// schema it takes on.
func TestPlainStringIsVisitJSON(t *testing.T) {
	t.Parallel()
	n := func(v uint64) *uint64 { return &v }
	schemas := []*openapi3.Schema{
		{MinLength: 1},
		{MaxLength: n(3)},
		{MinLength: 2, MaxLength: n(2)},
		{MaxLength: n(0)},
		{Enum: []any{"INFO", "WARNING", "ERROR"}},
		{Enum: []any{"a", 1.0, true, nil}},
		{Enum: []any{1.0, 2.0}},
		{Enum: []any{"ab", "é"}, MinLength: 2},
	}
	values := []string{"", "a", "ab", "abc", "abcd", "é", "éé", "日本語", "😀", "😀😀", "INFO", "info", "WARNING ", "\u0000", "a\ufffdb", "\xff"}
	for i, schema := range schemas {
		schema.Type = &openapi3.Types{openapi3.TypeString}
		plain := newPlainString(schema)
		if plain == nil {
			t.Fatalf("schema %d: not taken on", i)
		}
		for _, v := range values {
			if got, want := plain.valid(v), schema.VisitJSON(v) == nil; got != want {
				t.Errorf("schema %d, %q: plain says %v, VisitJSON %v", i, v, got, want)
			}
		}
	}
	if newPlainString(&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Pattern: "^a"}) != nil {
		t.Error("a pattern is taken on: it is VisitJSON's")
	}
}
