package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Only the operator drives the test harness; what its inspection reads may
// cost.
const (
	ordinaryUserOps = 7
	recordFills     = 5
	recordReaders   = 3
)

// harnessOrdinaryUser: a data-file user who is not the operator calls the
// harness operations: 403 on each, while Horizon's operations still work
// for it and the open pages stay open.
func harnessOrdinaryUser(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	op := operator()
	rule := jsonBytes(map[string]any{"operation": "sendMessageToSessions", "action": "respond", "status": 503, "times": 1, "session_ids": []string{"no-such-session"}})
	status, _, id := addRule(ctx, op, s, rule)
	h.proof("the operator adds a rule", strconv.Itoa(status), "201", status == http.StatusCreated)
	user := newClient(probeIP, clientOptions{})
	token, _, err := login(ctx, user, s.base, probeUser, probePassword)
	if err != nil {
		return err
	}
	status, _, _ = post(ctx, user, s.base+sendPath, token, sendBody("hello", sessionIDs(1)))
	h.proof("the ordinary user's token on send-message", strconv.Itoa(status), "200", status == http.StatusOK)
	calls := []struct {
		method, path string
		body         []byte
	}{
		{http.MethodGet, faultsPath, nil}, {http.MethodPost, faultsPath, rule}, {http.MethodGet, faultsPath + "/" + id, nil},
		{http.MethodDelete, faultsPath + "/" + id, nil}, {http.MethodDelete, faultsPath, nil},
		{http.MethodGet, messagesPath, nil}, {http.MethodDelete, messagesPath, nil},
	}
	answers := &tally{}
	for _, c := range calls {
		status, _, err := do(ctx, user, c.method, s.base+c.path, token, c.body)
		answers.add(status, err)
	}
	n := answers.count(http.StatusForbidden)
	h.budget(fmt.Sprintf("ordinary user on the %d harness operations: 403s", ordinaryUserOps), fmt.Sprintf("%d (%s)", n, answers),
		strconv.Itoa(ordinaryUserOps), n == ordinaryUserOps)
	open := &tally{}
	for _, path := range []string{healthPath, "/rest/refserver/v1/openapi.yaml", "/rest/refserver/v1/docs"} {
		status, _, err := get(ctx, user, s.base+path, "")
		open.add(status, err)
	}
	h.budget("health, spec and docs without a token: 200s", open.String(), "3x200", open.count(http.StatusOK) == 3)
	status, _, _ = do(ctx, op, http.MethodDelete, s.base+faultsPath, operatorToken, nil)
	h.budget("the operator's token clears the rules", strconv.Itoa(status), "204", status == http.StatusNoContent)
	return h.operatorRole(ctx)
}

// operatorRole: a data-file user with the design's operator role drives
// the harness.
func (h *harness) operatorRole(ctx context.Context) error {
	name := filepath.Join(h.dir, "data-operator.json")
	if err := writeDataFile(name, true); err != nil {
		return err
	}
	s, err := h.start(ctx, startOptions{dataFile: name, label: "-operator"})
	if err != nil {
		if contains(err.Error(), "operator") {
			h.unsupported(`a data-file user with "operator": true`, "refused at start-up")
			return nil
		}
		return err
	}
	defer s.stop()
	client := newClient(operatorIP, clientOptions{})
	token, _, err := login(ctx, client, s.base, "operator", adminPassword)
	if err != nil {
		return err
	}
	rule := jsonBytes(map[string]any{"operation": "listSessions", "action": "respond", "status": 503, "times": 1})
	status, _, _ := post(ctx, client, s.base+faultsPath, token, rule)
	h.budget(`a data-file operator adds a rule`, strconv.Itoa(status), "201", status == http.StatusCreated)
	return nil
}

// recordRead fills the record with long messages, then reads all of it
// with three readers at once, page by page.
func recordRead(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{})
	if err != nil {
		return err
	}
	defer s.stop()
	client := operator()
	ids := sessionIDs(manySessions)
	before := s.rss()
	for i := range recordFills {
		// 1000 characters of 3 bytes each, different in every request.
		message := fmt.Sprintf("%04d", i) + strings.Repeat("€", 996)
		status, _, err := post(ctx, client, s.base+sendPath, operatorToken, sendBody(message, ids))
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("fill the record: status %d, %w", status, err)
		}
	}
	read := make([]int, recordReaders)
	errs := make([]error, recordReaders)
	var wg sync.WaitGroup
	for i := range recordReaders {
		wg.Go(func() { read[i], errs[i] = readRecord(ctx, client, s.base) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	h.memoryRows(s, before)
	h.info(fmt.Sprintf("messages read by each of %d readers", recordReaders), strconv.Itoa(read[0]))
	return nil
}

// readRecord reads every page of the record and returns how many messages
// it held.
func readRecord(ctx context.Context, client *http.Client, base string) (int, error) {
	total := 0
	after := int64(0)
	for range 10000 {
		status, body, err := get(ctx, client, fmt.Sprintf("%s%s?limit=1000&after=%d", base, messagesPath, after), operatorToken)
		if err != nil || status != http.StatusOK {
			return total, fmt.Errorf("read the record: status %d, %w", status, err)
		}
		var page struct {
			Messages  []json.RawMessage `json:"messages"`
			NextAfter *int64            `json:"next_after"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return total, fmt.Errorf("read the record: %w", err)
		}
		total += len(page.Messages)
		if page.NextAfter == nil {
			return total, nil
		}
		after = *page.NextAfter
	}
	return total, errors.New("read the record: too many pages")
}
