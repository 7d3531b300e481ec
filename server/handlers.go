package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/gen/model"
)

// handlers implements the spec's operations. Requests reach them validated:
// they check only what the spec cannot say, such as whether a session exists.
type handlers struct {
	store         Store
	auth          authService
	sessionSchema *openapi3.Schema
	now           func() time.Time
}

var _ apiserver.StrictServerInterface = (*handlers)(nil)

// Error keys of failed result items.
const (
	keySessionNotFound     = "session.not.found"
	keySessionNotConnected = "session.not.connected"
	keyDuplicateSessionID  = "session.id.duplicate"
)

// SendMessageToSessions delivers the message to every connected session named,
// once per session, and answers one item per requested id, in request order.
func (h *handlers) SendMessageToSessions(_ context.Context, req apiserver.SendMessageToSessionsRequestObject) (apiserver.SendMessageToSessionsResponseObject, error) {
	spec := req.Body
	timestamp := h.now().UnixMilli()
	items := getItems(len(spec.SessionIDs)) // reused after the answer is written
	deliveries := make([]model.DeliveredMessage, 0, len(spec.SessionIDs))
	occurrences := newFirstOccurrence(spec.SessionIDs)
	defer occurrences.release()
	// The record outlives the request: it must not keep the request body
	// alive, of which the decoded strings may be parts.
	message := strings.Clone(spec.Message)
	messageType := model.DeliveredMessageMessageType(strings.Clone(string(spec.MessageType)))

	for i, id := range spec.SessionIDs {
		items[i] = model.BulkItemResponseInfo{ID: id, StatusCode: http.StatusOK, Timestamp: timestamp}
		if first, repeated := occurrences.earlier(i); repeated {
			fail(&items[i], http.StatusConflict, keyDuplicateSessionID,
				fmt.Sprintf("Session id %q is repeated in this request; only its first occurrence (item %d) is acted on.", id, first))
			continue
		}
		session, found := h.store.Session(id)
		switch {
		case !found:
			fail(&items[i], http.StatusNotFound, keySessionNotFound, fmt.Sprintf("Session %q does not exist.", id))
		case session.SessionState != model.SessionInfoSessionStateCONNECTED:
			fail(&items[i], http.StatusConflict, keySessionNotConnected,
				fmt.Sprintf("Session %q is %s: no Horizon Client is connected to show the message.", id, session.SessionState))
		default:
			deliveries = append(deliveries, model.DeliveredMessage{
				SessionID:   recordedID(id, session),
				UserID:      session.UserID,
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
func (h *handlers) ListDeliveredMessages(_ context.Context, req apiserver.ListDeliveredMessagesRequestObject) (apiserver.ListDeliveredMessagesResponseObject, error) {
	sessionID := ""
	if req.Params.SessionID != nil {
		sessionID = *req.Params.SessionID
	}
	return apiserver.ListDeliveredMessages200JSONResponse(h.store.Delivered(sessionID)), nil
}

// ClearDeliveredMessages forgets the record of deliveries.
func (h *handlers) ClearDeliveredMessages(context.Context, apiserver.ClearDeliveredMessagesRequestObject) (apiserver.ClearDeliveredMessagesResponseObject, error) {
	h.store.ClearMessages()
	return apiserver.ClearDeliveredMessages204Response{}, nil
}

// GetHealth says the server is serving and how big its inventory is.
func (h *handlers) GetHealth(context.Context, apiserver.GetHealthRequestObject) (apiserver.GetHealthResponseObject, error) {
	return apiserver.GetHealth200JSONResponse{Status: model.HealthStatusOk, Sessions: h.store.SessionCount()}, nil
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
