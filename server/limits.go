package server

import (
	"cmp"
	"fmt"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/server/internal/contract"
)

// DefaultMaxBodyBytes bounds a request body when Limits.MaxBodyBytes is 0. It
// fits the spec's default maxItems of session ids: 20,000 UUIDs take about
// 800 KB.
const DefaultMaxBodyBytes int64 = 1 << 20

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
	// with Retry-After. One client address may hold a quarter of it;
	// requests without a valid token an eighth.
	MaxBodyBytesInFlight int64
	// MaxDecodeBytesInFlight bounds what decoding bodies costs at once on
	// the generic validator's path (each body charged genericDecodeCost
	// times its size): a request that would pass it waits briefly, then
	// gets 503 with Retry-After.
	MaxDecodeBytesInFlight int64
	// MaxRequestsInFlight bounds the requests handled at once: past it a
	// request gets 503 with Retry-After (HTTP/2: its stream is reset). One
	// client address may hold a quarter of it; requests without a valid
	// token a quarter, one address of them a thirty-second.
	MaxRequestsInFlight int
	// MaxFaultRules is the most fault rules the server holds; 409 past it.
	MaxFaultRules int
	// MaxFaultDelay is the longest delay a fault rule may have (400 past
	// it); 0 is no bound but the spec's. A server behind a write timeout
	// sets it shorter than the timeout, or delayed answers never arrive.
	MaxFaultDelay time.Duration
	// MaxMessageLength is the longest message, in characters.
	MaxMessageLength int
	// MaxSessionIDs is the most session ids in one send-message request.
	MaxSessionIDs int
}

// applyLimits writes the configured limits into doc, so that the validator
// enforces them and its 400 names them, and returns the limits in force.
func applyLimits(doc *openapi3.T, limits Limits) (Limits, []contract.Limit, error) {
	if limits.MaxBodyBytes < 0 || limits.MaxAuthBodyBytes < 0 || limits.MaxBodyBytesInFlight < 0 || limits.MaxDecodeBytesInFlight < 0 ||
		limits.MaxRequestsInFlight < 0 || limits.MaxFaultRules < 0 || limits.MaxFaultDelay < 0 {
		return Limits{}, nil, fmt.Errorf("server: limits must not be negative: %+v", limits)
	}
	if limits.MaxBodyBytes == 0 {
		limits.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if limits.MaxAuthBodyBytes == 0 {
		limits.MaxAuthBodyBytes = DefaultMaxAuthBodyBytes
	}
	limits.MaxBodyBytesInFlight = cmp.Or(limits.MaxBodyBytesInFlight, DefaultMaxBodyBytesInFlight)
	limits.MaxDecodeBytesInFlight = cmp.Or(limits.MaxDecodeBytesInFlight, DefaultMaxDecodeBytesInFlight)
	limits.MaxRequestsInFlight = cmp.Or(limits.MaxRequestsInFlight, DefaultMaxRequestsInFlight)
	limits.MaxFaultRules = cmp.Or(limits.MaxFaultRules, DefaultMaxFaultRules)
	var set []contract.Limit
	var err error
	limits.MaxMessageLength, limits.MaxSessionIDs, set, err = contract.ApplyLimits(doc, limits.MaxMessageLength, limits.MaxSessionIDs)
	if err != nil {
		return Limits{}, nil, err
	}
	return limits, set, nil
}

// DefaultMaxFaultRules is the most fault rules when Limits.MaxFaultRules is 0.
const DefaultMaxFaultRules = 100
