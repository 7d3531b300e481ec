// Package delivery decides, per requested id, whether a message is delivered or why not.
package delivery

import (
	"fmt"
	"net/http"
	"strings"
	"unique"

	"github.com/hzkit/sendmessage/gen/model"
)

// Error keys of failed result items.
const (
	KeySessionNotFound     = "session.not.found"
	KeySessionNotConnected = "session.not.connected"
	KeyDuplicateSessionID  = "session.id.duplicate"
)

// Sessions finds a session of the inventory by its id.
type Sessions interface {
	Session(id string) (model.SessionInfo, bool)
}

// Fault is what an injected fault changes in a send.
type Fault struct {
	// ID, when not "", marks every delivery (DeliveredMessage.FaultID): the
	// client is not told of them.
	ID string
	// Fail, when not nil, says whether a session that would be delivered the
	// message fails instead, and how.
	Fail func(id string) (status int32, key, message string, failed bool)
}

// Send fills items, one per requested id in request order (len(items) must
// be len(spec.SessionIDs)), and returns the deliveries to record. fault is
// nil but for a request that an injected fault acts on.
func Send(sessions Sessions, spec *model.SessionSendMessageSpec, timestamp int64, items []model.BulkItemResponseInfo, fault *Fault) []model.DeliveredMessage {
	deliveries := make([]model.DeliveredMessage, 0, len(spec.SessionIDs))
	occurrences := newFirstOccurrence(spec.SessionIDs)
	defer occurrences.release()
	// The record outlives the request: it must not keep the request body
	// alive, of which the decoded strings may be parts.
	message := strings.Clone(spec.Message)
	// One of a few values: the record shares one copy of each.
	messageType := model.DeliveredMessageMessageType(unique.Make(string(spec.MessageType)).Value())
	var failInjected func(string) (int32, string, string, bool)
	var faultID *string
	if fault != nil {
		failInjected = fault.Fail
		if fault.ID != "" {
			id := fault.ID
			faultID = &id
		}
	}

	for i, id := range spec.SessionIDs {
		items[i] = model.BulkItemResponseInfo{ID: id, StatusCode: http.StatusOK, Timestamp: timestamp}
		if first, repeated := occurrences.earlier(i); repeated {
			fail(&items[i], http.StatusConflict, KeyDuplicateSessionID,
				fmt.Sprintf("Session id %q is repeated in this request; only its first occurrence (item %d) is acted on.", id, first))
			continue
		}
		session, found := sessions.Session(id)
		switch {
		case !found:
			fail(&items[i], http.StatusNotFound, KeySessionNotFound, fmt.Sprintf("Session %q does not exist.", id))
		case session.SessionState != model.SessionInfoSessionStateCONNECTED:
			fail(&items[i], http.StatusConflict, KeySessionNotConnected,
				fmt.Sprintf("Session %q is %s: no Horizon Client is connected to show the message.", id, session.SessionState))
		default:
			if failInjected != nil {
				if status, key, reason, failed := failInjected(id); failed {
					fail(&items[i], status, key, reason)
					continue
				}
			}
			deliveries = append(deliveries, model.DeliveredMessage{
				SessionID:   recordedID(id, session),
				UserID:      session.UserID,
				Message:     message,
				MessageType: messageType,
				Timestamp:   timestamp,
				FaultID:     faultID,
			})
		}
	}
	return deliveries
}

// recordedID is id as the record keeps it: the inventory's own copy when it
// is the same string.
func recordedID(id string, session model.SessionInfo) string {
	if session.ID == id {
		return session.ID
	}
	return strings.Clone(id)
}

// fail marks item as failed with one reason, in both of Horizon's error forms.
func fail(item *model.BulkItemResponseInfo, status int32, key, message string) {
	item.StatusCode = status
	item.ErrorMessages = &[]string{message}
	item.Errors = &[]model.APIError{{ErrorKey: key, ErrorMessage: message}}
}
