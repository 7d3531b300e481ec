package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientLinksNothingOfTheServer keeps the promise that importing the
// client costs no server dependency: no echo, no OpenAPI parser, no YAML.
func TestClientLinksNothingOfTheServer(t *testing.T) {
	t.Parallel()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v\n%s", err, out)
	}
	forbidden := []string{"github.com/labstack/", "github.com/getkin/", "yaml", "golang.org/x/crypto/acme", "github.com/hzkit/sendmessage/gen/apiserver", "github.com/hzkit/sendmessage/server", "github.com/hzkit/sendmessage/api"}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list printed too little to judge: %q", out)
	}
	for _, dep := range deps {
		for _, bad := range forbidden {
			if strings.Contains(dep, bad) {
				t.Errorf("client links %s", dep)
			}
		}
	}
}
