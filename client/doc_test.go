package client_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The package documentation's example is the body of warnPool, which
// compiles, runs in ExampleLogin and is linted: copied from go doc, it works.
func TestPackageDocIsWarnPool(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	doc, err := parser.ParseFile(fset, "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	var code []string
	for line := range strings.Lines(doc.Doc.Text()) {
		if rest, ok := strings.CutPrefix(line, "\t"); ok {
			code = append(code, strings.TrimRight(rest, "\n"))
		} else if len(code) > 0 && strings.TrimSpace(line) != "" {
			break // the first code block ends at the next paragraph
		} else if len(code) > 0 {
			code = append(code, "")
		}
	}
	for len(code) > 0 && code[len(code)-1] == "" {
		code = code[:len(code)-1]
	}
	if len(code) < 10 {
		t.Fatalf("the package documentation has no code block of some length: %q", code)
	}
	if diff := cmp.Diff(functionBody(t, "example_login_test.go", "warnPool"), code); diff != "" {
		t.Errorf("the package documentation's example is not warnPool's body (-warnPool +doc.go):\n%s", diff)
	}
}

// functionBody returns the lines of the body of the named function in file,
// one tab of indentation off, without the final "return nil".
func functionBody(t *testing.T, file, name string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Name.Name != name {
			continue
		}
		body := string(src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset])
		var lines []string
		for line := range strings.Lines(strings.Trim(body, "\n")) {
			lines = append(lines, strings.TrimPrefix(strings.TrimRight(line, "\n"), "\t"))
		}
		if n := len(lines); n > 0 && lines[n-1] == "return nil" {
			lines = lines[:n-1]
		}
		return lines
	}
	t.Fatalf("%s has no function %s", file, name)
	return nil
}
