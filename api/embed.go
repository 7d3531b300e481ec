// Package api holds the contract: openapi.yaml, the hand-written OpenAPI document
// that everything else is generated from or tested against.
package api

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// YAML is api/openapi.yaml as it was compiled in.
//
//go:embed openapi.yaml
var YAML []byte

// Load parses and validates the embedded document. Each call returns a fresh
// copy, so a caller may adjust it (the server writes its configured limits in).
func Load() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(YAML)
	if err != nil {
		return nil, fmt.Errorf("load api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate api/openapi.yaml: %w", err)
	}
	return doc, nil
}
