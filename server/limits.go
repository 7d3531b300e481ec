package server

import (
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/server/internal/contract"
)

// DefaultMaxBodyBytes bounds a request body when Limits.MaxBodyBytes is 0. It
// fits the spec's default maxItems of session ids with room to spare.
const DefaultMaxBodyBytes int64 = 4 << 20

// DefaultMaxAuthBodyBytes bounds the body of a login, refresh or logout
// (the operations of tag Auth) when Limits.MaxAuthBodyBytes is 0: a name, a
// password, a token.
const DefaultMaxAuthBodyBytes int64 = 4 << 10

// Limits bound what one request may carry. A zero field takes its default:
// the spec's own maxLength and maxItems, and DefaultMaxBodyBytes.
type Limits struct {
	// MaxBodyBytes is the largest request body accepted; larger gets 413.
	MaxBodyBytes int64
	// MaxAuthBodyBytes is the largest body of a login, refresh or logout;
	// larger gets 413.
	MaxAuthBodyBytes int64
	// MaxBodyBytesInFlight bounds the bodies read at once, over all
	// requests: a request that would pass it waits briefly, then gets 503
	// with Retry-After.
	MaxBodyBytesInFlight int64
	// MaxMessageLength is the longest message, in characters.
	MaxMessageLength int
	// MaxSessionIDs is the most session ids in one send-message request.
	MaxSessionIDs int
}

// applyLimits writes the configured limits into doc, so that the validator
// enforces them and its 400 names them, and returns the limits in force.
func applyLimits(doc *openapi3.T, limits Limits) (Limits, error) {
	if limits.MaxBodyBytes < 0 || limits.MaxAuthBodyBytes < 0 || limits.MaxBodyBytesInFlight < 0 {
		return Limits{}, fmt.Errorf("server: limits must not be negative: %+v", limits)
	}
	if limits.MaxBodyBytes == 0 {
		limits.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if limits.MaxAuthBodyBytes == 0 {
		limits.MaxAuthBodyBytes = DefaultMaxAuthBodyBytes
	}
	if limits.MaxBodyBytesInFlight == 0 {
		limits.MaxBodyBytesInFlight = DefaultMaxBodyBytesInFlight
	}
	var err error
	limits.MaxMessageLength, limits.MaxSessionIDs, err = contract.ApplyLimits(doc, limits.MaxMessageLength, limits.MaxSessionIDs)
	if err != nil {
		return Limits{}, err
	}
	return limits, nil
}
