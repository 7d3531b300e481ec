package sendmessage_test

import (
	"testing"

	"github.com/hzkit/sendmessage/conformance"
	"github.com/hzkit/sendmessage/server"
)

// conform's default body limit is the reference server's: its oversized
// body is one byte past what the server takes.
func TestConformKnowsTheServersBodyLimit(t *testing.T) {
	t.Parallel()
	if conformance.DefaultMaxBodyBytes != server.DefaultMaxBodyBytes {
		t.Errorf("conformance.DefaultMaxBodyBytes = %d, server.DefaultMaxBodyBytes = %d", conformance.DefaultMaxBodyBytes, server.DefaultMaxBodyBytes)
	}
}
