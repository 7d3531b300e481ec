package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/api"
)

// The shipped spec's SessionFieldName is what go generate writes: a field
// added to SessionInfo, or an x-filters changed, without go generate fails
// here.
func TestShippedEnumIsCurrent(t *testing.T) {
	t.Parallel()
	got, err := Rewrite(api.YAML)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, api.YAML) {
		t.Fatalf("api/openapi.yaml: SessionFieldName.enum is stale: run go generate ./...\n%s", cmp.Diff(string(api.YAML), string(got)))
	}
}

const spec = `openapi: 3.0.3
components:
  schemas:
    SessionFieldName:
      type: string
      enum:
        - stale
      example: id
    SessionInfo:
      type: object
      properties:
        id:
          type: string
          x-filters: [Equals]
        tags:
          type: array
          items: {type: string}
          x-filters: [Contains]
        hidden:
          type: string
          x-filters: []
        client:
          $ref: "#/components/schemas/Client"
        inline:
          type: object
          properties:
            deep:
              type: integer
              x-filters: [Equals]
    Client:
      type: object
      properties:
        kind:
          type: string
          x-filters: [Equals, NotEquals]
`

// Rewrite writes the fields that take a filter, nested ones after a dot, in
// the spec's order, and changes nothing else.
func TestRewrite(t *testing.T) {
	t.Parallel()
	got, err := Rewrite([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(spec, "        - stale\n", "        - id\n        - tags\n        - client.kind\n        - inline.deep\n", 1)
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Rewrite (-want +got):\n%s", diff)
	}
	again, err := Rewrite(got)
	if err != nil || !bytes.Equal(again, got) {
		t.Errorf("a second Rewrite changed the text (%v)", err)
	}
}

func TestRewriteRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, old, new, want string }{
		{"a field that does not say", "          x-filters: []\n", "", "field hidden says no x-filters"},
		{"a nested field that does not say", "          x-filters: [Equals, NotEquals]\n", "", "field client.kind says no x-filters"},
		{"x-filters not a list", "          x-filters: []\n", "          x-filters: Equals\n", "field hidden: x-filters is not a list"},
		{"an enum in flow style", "      enum:\n        - stale\n", "      enum: [stale]\n", "no enum written as a block list"},
		{"no enum", "      enum:\n        - stale\n", "", "no enum written as a block list"},
		{"a $ref elsewhere", `$ref: "#/components/schemas/Client"`, `$ref: "other.yaml#/Client"`, `field client: $ref "other.yaml#/Client" is not a component schema`},
	} {
		changed := strings.Replace(spec, tt.old, tt.new, 1)
		if changed == spec {
			t.Fatalf("%s: the change does not apply", tt.name)
		}
		if _, err := Rewrite([]byte(changed)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Rewrite = %v, want an error that says %q", tt.name, err, tt.want)
		}
	}
}

// The command writes the file, and with -check fails on a stale one without
// writing it.
func TestRunChecksAndWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "openapi.yaml")
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if err := run([]string{"-spec", path, "-check"}, &stderr); err == nil || !strings.Contains(err.Error(), "go generate ./... writes it anew") {
		t.Errorf("-check on a stale enum: %v, want an error that says go generate writes it", err)
	}
	if text, _ := os.ReadFile(path); string(text) != spec {
		t.Error("-check wrote the file")
	}
	if err := run([]string{"-spec", path}, &stderr); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-spec", path, "-check"}, &stderr); err != nil {
		t.Errorf("-check after writing: %v", err)
	}
}
