package server

import (
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/server/internal/contract"
)

// DefaultMaxBodyBytes bounds a request body when Limits.MaxBodyBytes is 0. It
// fits the spec's default maxItems of session ids with room to spare.
const DefaultMaxBodyBytes int64 = 4 << 20

// Limits bound what one request may carry. A zero field takes its default:
// the spec's own maxLength and maxItems, and DefaultMaxBodyBytes.
type Limits struct {
	// MaxBodyBytes is the largest request body accepted; larger gets 413.
	MaxBodyBytes int64
	// MaxMessageLength is the longest message, in characters.
	MaxMessageLength int
	// MaxSessionIDs is the most session ids in one send-message request.
	MaxSessionIDs int
}

// applyLimits writes the configured limits into doc, so that the validator
// enforces them and its 400 names them, and returns the limits in force.
func applyLimits(doc *openapi3.T, limits Limits) (Limits, error) {
	if limits.MaxBodyBytes < 0 {
		return Limits{}, fmt.Errorf("server: limits must not be negative: %+v", limits)
	}
	if limits.MaxBodyBytes == 0 {
		limits.MaxBodyBytes = DefaultMaxBodyBytes
	}
	var err error
	limits.MaxMessageLength, limits.MaxSessionIDs, err = contract.ApplyLimits(doc, limits.MaxMessageLength, limits.MaxSessionIDs)
	if err != nil {
		return Limits{}, err
	}
	return limits, nil
}
