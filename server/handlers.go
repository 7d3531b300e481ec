package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/gen"
)

// handlers implements the spec's operations. Requests reach them validated:
// they check only what the spec cannot say, such as whether a session exists.
type handlers struct {
	store         Store
	auth          authService
	sessionSchema *openapi3.Schema
	now           func() time.Time
}

var _ gen.StrictServerInterface = (*handlers)(nil)

// Error keys of failed result items.
const (
	keySessionNotFound     = "session.not.found"
	keySessionNotConnected = "session.not.connected"
	keyDuplicateSessionID  = "session.id.duplicate"
)

// SendMessageToSessions delivers the message to every connected session named,
// once per session, and answers one item per requested id, in request order.
func (h *handlers) SendMessageToSessions(_ context.Context, req gen.SendMessageToSessionsRequestObject) (gen.SendMessageToSessionsResponseObject, error) {
	spec := req.Body
	timestamp := h.now().UnixMilli()
	items := getItems(len(spec.SessionIds)) // reused after the answer is written
	deliveries := make([]gen.DeliveredMessage, 0, len(spec.SessionIds))
	occurrences := newFirstOccurrence(spec.SessionIds)
	defer occurrences.release()
	// The record outlives the request: it must not keep the request body
	// alive, of which the decoded strings may be parts.
	message := strings.Clone(spec.Message)
	messageType := gen.DeliveredMessageMessageType(strings.Clone(string(spec.MessageType)))

	for i, id := range spec.SessionIds {
		items[i] = gen.BulkItemResponseInfo{Id: id, StatusCode: http.StatusOK, Timestamp: timestamp}
		if first, repeated := occurrences.earlier(i); repeated {
			fail(&items[i], http.StatusConflict, keyDuplicateSessionID,
				fmt.Sprintf("Session id %q is repeated in this request; only its first occurrence (item %d) is acted on.", id, first))
			continue
		}
		session, found := h.store.Session(id)
		switch {
		case !found:
			fail(&items[i], http.StatusNotFound, keySessionNotFound, fmt.Sprintf("Session %q does not exist.", id))
		case session.SessionState != gen.SessionInfoSessionStateCONNECTED:
			fail(&items[i], http.StatusConflict, keySessionNotConnected,
				fmt.Sprintf("Session %q is %s: no Horizon Client is connected to show the message.", id, session.SessionState))
		default:
			deliveries = append(deliveries, gen.DeliveredMessage{
				SessionId:   recordedID(id, session),
				UserId:      session.UserId,
				Message:     message,
				MessageType: messageType,
				Timestamp:   timestamp,
			})
		}
	}
	h.store.Record(deliveries)
	return itemsResponse(items), nil
}

// ListDeliveredMessages returns the record of deliveries.
func (h *handlers) ListDeliveredMessages(_ context.Context, req gen.ListDeliveredMessagesRequestObject) (gen.ListDeliveredMessagesResponseObject, error) {
	sessionID := ""
	if req.Params.SessionId != nil {
		sessionID = *req.Params.SessionId
	}
	return gen.ListDeliveredMessages200JSONResponse(h.store.Delivered(sessionID)), nil
}

// ClearDeliveredMessages forgets the record of deliveries.
func (h *handlers) ClearDeliveredMessages(context.Context, gen.ClearDeliveredMessagesRequestObject) (gen.ClearDeliveredMessagesResponseObject, error) {
	h.store.ClearMessages()
	return gen.ClearDeliveredMessages204Response{}, nil
}

// GetHealth says the server is serving and how big its inventory is.
func (h *handlers) GetHealth(context.Context, gen.GetHealthRequestObject) (gen.GetHealthResponseObject, error) {
	return gen.GetHealth200JSONResponse{Status: gen.HealthStatusOk, Sessions: h.store.SessionCount()}, nil
}

// recordedID is id as the record keeps it: the inventory's own copy when it
// is the same string.
func recordedID(id string, session gen.SessionInfo) string {
	if session.Id == id {
		return session.Id
	}
	return strings.Clone(id)
}

// fail marks item as failed with one reason, in both of Horizon's error forms.
func fail(item *gen.BulkItemResponseInfo, status int32, key, message string) {
	item.StatusCode = status
	item.ErrorMessages = &[]string{message}
	item.Errors = &[]gen.APIError{{ErrorKey: key, ErrorMessage: message}}
}
