package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/hzkit/sendmessage/gen/apiclient"
	"github.com/hzkit/sendmessage/gen/model"
)

// hasMoreRecords is the header with which Horizon says that more pages follow.
const hasMoreRecords = "HAS_MORE_RECORDS"

// Filter selects sessions in Horizon's filter language. Build one with
// Equals, NotEquals, Contains, StartsWith, EndsWith, Between, And, Or and
// Not. A field is named as SessionInfo's JSON names it, such as
// "desktop_pool_id", and a field of the client device or gateway data with a
// dot, as "client_data.type"; each field of Session gives its name. The zero
// Filter selects every session.
//
// A builder checks its field and value against the spec the client was
// generated from: an unknown field, or a value of the wrong type for the
// field (see FilterValue), makes a Filter that lists and sends nothing but
// returns an error that wraps ErrInvalidInput.
//
// Which filters a field takes is the server's to say. Horizon documents, from
// version 2111 on: Equals on every field that holds one value; NotEquals also
// on session_state; Contains on application_names, where it selects the
// sessions whose list holds the value. Horizon 8.0.0 documents no filter on
// the sessions listing at all. A Connection Server may refuse any other
// pairing with 400 (an *APIError), and one that ignores filters returns
// every session: a caller that acts on the sessions should check them.
type Filter struct {
	filter *model.SessionFilter // the spec's SessionFilter
	err    error                // why there is none, said when it is sent
}

// FilterValue is the Go type of a value that Equals, NotEquals and Between
// compare a field with. Which one a field takes follows from its type in the
// spec:
//
//   - a field that holds text, session_state and the other enums included: a
//     string, or a type whose underlying type is string, such as SessionState;
//   - a boolean field: bool;
//   - a number: an integer (int or int64);
//   - start_time and disconnected_time: a time.Time, sent as the milliseconds
//     since the Unix epoch that Horizon uses, or those milliseconds as an
//     integer;
//   - last_session_duration_ms: a time.Duration, sent in milliseconds, or the
//     milliseconds as an integer.
//
// Any other pairing makes a Filter with an error, and nothing is sent.
type FilterValue interface {
	~string | ~bool | ~int | ~int64 | time.Time
}

// Equals selects sessions whose field has the value. Horizon documents it on
// every field that holds one value.
func Equals[V FilterValue](field string, value V) Filter {
	v, err := filterValue("Equals", field, value)
	if err != nil {
		return Filter{err: err}
	}
	return build(func(f *model.SessionFilter) error {
		return f.FromEqualsFilter(model.EqualsFilter{Name: model.SessionFieldName(field), Value: v})
	})
}

// NotEquals selects sessions whose field lacks the value, or is absent.
// Horizon documents it on session_state only.
func NotEquals[V FilterValue](field string, value V) Filter {
	v, err := filterValue("NotEquals", field, value)
	if err != nil {
		return Filter{err: err}
	}
	return build(func(f *model.SessionFilter) error {
		return f.FromNotEqualsFilter(model.NotEqualsFilter{Name: model.SessionFieldName(field), Value: v})
	})
}

// Contains selects sessions whose list field holds text as one of its
// values, or whose text field contains text. Horizon documents it on
// application_names only, a list: Contains("application_names", "Microsoft
// Excel") selects the sessions in which Excel was launched.
func Contains(field, text string) Filter {
	if err := textFilter("Contains", field, true); err != nil {
		return Filter{err: err}
	}
	return build(func(f *model.SessionFilter) error {
		return f.FromContainsFilter(model.ContainsFilter{Name: model.SessionFieldName(field), Value: text})
	})
}

// StartsWith selects sessions whose text field starts with text. Horizon
// documents it on no field of SessionInfo.
func StartsWith(field, text string) Filter {
	if err := textFilter("StartsWith", field, false); err != nil {
		return Filter{err: err}
	}
	return build(func(f *model.SessionFilter) error {
		return f.FromStartsWithFilter(model.StartsWithFilter{Name: model.SessionFieldName(field), Value: text})
	})
}

// EndsWith selects sessions whose text field ends with text. Horizon
// documents it on no field of SessionInfo.
func EndsWith(field, text string) Filter {
	if err := textFilter("EndsWith", field, false); err != nil {
		return Filter{err: err}
	}
	return build(func(f *model.SessionFilter) error {
		return f.FromEndsWithFilter(model.EndsWithFilter{Name: model.SessionFieldName(field), Value: text})
	})
}

// Between selects sessions whose field lies from low to high, both included.
// Horizon documents it on no field of SessionInfo.
func Between[V FilterValue](field string, low, high V) Filter {
	from, err := filterValue("Between", field, low)
	if err != nil {
		return Filter{err: err}
	}
	to, err := filterValue("Between", field, high)
	if err != nil {
		return Filter{err: err}
	}
	return build(func(f *model.SessionFilter) error {
		return f.FromBetweenFilter(model.BetweenFilter{Name: model.SessionFieldName(field), FromValue: from, ToValue: to})
	})
}

// And selects sessions that every one of filters selects.
func And(filters ...Filter) Filter {
	return combine("And", filters, func(f *model.SessionFilter, all []model.SessionFilter) error {
		return f.FromAndFilter(model.AndFilter{Filters: all})
	})
}

// Or selects sessions that any of filters selects.
func Or(filters ...Filter) Filter {
	return combine("Or", filters, func(f *model.SessionFilter, all []model.SessionFilter) error {
		return f.FromOrFilter(model.OrFilter{Filters: all})
	})
}

// Not selects sessions that f does not select.
func Not(f Filter) Filter {
	return combine("Not", []Filter{f}, func(not *model.SessionFilter, one []model.SessionFilter) error {
		return not.FromNotFilter(model.NotFilter{Filter: one[0]})
	})
}

// build makes a Filter with one of the generated From methods, which also
// set its type.
func build(from func(*model.SessionFilter) error) Filter {
	var f model.SessionFilter
	if err := from(&f); err != nil {
		return Filter{err: fmt.Errorf("encode filter: %w", err)}
	}
	return Filter{filter: &f}
}

// combine refuses what would be no filter at all: a zero Filter inside And,
// Or or Not, or And and Or of nothing. The server judges the rest.
func combine(kind string, filters []Filter, from func(*model.SessionFilter, []model.SessionFilter) error) Filter {
	if len(filters) == 0 {
		return Filter{err: fmt.Errorf("%w: %s of no filters", ErrInvalidInput, kind)}
	}
	parts := make([]model.SessionFilter, len(filters))
	for i, f := range filters {
		switch {
		case f.err != nil:
			return f
		case f.filter == nil:
			return Filter{err: fmt.Errorf("%w: an empty Filter inside %s", ErrInvalidInput, kind)}
		}
		parts[i] = *f.filter
	}
	return build(func(f *model.SessionFilter) error { return from(f, parts) })
}

// IsZero reports whether f is the zero Filter, which selects every session.
func (f Filter) IsZero() bool { return f.filter == nil && f.err == nil }

// MarshalJSON returns the filter in Horizon's JSON filter language.
func (f Filter) MarshalJSON() ([]byte, error) {
	switch {
	case f.err != nil:
		return nil, f.err
	case f.filter == nil:
		return nil, fmt.Errorf("%w: the zero Filter has no JSON: it sends no filter at all", ErrInvalidInput)
	}
	return f.filter.MarshalJSON()
}

// String returns the filter's JSON, or a note of what is wrong with it.
func (f Filter) String() string {
	b, err := f.MarshalJSON()
	if err != nil {
		return "invalid filter: " + err.Error()
	}
	return string(b)
}

// Sessions walks every session that f selects, asking for one page at a time
// as the walk goes on. An error ends the walk. Each page is asked for once,
// or, by a client from Login, a second time after a 401 and a new login;
// nothing else is retried. Listing changes nothing on the server: a caller
// may try again.
func (c *Client) Sessions(ctx context.Context, f Filter) iter.Seq2[Session, error] {
	return func(yield func(Session, error) bool) {
		if f.err != nil {
			yield(Session{}, fmt.Errorf("list sessions: %w", f.err))
			return
		}
		params := model.ListSessionsParams{Size: &c.pageSize, Filter: f.filter}
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

// ListSessions returns every session that f selects, reading all pages. It
// retries as Sessions does.
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
// *APIError with StatusCode 404. The request is sent once, or, by a client
// from Login, a second time after a 401 and a new login.
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
