package contract

import (
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/api"
)

// The document served is the spec the server enforces: what ApplyLimits
// changes in the parsed spec, and nothing else, is set in the file's tree.
func TestDocumentIsTheEnforcedSpec(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name                string
		maxLength, maxItems int
	}{{"defaults", 0, 0}, {"other limits", 321, 7}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := Load()
			if err != nil {
				t.Fatal(err)
			}
			_, _, limits, err := ApplyLimits(doc, tt.maxLength, tt.maxItems)
			if err != nil {
				t.Fatal(err)
			}
			yamlText, jsonText, err := Document(limits)
			if err != nil {
				t.Fatal(err)
			}
			if tt.maxLength == 0 && string(yamlText) != string(api.YAML) {
				t.Error("with the spec's own limits, the YAML served is not the file")
			}
			for name, text := range map[string][]byte{"YAML": yamlText, "JSON": jsonText} {
				served, err := openapi3.NewLoader().LoadFromData(text)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if diff := cmp.Diff(jsonOf(t, doc), jsonOf(t, served)); diff != "" {
					t.Errorf("%s served is not the enforced spec (-enforced +served):\n%s", name, diff)
				}
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
