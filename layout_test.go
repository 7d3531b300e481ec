package sendmessage_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestNoPackageImportsOneAboveIt keeps the layout honest: a package under
// server/internal/ may not reach back into server/, nor any package into a
// parent of its own folder, and only the contract tests here import both the
// client and the server. Commands (cmd/) are the exception by design: each is
// built on the public API of the package it sits in. So is server/refservertest,
// which is to the server what net/http/httptest is to net/http: it serves the
// server's public API and hands tests a client logged in to it.
func TestNoPackageImportsOneAboveIt(t *testing.T) {
	t.Parallel()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/hzkit/sendmessage"
	const testServer = module + "/server/refservertest"
	dec := json.NewDecoder(strings.NewReader(string(out)))
	packages := 0
	for {
		var pkg struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&pkg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		packages++
		imports := map[string]bool{}
		for _, imp := range pkg.Imports {
			imports[imp] = true
			command := strings.HasPrefix(pkg.ImportPath, imp+"/cmd/")
			builtOn := pkg.ImportPath == testServer && imp == module+"/server"
			if imp != module && !command && !builtOn && strings.HasPrefix(pkg.ImportPath, imp+"/") {
				t.Errorf("%s imports %s, a package above it", pkg.ImportPath, imp)
			}
		}
		if imports[module+"/client"] && imports[module+"/server"] && pkg.ImportPath != testServer {
			t.Errorf("%s imports both the client and the server; only the contract tests and server/refservertest may", pkg.ImportPath)
		}
	}
	if packages < 10 {
		t.Fatalf("go list listed %d packages; the check means nothing", packages)
	}
}
