package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/hzkit/sendmessage/api"
	"github.com/hzkit/sendmessage/server"
	"github.com/hzkit/sendmessage/server/internal/docs"
)

const (
	specYAMLPath = server.BasePath + "/refserver/v1/openapi.yaml"
	specJSONPath = server.BasePath + "/refserver/v1/openapi.json"
	docsPath     = server.BasePath + "/refserver/v1/docs"
)

// getSpec fetches the served spec at path without a token and returns its
// body after checking the status and the media type.
func getSpec(t *testing.T, ts *testServer, path, mediaType string) []byte {
	t.Helper()
	resp := ts.do(t, ts.request(t, http.MethodGet, path, "", ""))
	if resp.status != http.StatusOK {
		t.Fatalf("GET %s without a token: status %d, want 200; body %s", path, resp.status, resp.body)
	}
	if got, _, err := mime.ParseMediaType(resp.header.Get("Content-Type")); err != nil || got != mediaType {
		t.Errorf("GET %s: Content-Type = %q, want %s", path, resp.header.Get("Content-Type"), mediaType)
	}
	return resp.body
}

// loadSpec parses and validates a served document.
func loadSpec(t *testing.T, text []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(text)
	if err != nil {
		t.Fatalf("the served spec does not load: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("the served spec is not valid: %v", err)
	}
	return doc
}

// plain decodes YAML or JSON text into maps, slices and scalars.
func plain(t *testing.T, text []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(text, &v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

func specBounds(doc *openapi3.T) (maxLength, maxItems uint64) {
	props := doc.Components.Schemas["SessionSendMessageSpec"].Value.Properties
	return *props["message"].Value.MaxLength, *props["session_ids"].Value.MaxItems
}

// A server with its default limits serves api/openapi.yaml: the same
// document, in the file's order.
func TestServedSpecIsTheContract(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, server.Config{})
	file, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	served := getSpec(t, ts, specYAMLPath, "application/yaml")
	if diff := cmp.Diff(asJSON(t, file), asJSON(t, loadSpec(t, served))); diff != "" {
		t.Errorf("the served YAML is not api/openapi.yaml (-file +served):\n%s", diff)
	}
	if got, want := topLevelKeys(t, served), topLevelKeys(t, api.YAML); !cmp.Equal(got, want) {
		t.Errorf("served members %q, want the file's order %q", got, want)
	}
	if got, want := pathOrder(t, served), pathOrder(t, api.YAML); !cmp.Equal(got, want) {
		t.Errorf("served paths %q, want the file's order %q", got, want)
	}
	servedJSON := getSpec(t, ts, specJSONPath, "application/json")
	if !json.Valid(servedJSON) {
		t.Fatalf("the served JSON is not JSON: %.200s", servedJSON)
	}
	if diff := cmp.Diff(plain(t, served), plain(t, servedJSON)); diff != "" {
		t.Errorf("the JSON and the YAML differ (-yaml +json):\n%s", diff)
	}
	if bytes.Contains(servedJSON, []byte(`\u003c`)) {
		t.Error("the JSON escapes < for HTML; it is served as application/json")
	}
}

// A server started with other limits serves the spec with those written in,
// in both forms, and otherwise unchanged.
func TestServedSpecHasTheServersLimits(t *testing.T) {
	t.Parallel()
	const maxLength, maxItems = 321, 7
	ts := newTestServer(t, server.Config{Limits: server.Limits{MaxMessageLength: maxLength, MaxSessionIDs: maxItems}})
	file, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, served := range []struct{ path, mediaType string }{
		{specYAMLPath, "application/yaml"},
		{specJSONPath, "application/json"},
	} {
		doc := loadSpec(t, getSpec(t, ts, served.path, served.mediaType))
		if gotLength, gotItems := specBounds(doc); gotLength != maxLength || gotItems != maxItems {
			t.Errorf("%s: maxLength %d, maxItems %d; want the server's %d and %d", served.path, gotLength, gotItems, maxLength, maxItems)
		}
		props := doc.Components.Schemas["SessionSendMessageSpec"].Value.Properties
		fileLength, fileItems := specBounds(file)
		props["message"].Value.MaxLength, props["session_ids"].Value.MaxItems = &fileLength, &fileItems
		if diff := cmp.Diff(asJSON(t, file), asJSON(t, doc)); diff != "" {
			t.Errorf("%s differs from api/openapi.yaml beyond the limits (-file +served):\n%s", served.path, diff)
		}
	}
}

// Served prose never contradicts a served limit: where the server writes a
// limit in, the schema's description names no number (the docs page renders
// this document, so it says the same).
func TestServedProseNamesNoLimitTheServerSets(t *testing.T) {
	t.Parallel()
	const maxLength, maxItems = 321, 7
	ts := newTestServer(t, server.Config{Limits: server.Limits{MaxMessageLength: maxLength, MaxSessionIDs: maxItems}})
	doc := loadSpec(t, getSpec(t, ts, specYAMLPath, "application/yaml"))
	file, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	limited := 0
	for name, ref := range doc.Components.Schemas {
		for prop, schema := range ref.Value.Properties {
			fileSchema := file.Components.Schemas[name].Value.Properties[prop].Value
			if cmp.Equal(asJSON(t, fileSchema), asJSON(t, schema.Value)) {
				continue // no limit of the server's here
			}
			limited++
			if strings.ContainsAny(schema.Value.Description, "0123456789") {
				t.Errorf("%s.%s holds a limit the server sets, and its description a number: %q", name, prop, schema.Value.Description)
			}
		}
	}
	if limited != 2 {
		t.Errorf("the server set limits in %d properties, want 2 (message and session_ids)", limited)
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// topLevelKeys lists a YAML document's top-level members in order.
func topLevelKeys(t *testing.T, text []byte) []string {
	t.Helper()
	return mappingKeys(t, text)
}

// pathOrder lists the paths of a YAML document in order.
func pathOrder(t *testing.T, text []byte) []string {
	t.Helper()
	return mappingKeys(t, text, "paths")
}

func mappingKeys(t *testing.T, text []byte, at ...string) []string {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal(text, &root); err != nil {
		t.Fatal(err)
	}
	node := root.Content[0]
	for _, name := range at {
		var next *yaml.Node
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == name {
				next = node.Content[i+1]
			}
		}
		if next == nil {
			t.Fatalf("no %s in %s", name, strings.Join(at, "."))
		}
		node = next
	}
	var keys []string
	for i := 0; i+1 < len(node.Content); i += 2 {
		keys = append(keys, node.Content[i].Value)
	}
	return keys
}

// The docs page needs no token, carries its Content-Security-Policy, and its
// script is served from the path it names.
func TestDocsPageAndScriptAreServed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, server.Config{})
	page := ts.do(t, ts.request(t, http.MethodGet, docsPath, "", ""))
	if page.status != http.StatusOK {
		t.Fatalf("GET %s: status %d; body %s", docsPath, page.status, page.body)
	}
	if got, _, _ := mime.ParseMediaType(page.header.Get("Content-Type")); got != "text/html" {
		t.Errorf("Content-Type = %q, want text/html", page.header.Get("Content-Type"))
	}
	if got := page.header.Get("Content-Security-Policy"); got != docs.ContentSecurityPolicy {
		t.Errorf("Content-Security-Policy = %q, want %q", got, docs.ContentSecurityPolicy)
	}
	if !bytes.Equal(page.body, docs.Page) {
		t.Error("the page is not docs.Page")
	}
	// The page names its script relative to itself.
	scriptPath := server.BasePath + "/refserver/v1/" + docs.ScriptPath
	script := ts.do(t, ts.request(t, http.MethodGet, scriptPath, "", ""))
	if script.status != http.StatusOK || !bytes.Equal(script.body, docs.Script) {
		t.Fatalf("GET %s: status %d, %d bytes; want 200 and the %d bytes of docs.Script", scriptPath, script.status, len(script.body), len(docs.Script))
	}
	if got, _, _ := mime.ParseMediaType(script.header.Get("Content-Type")); got != "text/javascript" {
		t.Errorf("Content-Type = %q, want text/javascript", script.header.Get("Content-Type"))
	}
}

// A person who opens the server's root, or the docs page's path with a slash
// after it, is led to the docs page.
func TestDocsPageIsFoundFromTheRoot(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, server.Config{})
	noFollow := *ts.Client()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/", http.StatusFound},
		{http.MethodHead, "/", http.StatusFound},
		{http.MethodGet, docsPath + "/", http.StatusMovedPermanently},
		{http.MethodHead, docsPath + "/", http.StatusMovedPermanently},
	} {
		resp, err := noFollow.Do(ts.request(t, tt.method, tt.path, "", ""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Location") != docsPath {
			t.Errorf("%s %s: %d, Location %q; want %d to %s", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.status, docsPath)
		}
	}
	// A browser that follows the redirect gets the page.
	resp, err := ts.Client().Do(ts.request(t, http.MethodGet, "/", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != docsPath || !bytes.Equal(body, docs.Page) {
		t.Errorf("GET / followed: %d at %s, want 200 and the page at %s", resp.StatusCode, resp.Request.URL.Path, docsPath)
	}
	srv, err := server.New(server.Config{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if srv.DocsPage() != docsPath {
		t.Errorf("DocsPage() = %q, want %q", srv.DocsPage(), docsPath)
	}
}
