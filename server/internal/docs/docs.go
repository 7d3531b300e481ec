// Package docs is the reference server's docs page: Redoc, carried by the
// server, rendering the spec the server serves.
package docs

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"strings"
)

// Script is redoc's standalone bundle as internal/docsbundle built it from
// the npm package that package.json pins.
//
//go:embed redoc/redoc.standalone.js
var Script []byte

// Where the page finds the bundle and the spec, relative to the page
// (…/refserver/v1/docs).
const (
	ScriptPath = "docs/redoc.standalone.js"
	specPath   = "openapi.json"
)

// ShownExtensions are the spec's extensions that the page shows beside the
// fields and parameters that carry them: rules of the contract that OpenAPI
// 3.0 cannot say (which filter types a field takes, which query parameter
// needs which).
var ShownExtensions = []string{"x-filters", "x-requires"}

// initScript renders the spec into the page and says, in the element's
// data-state, when it is done: "ready", or "failed" with the reason on the
// console.
var initScript = `
(function () {
  var root = document.getElementById("redoc");
  Redoc.init(` + "\"" + specPath + "\"" + `, {
    expandResponses: "200",
    requiredPropsFirst: true,
    hideHostname: true,
    showExtensions: ["` + strings.Join(ShownExtensions, `", "`) + `"]
  }, root, function (error) {
    if (error) {
      console.error("docs: the spec did not render:", error);
    }
    root.setAttribute("data-state", error ? "failed" : "ready");
  });
})();
`

// Page is the HTML of the docs page.
var Page = []byte(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Horizon Send Message To Sessions: the contract</title>
<link rel="icon" href="data:,">
<style>body { margin: 0; }</style>
</head>
<body>
<div id="redoc" data-state="loading"></div>
<script src="` + ScriptPath + `"></script>
<script>` + initScript + `</script>
</body>
</html>
`)

// ContentSecurityPolicy is the page's policy: the page loads its script and
// its spec from the server and nothing from anywhere else, so it works with no
// network and a browser refuses (and reports) any attempt to reach out.
// Redoc needs inline styles (styled-components), a blob: worker for its
// search, and data: images.
var ContentSecurityPolicy = strings.Join([]string{
	"default-src 'none'",
	"script-src 'self' '" + hash(initScript) + "'",
	"style-src 'self' 'unsafe-inline'",
	"img-src 'self' data:",
	"font-src 'self' data:",
	"connect-src 'self'",
	"worker-src blob:",
	"base-uri 'none'",
	"form-action 'none'",
	"frame-ancestors 'none'",
}, "; ")

// hash is the CSP source expression that allows one inline script.
func hash(script string) string {
	sum := sha256.Sum256([]byte(script))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}
