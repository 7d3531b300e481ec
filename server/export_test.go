package server

import (
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/server/internal/inventory"
)

// WithoutFastPath returns cfg for a server that sends every request through
// the generic validator, as before the fast path existed.
func WithoutFastPath(cfg Config) Config {
	cfg.noFastPath = true
	return cfg
}

// WithSpecChange returns cfg for a server whose spec change alters before New
// builds anything from it: validator, fast path, limits.
func WithSpecChange(cfg Config, change func(*openapi3.T)) Config {
	cfg.specChange = change
	return cfg
}

// NewMemoryStoreWithCap lets tests make a store with a small cap, which New
// makes only from a Config.
var NewMemoryStoreWithCap = inventory.NewMemoryStore
