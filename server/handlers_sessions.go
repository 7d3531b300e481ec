package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/sessions"
)

// hasMoreRecords is Horizon's paging header. It is written in Horizon's own
// case: Go would send it as Has_more_records, and scripts that grep for it
// match the name exactly.
const hasMoreRecords = "HAS_MORE_RECORDS"

// ListSessions answers the sessions that pass the filter, all or one page.
// The spec has checked that page and size go together (x-requires).
func (h *handlers) ListSessions(_ context.Context, req apiserver.ListSessionsRequestObject) (apiserver.ListSessionsResponseObject, error) {
	params := req.Params
	only, refused, err := h.listQuery(params)
	if refused != nil || err != nil {
		return refused, err
	}

	sessions := h.store.Sessions()
	matched := make([]*model.SessionInfo, 0, len(sessions))
	for i := range sessions {
		if only != nil && !only.Match(&sessions[i]) {
			continue
		}
		matched = append(matched, &sessions[i])
	}
	if params.Page == nil {
		return sessionsPage{sessions: matched}, nil
	}
	size := int64(*params.Size)
	start := min((int64(*params.Page)-1)*size, int64(len(matched)))
	end := min(start+size, int64(len(matched)))
	return sessionsPage{sessions: matched[start:end], more: end < int64(len(matched))}, nil
}

// listQuery reads what the spec's schemas cannot check of a listing's
// filter: that the values fit their fields, and that each field takes the
// filter's type (x-filters). The filter is nil when there is none; refused
// is the 400 answer when the query is refused.
func (h *handlers) listQuery(params model.ListSessionsParams) (only *sessions.Filter, refused apiserver.ListSessionsResponseObject, err error) {
	if params.Filter == nil {
		return nil, nil, nil
	}
	f, err := sessions.Compile(*params.Filter, h.filterFields)
	var filterErr *sessions.FilterError
	switch {
	case errors.As(err, &filterErr):
		return nil, listSessions400(`query parameter "filter": ` + err.Error()), nil
	case err != nil: // the validator has passed a shape that failed here: ours to fix
		return nil, nil, fmt.Errorf("compile filter: %w", err)
	}
	return f, nil, nil
}

// sessionsPage is the 200 answer of ListSessions, with Horizon's header when
// more sessions follow. It writes what ListSessions200JSONResponse would, a
// session at a time, so that an answer costs one chunk of memory, not its
// whole size, and holds the store's sessions, not copies.
type sessionsPage struct {
	sessions []*model.SessionInfo
	more     bool
}

func (p sessionsPage) VisitListSessionsResponse(w http.ResponseWriter) error {
	if p.more {
		w.Header()[hasMoreRecords] = []string{"TRUE"}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return writeArray(w, p.sessions)
}

// writeArray writes items as json.Encoder.Encode writes a slice of them,
// one item at a time through a small buffer.
func writeArray[T any](w io.Writer, items []*T) error {
	return writeItems(w, "", items, func(i int) any { return items[i] }, "\n")
}

// writeObjectArray writes head, items as an array, and tail, one item at a
// time through a small buffer.
func writeObjectArray[T any](w io.Writer, head string, items []T, tail string) error {
	return writeItems(w, head, items, func(i int) any { return &items[i] }, tail)
}

// writeItems writes head, the n items that item gives as a JSON array, and
// tail, as json.Encoder would write each item.
func writeItems[T any](w io.Writer, head string, items []T, item func(int) any, tail string) error {
	out := bufio.NewWriterSize(w, 16<<10)
	if _, err := out.WriteString(head); err != nil {
		return fmt.Errorf("write answer: %w", err)
	}
	var one bytes.Buffer
	enc := json.NewEncoder(&one)
	if err := out.WriteByte('['); err != nil {
		return fmt.Errorf("write answer: %w", err)
	}
	for i := range items {
		if i > 0 {
			if err := out.WriteByte(','); err != nil {
				return fmt.Errorf("write answer: %w", err)
			}
		}
		one.Reset()
		if err := enc.Encode(item(i)); err != nil {
			return fmt.Errorf("write item %d: %w", i, err)
		}
		// Without the newline Encode ends a value with.
		if _, err := out.Write(one.Bytes()[:one.Len()-1]); err != nil {
			return fmt.Errorf("write answer: %w", err)
		}
	}
	if _, err := out.WriteString("]" + tail); err != nil {
		return fmt.Errorf("write answer: %w", err)
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write answer: %w", err)
	}
	return nil
}

// GetSession answers one session of the inventory.
func (h *handlers) GetSession(_ context.Context, req apiserver.GetSessionRequestObject) (apiserver.GetSessionResponseObject, error) {
	session, ok := h.store.Session(req.ID)
	if !ok {
		return apiserver.GetSession404JSONResponse{NotFoundJSONResponse: apiserver.NotFoundJSONResponse(
			errorBody(http.StatusNotFound, fmt.Sprintf("Session %q does not exist.", req.ID)))}, nil
	}
	return apiserver.GetSession200JSONResponse(session), nil
}

// listSessions400 is the spec's BadRequest answer of ListSessions.
func listSessions400(message string) apiserver.ListSessions400JSONResponse {
	return apiserver.ListSessions400JSONResponse{BadRequestJSONResponse: apiserver.BadRequestJSONResponse(errorBody(http.StatusBadRequest, message))}
}
