package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Only the operator drives the test harness; what its inspection reads may
// cost.
const (
	recordFills   = 5
	recordReaders = 3
)

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
