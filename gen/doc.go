// Package gen is written by `go generate ./...` from api/openapi.yaml. Do not edit
// the *.gen.go files: change the spec and regenerate.
package gen
