package server

import (
	"fmt"
	"math"

	"github.com/getkin/kin-openapi/openapi3"
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

// The spec's request schema and the properties whose limits are configurable.
const (
	sendMessageSchema  = "SessionSendMessageSpec"
	messageProperty    = "message"
	sessionIDsProperty = "session_ids"
)

// applyLimits writes the configured limits into doc, so that the validator
// enforces them and its 400 names them, and returns the limits in force.
func applyLimits(doc *openapi3.T, limits Limits) (Limits, error) {
	if limits.MaxBodyBytes < 0 || limits.MaxMessageLength < 0 || limits.MaxSessionIDs < 0 {
		return Limits{}, fmt.Errorf("server: limits must not be negative: %+v", limits)
	}
	message, err := schemaProperty(doc, sendMessageSchema, messageProperty)
	if err != nil {
		return Limits{}, err
	}
	sessionIDs, err := schemaProperty(doc, sendMessageSchema, sessionIDsProperty)
	if err != nil {
		return Limits{}, err
	}
	if message.MaxLength == nil || sessionIDs.MaxItems == nil {
		return Limits{}, fmt.Errorf("server: spec must bound %s.%s (maxLength) and %s.%s (maxItems)",
			sendMessageSchema, messageProperty, sendMessageSchema, sessionIDsProperty)
	}
	specMaxLength, specMaxItems := *message.MaxLength, *sessionIDs.MaxItems
	if specMaxLength > math.MaxInt || specMaxItems > math.MaxInt {
		return Limits{}, fmt.Errorf("server: spec bounds %s.%s (maxLength %d) and %s.%s (maxItems %d) must fit an int",
			sendMessageSchema, messageProperty, specMaxLength, sendMessageSchema, sessionIDsProperty, specMaxItems)
	}

	if limits.MaxBodyBytes == 0 {
		limits.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if limits.MaxMessageLength == 0 {
		limits.MaxMessageLength = int(specMaxLength)
	}
	if limits.MaxSessionIDs == 0 {
		limits.MaxSessionIDs = int(specMaxItems)
	}
	if uint64(limits.MaxMessageLength) < message.MinLength {
		return Limits{}, fmt.Errorf("server: message length limit %d is below the spec's minLength %d", limits.MaxMessageLength, message.MinLength)
	}
	if uint64(limits.MaxSessionIDs) < sessionIDs.MinItems {
		return Limits{}, fmt.Errorf("server: session id limit %d is below the spec's minItems %d", limits.MaxSessionIDs, sessionIDs.MinItems)
	}
	maxLength, maxItems := uint64(limits.MaxMessageLength), uint64(limits.MaxSessionIDs)
	message.MaxLength, sessionIDs.MaxItems = &maxLength, &maxItems
	return limits, nil
}

func schemaProperty(doc *openapi3.T, schema, property string) (*openapi3.Schema, error) {
	ref, ok := doc.Components.Schemas[schema]
	if !ok || ref.Value == nil {
		return nil, fmt.Errorf("server: spec has no schema %s", schema)
	}
	prop, ok := ref.Value.Properties[property]
	if !ok || prop.Value == nil {
		return nil, fmt.Errorf("server: spec schema %s has no property %s", schema, property)
	}
	return prop.Value, nil
}
