package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// trickledBody sends a body one byte every 50 ms to a server whose read
// and write timeouts are equal (as by default), 1 s here: the answer must
// be 408 on the wire, not a silent close.
func trickledBody(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{args: []string{"-read-timeout", "1s", "-write-timeout", "1s"}})
	if err != nil {
		return err
	}
	defer s.stop()
	conn, err := dialFrom(ctx, attackerIP(0), s.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	body := sendBody(strings.Repeat("m", 200), []string{"s-00001"})
	if _, err := io.WriteString(conn, requestHead(sendPath, s.addr, operatorToken, len(body))); err != nil {
		return fmt.Errorf("write headers: %w", err)
	}
	start := time.Now()
	answer := make(chan []byte, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		raw, _ := io.ReadAll(conn)
		answer <- raw
	}()
	raw := trickleUntilAnswer(conn, body, answer)
	elapsed := time.Since(start).Round(10 * time.Millisecond)
	status := "no answer"
	if resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil); err == nil {
		status = strconv.Itoa(resp.StatusCode)
		resp.Body.Close()
	}
	h.budget("answer on the wire before the close", status, "408", status == "408")
	h.info("connection closed after", elapsed.String())
	return nil
}

// trickleUntilAnswer writes body one byte every 50 ms until the answer
// comes, and returns it.
func trickleUntilAnswer(conn net.Conn, body []byte, answer <-chan []byte) []byte {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := range body {
		select {
		case raw := <-answer:
			return raw
		case <-tick.C:
			_, _ = conn.Write(body[i : i+1])
		}
	}
	return <-answer
}
