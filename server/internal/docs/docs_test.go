package docs

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/hzkit/sendmessage/api"
)

// The policy allows the page's one inline script by its hash, and no source
// on another origin.
func TestContentSecurityPolicyAllowsThePageAndNothingElse(t *testing.T) {
	t.Parallel()
	inline := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllSubmatch(Page, -1)
	if len(inline) != 1 {
		t.Fatalf("the page has %d inline scripts, want 1", len(inline))
	}
	if want := "'" + hash(string(inline[0][1])) + "'"; !strings.Contains(ContentSecurityPolicy, want) {
		t.Errorf("policy %q does not allow the inline script (%s)", ContentSecurityPolicy, want)
	}
	for _, remote := range []string{"http:", "https:", "*"} {
		if strings.Contains(ContentSecurityPolicy, remote) {
			t.Errorf("policy %q allows %s", ContentSecurityPolicy, remote)
		}
	}
	if !bytes.Contains(Page, []byte(`<script src="`+ScriptPath+`">`)) {
		t.Errorf("the page does not load %s", ScriptPath)
	}
}

// The embedded script is the build of internal/docsbundle, which loads
// nothing from Redocly's servers.
func TestScriptIsTheBuild(t *testing.T) {
	t.Parallel()
	if !bytes.HasPrefix(Script, []byte("/*! redoc ")) {
		t.Errorf("the script does not start with the build's header: %.80q", Script)
	}
	if bytes.Contains(Script, []byte(`src:"https://cdn.redoc.ly/`)) {
		t.Error("the script still loads an image from cdn.redoc.ly")
	}
}

// The page shows extensions that the spec uses, by their names.
func TestShownExtensionsAreTheSpecs(t *testing.T) {
	t.Parallel()
	for _, name := range ShownExtensions {
		if !bytes.Contains(api.YAML, []byte(name+":")) {
			t.Errorf("the page shows %s, which api/openapi.yaml does not use", name)
		}
		if !strings.Contains(string(Page), `"`+name+`"`) {
			t.Errorf("the page's script does not ask Redoc to show %s", name)
		}
	}
}
