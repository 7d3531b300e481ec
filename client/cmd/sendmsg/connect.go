package main

import (
	"context"
	"errors"
)

// connect logs in to the server o names. Wired to the client in full once
// login and session listing are available.
func connect(_ context.Context, _ *options, _ *deps) (horizon, error) {
	return nil, errors.New("not yet available")
}
