package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// hasMoreRecords is the header with which Horizon says more pages follow.
const hasMoreRecords = "HAS_MORE_RECORDS"

// onePage asks for the first session only, with token.
func (r *runner) onePage(token string) request {
	return request{op: opList, path: pathSessions, query: url.Values{"page": {"1"}, "size": {"1"}}, token: token}
}

// checkListAll lists every session, which later checks compare with.
func (r *runner) checkListAll(ctx context.Context) error {
	c := r.start("list every session", opList)
	a := c.send(ctx, request{op: opList, path: pathSessions, token: r.access}, http.StatusOK)
	switch {
	case a == nil && r.cfg.Login == nil:
		c.done()
		return noAnswer("list sessions at "+r.baseURL, c.err)
	case a != nil && a.status == http.StatusUnauthorized && r.cfg.Login == nil:
		c.done()
		return cannotRun("the server refused the token (401): give a valid access token, or log in with --username and --domain")
	case a != nil && a.status == http.StatusOK:
		if a.header.Get(hasMoreRecords) != "" {
			c.differ("%s: %s: %s, though every session was asked for", opList, hasMoreRecords, a.header.Get(hasMoreRecords))
		}
		if items, ok := a.json.([]any); ok {
			r.sessions, r.listed = objects(items), true
			c.res.Note = fmt.Sprintf("%d sessions", len(r.sessions))
		}
	}
	c.done()
	return nil
}

// objects keeps the JSON objects of items.
func objects(items []any) []map[string]any {
	out := make([]map[string]any, 0, len(items))
	for _, item := range items {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// ids are the ids of sessions, in order.
func ids(sessions []map[string]any) []string {
	out := make([]string, len(sessions))
	for i, s := range sessions {
		out[i], _ = s["id"].(string)
	}
	return out
}

// pageSize picks a size that makes at least three pages of the sessions,
// when there are three, within the spec's maximum.
func (r *runner) pageSize() int {
	size := max(1, len(r.sessions)/3)
	if op, err := findOperation(r.cfg.Contract, opList); err == nil {
		if most, ok := op.queryParameterMaximum("size"); ok && int64(size) > most {
			size = int(most)
		}
	}
	return size
}

// checkPaging reads the first, a middle and the last page, and one past the
// end, and compares them with the full listing.
func (r *runner) checkPaging(ctx context.Context) {
	names := []string{"first page", "middle page", "last page", "page past the end"}
	if !r.listed {
		for _, name := range names {
			r.start(name, opList).skip("the full listing, which pages are compared with, failed")
		}
		return
	}
	n, size := len(r.sessions), r.pageSize()
	pages := (n + size - 1) / size
	for i, page := range []int{1, 2, pages, pages + 1} {
		c := r.start(names[i], opList)
		switch {
		case i == 1 && pages < 3:
			c.skip(fmt.Sprintf("%d sessions make %d pages of %d: no middle page", n, pages, size))
			continue
		case i == 2 && pages < 2:
			c.skip(fmt.Sprintf("%d sessions make %d page of %d: the first is the last", n, pages, size))
			continue
		}
		r.checkPage(ctx, c, page, size)
		c.done()
	}
}

// checkPage asks for one page and compares it with the full listing.
func (r *runner) checkPage(ctx context.Context, c *check, page, size int) {
	query := url.Values{"page": {strconv.Itoa(page)}, "size": {strconv.Itoa(size)}}
	a := c.send(ctx, request{op: opList, path: pathSessions, query: query, token: r.access}, http.StatusOK)
	if a == nil || a.status != http.StatusOK {
		return
	}
	n := len(r.sessions)
	from, to := min((page-1)*size, n), min(page*size, n)
	items, _ := a.json.([]any)
	want, got := ids(r.sessions[from:to]), ids(objects(items))
	if strings.Join(got, ",") != strings.Join(want, ",") {
		c.differ("%s: page %d of size %d holds %s, want %s of the full listing (sessions that come or go during the run also do this)",
			opList, page, size, idList(got), idList(want))
	}
	more := a.header.Get(hasMoreRecords)
	switch {
	case to < n && !strings.EqualFold(more, "TRUE"):
		c.differ("%s: no %s: TRUE on page %d of %d", opList, hasMoreRecords, page, (n+size-1)/size)
	case to >= n && more != "":
		c.differ("%s: %s: %s on page %d, after which no session follows", opList, hasMoreRecords, more, page)
	}
	c.res.Note = fmt.Sprintf("page %d, size %d: %d sessions", page, size, len(got))
}

// idList writes ids for evidence: a few, and how many.
func idList(ids []string) string {
	const shown = 3
	switch {
	case len(ids) == 0:
		return "no session"
	case len(ids) <= shown:
		return "[" + strings.Join(ids, " ") + "]"
	}
	return fmt.Sprintf("[%s ...] (%d sessions)", strings.Join(ids[:shown], " "), len(ids))
}

// checkPagingRefusals asks for pages the contract refuses.
func (r *runner) checkPagingRefusals(ctx context.Context) {
	c := r.start("page without size", opList)
	c.send(ctx, request{op: opList, path: pathSessions, query: url.Values{"page": {"1"}}, token: r.access}, http.StatusBadRequest)
	c.done()

	c = r.start("size above the maximum", opList)
	op, err := findOperation(r.cfg.Contract, opList)
	if err != nil {
		c.differ("%v", err)
		c.done()
		return
	}
	most, ok := op.queryParameterMaximum("size")
	if !ok {
		c.skip("the contract sets no maximum page size")
		return
	}
	query := url.Values{"page": {"1"}, "size": {strconv.FormatInt(most+1, 10)}}
	c.send(ctx, request{op: opList, path: pathSessions, query: query, token: r.access}, http.StatusBadRequest)
	c.done()
}

// checkGet reads a known session and an unknown one.
func (r *runner) checkGet(ctx context.Context) {
	c := r.start("get a known session", opGet)
	switch {
	case !r.listed:
		c.skip("the full listing, which names a known session, failed")
	case len(r.sessions) == 0:
		c.skip("the server has no session")
	default:
		id, _ := r.sessions[0]["id"].(string)
		a := c.send(ctx, request{op: opGet, path: pathSessions + "/" + url.PathEscape(id), token: r.access}, http.StatusOK)
		if a != nil && a.status == http.StatusOK {
			if body, _ := a.json.(map[string]any); body["id"] != id {
				c.differ("%s: the answer for %s has the id %v", opGet, id, body["id"])
			}
		}
		c.done()
	}

	c = r.start("get an unknown session", opGet)
	c.send(ctx, request{op: opGet, path: pathSessions + "/" + r.unknownID(), token: r.access}, http.StatusNotFound)
	c.done()
}

// unknownID is a random id that is none of the listed sessions'.
func (r *runner) unknownID() string {
	for {
		id := newID()
		known := false
		for _, s := range r.sessions {
			known = known || s["id"] == id
		}
		if !known {
			return id
		}
	}
}
