//go:build tools

// Imported only to pin the generator's version in go.mod; `go generate` runs it.
package sendmessage

import _ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
