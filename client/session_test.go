package client_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hzkit/sendmessage/client"
)

// enumTwins pairs each enum type of the client with the type generated from
// the same enum of the spec.
var enumTwins = map[string]string{
	"MessageType":     "SessionSendMessageSpecMessageType",
	"SessionState":    "SessionInfoSessionState",
	"SessionType":     "SessionInfoSessionType",
	"SessionProtocol": "SessionInfoSessionProtocol",
	"DeviceType":      "ClientDataType",
	"GatewayLocation": "SecurityGatewayDataLocation",
}

// TestEnumConstantsAreTheGenerated holds the client's enum constants, whose
// values are written out so that go doc shows them, to the constants that
// go generate wrote from the spec: the same values, none missing, none
// extra. It reads both from their source.
func TestEnumConstantsAreTheGenerated(t *testing.T) {
	t.Parallel()
	ours := stringConstants(t, ".")
	generated := stringConstants(t, filepath.Join("..", "gen", "model"))
	for clientType, genType := range enumTwins {
		got, want := slices.Sorted(maps.Keys(ours[clientType])), slices.Sorted(maps.Keys(generated[genType]))
		if len(want) == 0 {
			t.Errorf("gen/model has no constants of type %s: update enumTwins", genType)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("constants of client.%s differ from those of model.%s (-generated +client):\n%s", clientType, genType, diff)
		}
	}
	for typ := range ours {
		if _, ok := enumTwins[typ]; !ok {
			t.Errorf("client.%s has string constants but no twin in gen/model: add it to enumTwins", typ)
		}
	}
}

// stringConstants reads the typed string constants declared in the Go files
// (tests left out) of dir: type name -> value -> constant name.
func stringConstants(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	consts, _ := parseStringConstants(t, dir)
	return consts
}

// parseStringConstants is stringConstants, and the names of those declared
// in a parenthesised group.
func parseStringConstants(t *testing.T, dir string) (map[string]map[string]string, []string) {
	t.Helper()
	var grouped []string
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	out := map[string]map[string]string{}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				value, ok := spec.(*ast.ValueSpec)
				if !ok {
					t.Fatalf("%s: a const declaration holds a %T", file, spec)
				}
				names := addStringConstant(t, out, value)
				if gen.Lparen.IsValid() {
					grouped = append(grouped, names...)
				}
			}
		}
	}
	return out, grouped
}

// addStringConstant adds the typed string constants of spec to out and
// returns their names.
func addStringConstant(t *testing.T, out map[string]map[string]string, spec *ast.ValueSpec) []string {
	t.Helper()
	typ, ok := spec.Type.(*ast.Ident)
	if !ok || len(spec.Values) != len(spec.Names) {
		return nil
	}
	var names []string
	for i, v := range spec.Values {
		lit, ok := v.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			continue
		}
		value, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		if out[typ.Name] == nil {
			out[typ.Name] = map[string]string{}
		}
		out[typ.Name][value] = spec.Names[i].Name
		names = append(names, spec.Names[i].Name)
	}
	return names
}

// go doc shows every constant of a type only when each is declared on its
// own: of a group, it shows the first and "...".
func TestEnumConstantsAreDeclaredOneByOne(t *testing.T) {
	t.Parallel()
	if _, grouped := parseStringConstants(t, "."); len(grouped) > 0 {
		t.Errorf("declared in a const ( ... ) group, which go doc shows as its first and \"...\": %v", grouped)
	}
}

func TestEnumValuesAreValid(t *testing.T) {
	t.Parallel()
	valid := map[string]func(string) bool{
		"MessageType":     func(v string) bool { return client.MessageType(v).Valid() },
		"SessionState":    func(v string) bool { return client.SessionState(v).Valid() },
		"SessionType":     func(v string) bool { return client.SessionType(v).Valid() },
		"SessionProtocol": func(v string) bool { return client.SessionProtocol(v).Valid() },
		"DeviceType":      func(v string) bool { return client.DeviceType(v).Valid() },
		"GatewayLocation": func(v string) bool { return client.GatewayLocation(v).Valid() },
	}
	for typ, values := range stringConstants(t, ".") {
		for value, name := range values {
			if !valid[typ](value) {
				t.Errorf("client.%s = %q: Valid() = false", name, value)
			}
		}
	}
}

func TestEnumsRefuseOtherValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		valid bool
	}{
		{"a state in lower case", client.SessionState("connected").Valid()},
		{"no state", client.SessionState("").Valid()},
		{"an unknown session type", client.SessionType("KIOSK").Valid()},
		{"a protocol in mixed case", client.SessionProtocol("PCoIP").Valid()},
		{"a message type in lower case", client.MessageType("info").Valid()},
		{"a device type as Go would spell it", client.DeviceType("HTMLAccess").Valid()},
		{"an unknown gateway location", client.GatewayLocation("DMZ").Valid()},
	}
	for _, tt := range tests {
		if tt.valid {
			t.Errorf("%s: Valid() = true, want false", tt.name)
		}
	}
}
