package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"strings"

	"github.com/hzkit/sendmessage/gen/apiclient"
	"github.com/hzkit/sendmessage/gen/model"
)

// hasMoreRecords is the header with which Horizon says that more pages follow.
const hasMoreRecords = "HAS_MORE_RECORDS"

// Filter selects sessions in Horizon's filter language. Build one with
// Equals, NotEquals, Contains, StartsWith, EndsWith, Between, And, Or and
// Not; field names are SessionInfo's JSON names, such as "desktop_pool_id".
// The zero Filter selects every session.
type Filter struct{ node *filterNode }

// filterNode is one filter as Horizon's JSON has it.
type filterNode struct {
	Type      string        `json:"type"`
	Name      string        `json:"name,omitempty"`
	Value     any           `json:"value,omitempty"`
	FromValue any           `json:"fromValue,omitempty"`
	ToValue   any           `json:"toValue,omitempty"`
	Filters   []*filterNode `json:"filters,omitempty"`
	Filter    *filterNode   `json:"filter,omitempty"`
}

// Equals selects sessions whose field has the value.
func Equals(field string, value any) Filter { return compare("Equals", field, value) }

// NotEquals selects sessions whose field lacks the value, or is absent.
func NotEquals(field string, value any) Filter { return compare("NotEquals", field, value) }

// Contains selects sessions whose string field contains text.
func Contains(field, text string) Filter { return compare("Contains", field, text) }

// StartsWith selects sessions whose string field starts with text.
func StartsWith(field, text string) Filter { return compare("StartsWith", field, text) }

// EndsWith selects sessions whose string field ends with text.
func EndsWith(field, text string) Filter { return compare("EndsWith", field, text) }

// Between selects sessions whose field lies from low to high, both included.
func Between(field string, low, high any) Filter {
	return Filter{&filterNode{Type: "Between", Name: field, FromValue: low, ToValue: high}}
}

// And selects sessions that every one of filters selects.
func And(filters ...Filter) Filter { return combine("And", filters) }

// Or selects sessions that any of filters selects.
func Or(filters ...Filter) Filter { return combine("Or", filters) }

// Not selects sessions that f does not select.
func Not(f Filter) Filter { return Filter{&filterNode{Type: "Not", Filter: f.node}} }

func compare(kind, field string, value any) Filter {
	return Filter{&filterNode{Type: kind, Name: field, Value: value}}
}

func combine(kind string, filters []Filter) Filter {
	nodes := make([]*filterNode, len(filters))
	for i, f := range filters {
		nodes[i] = f.node
	}
	return Filter{&filterNode{Type: kind, Filters: nodes}}
}

// IsZero reports whether f is the zero Filter, which selects every session.
func (f Filter) IsZero() bool { return f.node == nil }

// MarshalJSON returns the filter in Horizon's JSON filter language.
func (f Filter) MarshalJSON() ([]byte, error) {
	if err := f.node.check(); err != nil {
		return nil, err
	}
	return json.Marshal(f.node)
}

// String returns the filter's JSON, or a note of what is wrong with it.
func (f Filter) String() string {
	b, err := f.MarshalJSON()
	if err != nil {
		return "invalid filter: " + err.Error()
	}
	return string(b)
}

// check refuses what would be no filter at all: a zero Filter inside And, Or
// or Not, or And and Or of nothing. The server judges the rest.
func (n *filterNode) check() error {
	if n == nil {
		return fmt.Errorf("%w: an empty Filter inside And, Or or Not", ErrInvalidInput)
	}
	if (n.Type == "And" || n.Type == "Or") && len(n.Filters) == 0 {
		return fmt.Errorf("%w: %s of no filters", ErrInvalidInput, n.Type)
	}
	if n.Type == "Not" {
		return n.Filter.check()
	}
	for _, child := range n.Filters {
		if err := child.check(); err != nil {
			return err
		}
	}
	return nil
}

// Sessions walks every session that f selects, asking for one page at a time
// as the walk goes on. An error ends the walk.
func (c *Client) Sessions(ctx context.Context, f Filter) iter.Seq2[Session, error] {
	return func(yield func(Session, error) bool) {
		params := model.ListSessionsParams{Size: &c.pageSize}
		if !f.IsZero() {
			text, err := f.MarshalJSON()
			if err != nil {
				yield(Session{}, fmt.Errorf("list sessions: %w", err))
				return
			}
			filter := string(text)
			params.Filter = &filter
		}
		for page := int32(1); ; page++ {
			params.Page = &page
			sessions, more, err := c.sessionsPage(ctx, &params)
			if err != nil {
				yield(Session{}, fmt.Errorf("list sessions, page %d: %w", page, err))
				return
			}
			for _, s := range sessions {
				if !yield(s, nil) {
					return
				}
			}
			if !more || len(sessions) == 0 {
				return
			}
		}
	}
}

// ListSessions returns every session that f selects, reading all pages.
func (c *Client) ListSessions(ctx context.Context, f Filter) ([]Session, error) {
	sessions := []Session{}
	for s, err := range c.Sessions(ctx, f) {
		if err != nil {
			return nil, err
		}
		sessions = append(sessions, s)
	}
	return sessions, nil
}

func (c *Client) sessionsPage(ctx context.Context, params *model.ListSessionsParams) ([]Session, bool, error) {
	resp, err := c.call(ctx, func(ctx context.Context, auth apiclient.RequestEditorFn) (*http.Response, error) {
		return c.api.ListSessions(ctx, params, auth)
	})
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, false, newAPIError(resp)
	}
	parsed, err := apiclient.ParseListSessionsResponse(resp)
	if err != nil {
		return nil, false, fmt.Errorf("read %s answer: %w", resp.Request.URL.Redacted(), err)
	}
	if parsed.JSON200 == nil {
		return nil, false, fmt.Errorf("%s answered 200 with Content-Type %q, not JSON",
			resp.Request.URL.Redacted(), resp.Header.Get("Content-Type"))
	}
	// Horizon clients test the header's presence; its value is TRUE.
	more := resp.Header.Get(hasMoreRecords)
	return sessionsFromModel(*parsed.JSON200), more != "" && !strings.EqualFold(more, "false"), nil
}

// GetSession returns the session with the given id. An unknown id is an
// *APIError with StatusCode 404.
func (c *Client) GetSession(ctx context.Context, id string) (Session, error) {
	if id == "" {
		return Session{}, fmt.Errorf("%w: GetSession: empty id", ErrInvalidInput)
	}
	resp, err := c.call(ctx, func(ctx context.Context, auth apiclient.RequestEditorFn) (*http.Response, error) {
		return c.api.GetSession(ctx, id, auth)
	})
	if err != nil {
		return Session{}, fmt.Errorf("get session %s: %w", id, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return Session{}, newAPIError(resp)
	}
	parsed, err := apiclient.ParseGetSessionResponse(resp)
	if err != nil {
		return Session{}, fmt.Errorf("get session %s: read answer: %w", id, err)
	}
	if parsed.JSON200 == nil {
		return Session{}, fmt.Errorf("get session %s: %s answered 200 with Content-Type %q, not JSON",
			id, resp.Request.URL.Redacted(), resp.Header.Get("Content-Type"))
	}
	return sessionFromModel(*parsed.JSON200), nil
}

// maxPageSize is the most sessions one page may hold: the maximum of the
// size parameter of listSessions in the spec the client was generated from.
const maxPageSize int32 = model.ListSessionsSizeMaximum
