package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hzkit/sendmessage/gen/model"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/server/internal/faults"
	"github.com/hzkit/sendmessage/server/internal/metrics"
)

// faultsPath is where the fault rules are, under BasePath.
const faultsPath = "/refserver/v1/faults"

// DefaultFaultsPage is the page size of ListFaults when the request gives
// no limit.
const DefaultFaultsPage = 100

// ListFaults answers a page of the fault rules, in the order they are tried.
// The spec has checked that after is a number.
func (h *handlers) ListFaults(_ context.Context, req apiserver.ListFaultsRequestObject) (apiserver.ListFaultsResponseObject, error) {
	limit, after := DefaultFaultsPage, int64(0)
	if req.Params.Limit != nil {
		limit = int(*req.Params.Limit)
	}
	if req.Params.After != nil {
		var err error
		if after, err = strconv.ParseInt(*req.Params.After, 10, 64); err != nil {
			return nil, fmt.Errorf("list faults: after %q: %w", *req.Params.After, err)
		}
	}
	page, more := h.faults.Page(after, limit, faultsPageBytes)
	answer := faultsPage{faults: page}
	if more {
		answer.nextAfter = page[len(page)-1].ID
	}
	return answer, nil
}

// faultsPageBytes is about the most JSON a page of fault rules holds: a
// page stops early at large rules, and next_after says where it stopped.
const faultsPageBytes = 1 << 20

// faultsPage is the 200 answer of ListFaults. It writes what
// ListFaults200JSONResponse would, a rule at a time.
type faultsPage struct {
	faults    []model.Fault
	nextAfter string
}

func (p faultsPage) VisitListFaultsResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	tail := "}\n"
	if p.nextAfter != "" {
		next, err := json.Marshal(p.nextAfter)
		if err != nil {
			return fmt.Errorf("write fault rules: %w", err)
		}
		tail = `,"next_after":` + string(next) + "}\n"
	}
	return writeObjectArray(w, `{"faults":`, p.faults, tail)
}

// AddFault adds a fault rule after the others. What the spec cannot say of
// a rule (which statuses its operation declares...) gets 400 here.
func (h *handlers) AddFault(_ context.Context, req apiserver.AddFaultRequestObject) (apiserver.AddFaultResponseObject, error) {
	fault, err := h.faults.Add(*req.Body)
	var ruleErr *faults.RuleError
	switch {
	case errors.As(err, &ruleErr):
		return apiserver.AddFault400JSONResponse{BadRequestJSONResponse: apiserver.BadRequestJSONResponse(
			errorBody(http.StatusBadRequest, "request body: "+ruleErr.Error()))}, nil
	case errors.Is(err, faults.ErrFull):
		h.metrics.Refused(metrics.LimitFaultRules)
		return apiserver.AddFault409JSONResponse(errorBody(http.StatusConflict, fmt.Sprintf(
			"the server holds %d fault rules, as many as it may (-max-fault-rules): delete some first", h.faults.Len()))), nil
	case err != nil:
		return nil, fmt.Errorf("add fault rule: %w", err)
	}
	location := BasePath + faultsPath + "/" + url.PathEscape(fault.ID)
	return apiserver.AddFault201JSONResponse{Body: fault, Headers: apiserver.AddFault201ResponseHeaders{Location: &location}}, nil
}

// ClearFaults deletes every fault rule.
func (h *handlers) ClearFaults(context.Context, apiserver.ClearFaultsRequestObject) (apiserver.ClearFaultsResponseObject, error) {
	h.faults.Clear()
	return apiserver.ClearFaults204Response{}, nil
}

// GetFault answers one fault rule and its hit count.
func (h *handlers) GetFault(_ context.Context, req apiserver.GetFaultRequestObject) (apiserver.GetFaultResponseObject, error) {
	fault, ok := h.faults.Get(req.ID)
	if !ok {
		return apiserver.GetFault404JSONResponse{NotFoundJSONResponse: faultNotFound(req.ID)}, nil
	}
	return apiserver.GetFault200JSONResponse(fault), nil
}

// DeleteFault deletes one fault rule.
func (h *handlers) DeleteFault(_ context.Context, req apiserver.DeleteFaultRequestObject) (apiserver.DeleteFaultResponseObject, error) {
	if !h.faults.Delete(req.ID) {
		return apiserver.DeleteFault404JSONResponse{NotFoundJSONResponse: faultNotFound(req.ID)}, nil
	}
	return apiserver.DeleteFault204Response{}, nil
}

func faultNotFound(id string) apiserver.NotFoundJSONResponse {
	return apiserver.NotFoundJSONResponse(errorBody(http.StatusNotFound, fmt.Sprintf("Fault rule %q does not exist.", id)))
}

// accepts says whether the handler would accept request, without acting on
// it: faults meet only requests that it would. It checks what the handlers
// refuse beyond the spec: wrong credentials, a refresh token that does not
// work, a listing's query. A session that does not exist is an answer (404,
// or a failed item), not a refusal.
func (h *handlers) accepts(request any) bool {
	switch r := request.(type) {
	case apiserver.LoginRequestObject:
		password, err := joinPassword(r.Body.Password)
		return err == nil && h.auth.CheckCredentials(r.Body.Username, r.Body.Domain, password) == nil
	case apiserver.RefreshAccessTokenRequestObject:
		return h.auth.CheckRefreshToken(r.Body.RefreshToken) == nil
	case apiserver.LogoutRequestObject:
		return h.auth.CheckRefreshToken(r.Body.RefreshToken) == nil
	case apiserver.ListSessionsRequestObject:
		_, refused, err := h.listQuery(r.Params)
		return refused == nil && err == nil
	}
	return true
}
