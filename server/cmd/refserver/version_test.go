package main

import (
	"bytes"
	"testing"

	"github.com/hzkit/sendmessage/api"
)

// -version prints the embedded spec's info.version and the Horizon API
// version it follows, and starts nothing.
func TestRunVersion(t *testing.T) {
	t.Parallel()
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	horizon, _ := doc.Info.Extensions["x-horizon-api-version"].(string)
	var stdout, stderr bytes.Buffer
	// An address that cannot be listened on: -version must not try.
	if err := run(t.Context(), []string{"-version", "-addr", "256.0.0.1:1"}, envFunc(nil), &stdout, &stderr); err != nil {
		t.Fatalf("run -version: %v; stderr %s", err, stderr.String())
	}
	want := "refserver: contract " + doc.Info.Version + " (Horizon API " + horizon + ")\n"
	if stdout.String() != want {
		t.Errorf("stdout = %q, want %q", stdout.String(), want)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want nothing", stderr.String())
	}
}

// -version has no environment variable: REFSERVER_VERSION does not turn a
// start into a version query.
func TestVersionHasNoEnvironmentVariable(t *testing.T) {
	t.Parallel()
	o, err := parseOptions(nil, envFunc(map[string]string{envName(versionFlag): "true"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.version {
		t.Errorf("%s=true set -version", envName(versionFlag))
	}
}
