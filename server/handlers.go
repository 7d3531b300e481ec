package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/bulkjson"
	"github.com/hzkit/sendmessage/server/internal/delivery"
	"github.com/hzkit/sendmessage/server/internal/faults"
	"github.com/hzkit/sendmessage/server/internal/logins"
	"github.com/hzkit/sendmessage/server/internal/metrics"
	"github.com/hzkit/sendmessage/server/internal/sessions"
)

// handlers implements the spec's operations. Requests reach them validated:
// they check only what the spec cannot say, such as whether a session exists.
type handlers struct {
	store Store
	auth  logins.Service
	// filterFields are the fields filters name, and the types each takes.
	filterFields *sessions.Fields
	now          func() time.Time
	fastPath     model.FastPathStatus
	spec         servedSpec
	faults       *faults.Engine
	metrics      *metrics.Metrics
}

var _ apiserver.StrictServerInterface = (*handlers)(nil)

// SendMessageToSessions delivers the message to every connected session named,
// once per session, and answers one item per requested id, in request order.
func (h *handlers) SendMessageToSessions(ctx context.Context, req apiserver.SendMessageToSessionsRequestObject) (apiserver.SendMessageToSessionsResponseObject, error) {
	items := bulkjson.GetItems(len(req.Body.SessionIDs)) // reused after the answer is written
	deliveries := delivery.Send(h.store, req.Body, h.now().UnixMilli(), items, deliveryFault(ctx))
	h.store.Record(deliveries)
	h.metrics.Recorded(len(deliveries))
	return itemsResponse(items), nil
}

// itemsResponse is the 200 answer of send-message. It writes what the
// generated SendMessageToSessions200JSONResponse writes, byte for byte (a test
// holds the two together), but without encoding/json's reflection on every
// item and without growing a fresh buffer per answer.
type itemsResponse []model.BulkItemResponseInfo

var _ apiserver.SendMessageToSessionsResponseObject = itemsResponse(nil)

// jsonContentType is the Content-Type of a JSON answer, as a header value
// that answers share: net/http copies the header's values when it writes
// them, and capacity 1 makes an Add copy too.
var jsonContentType = []string{echo.MIMEApplicationJSON}[:1:1]

// VisitSendMessageToSessionsResponse implements
// apiserver.SendMessageToSessionsResponseObject.
func (r itemsResponse) VisitSendMessageToSessionsResponse(w http.ResponseWriter) error {
	defer bulkjson.PutItems(r) // the answer is the items' last use
	w.Header()[echo.HeaderContentType] = jsonContentType
	w.WriteHeader(http.StatusOK)
	return bulkjson.Write(w, r)
}

// DefaultMessagesPage is the page size of ListDeliveredMessages when the
// request gives no limit.
const DefaultMessagesPage = 100

// ListDeliveredMessages returns a page of the record of deliveries.
func (h *handlers) ListDeliveredMessages(_ context.Context, req apiserver.ListDeliveredMessagesRequestObject) (apiserver.ListDeliveredMessagesResponseObject, error) {
	q := DeliveredQuery{Limit: DefaultMessagesPage}
	if p := req.Params; p.SessionID != nil {
		q.SessionID = *p.SessionID
	}
	if p := req.Params; p.Limit != nil {
		q.Limit = int(*p.Limit)
	}
	if p := req.Params; p.After != nil {
		q.After = *p.After
	}
	return messagesPage(h.store.Delivered(q)), nil
}

// messagesPage is the 200 answer of ListDeliveredMessages. It writes what
// ListDeliveredMessages200JSONResponse would, one message at a time, so that
// no second copy of the page is made in memory.
type messagesPage DeliveredPage

func (p messagesPage) VisitListDeliveredMessagesResponse(w http.ResponseWriter) error {
	w.Header()[echo.HeaderContentType] = jsonContentType
	w.WriteHeader(http.StatusOK)
	tail := `,"evicted":` + strconv.FormatInt(p.Evicted, 10)
	if p.More {
		tail += `,"next_after":` + strconv.FormatInt(p.Messages[len(p.Messages)-1].Sequence, 10)
	}
	return writeObjectArray(w, `{"messages":`, p.Messages, tail+"}\n")
}

// ClearDeliveredMessages forgets the record of deliveries.
func (h *handlers) ClearDeliveredMessages(context.Context, apiserver.ClearDeliveredMessagesRequestObject) (apiserver.ClearDeliveredMessagesResponseObject, error) {
	h.store.ClearMessages()
	return apiserver.ClearDeliveredMessages204Response{}, nil
}

// GetHealth says the server is serving and how big its inventory is.
func (h *handlers) GetHealth(context.Context, apiserver.GetHealthRequestObject) (apiserver.GetHealthResponseObject, error) {
	return apiserver.GetHealth200JSONResponse{Status: model.HealthStatusOk, Sessions: h.store.SessionCount(), FastPath: h.fastPath}, nil
}
