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
	"sync"
	"time"

	"golang.org/x/net/http2/hpack"
)

// Bodies that come slowly: logins trickled one byte a second, chunked (no
// declared length), and uploads with the right token at the size limit.
const (
	trickleConns      = 140 // as first measured over HTTP/1.1
	trickleSpread     = 14  // per attacker address
	trickleStreams    = 200 // as first measured over HTTP/2, on one connection
	trickleEvery      = time.Second
	slowUploadCount   = 2
	slowUploadStart   = 64 << 10
	slowUploadStep    = 4 << 10
	slowUploadEvery   = 100 * time.Millisecond
	trickleMaxSeconds = 30 // no trickle outlives this, whatever
)

// trickleLogin is the body every trickled login sends: a valid login.
var trickleLogin = loginBody(adminUser, "wrong-guess")

// trickleChunked sends a chunked login one byte a second until ctx ends,
// and says what became of it.
func trickleChunked(ctx context.Context, ip net.IP, addr string, started func()) string {
	defer started() // also when the dial fails
	conn, err := dialFrom(ctx, ip, addr)
	if err != nil {
		return "dial failed"
	}
	defer conn.Close()
	outcome := make(chan string, 1)
	go func() { outcome <- holdConn(ctx, conn) }()
	if _, err := io.WriteString(conn, requestHead(loginPath, addr, "", -1)); err != nil {
		return "closed, no answer"
	}
	tick := time.NewTicker(trickleEvery)
	defer tick.Stop()
	for i := 0; i < len(trickleLogin) && i < trickleMaxSeconds; i++ {
		if _, err := fmt.Fprintf(conn, "1\r\n%c\r\n", trickleLogin[i]); err != nil {
			break
		}
		if i == 0 {
			started()
		}
		select {
		case <-ctx.Done():
			return <-outcome
		case <-tick.C:
		}
	}
	return <-outcome
}

func trickledLoginsHTTP1(ctx context.Context, h *harness) error {
	s, p, err := h.startProbed(ctx, startOptions{}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	before := s.rss()
	outcomes := &tally{}
	r := underAttack(ctx, p, func(actx context.Context, ready func()) {
		var wg, started sync.WaitGroup
		started.Add(trickleConns)
		for i := range trickleConns {
			var once sync.Once
			wg.Go(func() {
				outcomes.addKey(trickleChunked(actx, attackerIP(i/trickleSpread), s.addr, func() { once.Do(started.Done) }))
			})
		}
		started.Wait()
		ready()
		wg.Wait()
	})
	h.memoryRows(s, before)
	h.info(fmt.Sprintf("%d chunked logins, 1 byte/s: at the end", trickleConns), outcomes.String())
	h.proof("well-formed chunked logins: no 400", outcomes.String(), "none", !outcomes.any(http.StatusBadRequest))
	h.probeRows(r)
	return nil
}

func trickledLoginsHTTP2(ctx context.Context, h *harness) error {
	s, p, err := h.startProbed(ctx, startOptions{tls: true}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	block, err := headerBlock(http.MethodPost, s.addr, loginPath, []hpack.HeaderField{{Name: "content-type", Value: "application/json"}})
	if err != nil {
		return err
	}
	before := s.rss()
	outcomes := &tally{}
	var opened int
	r := underAttack(ctx, p, func(actx context.Context, ready func()) {
		c, err := dialH2(ctx, attackerIP(0), s.addr)
		if err != nil {
			outcomes.addKey(errKind(err))
			return
		}
		defer c.close()
		var ids []uint32
		for range trickleStreams {
			id, err := c.open(block, false)
			if err != nil {
				break
			}
			ids = append(ids, id)
		}
		opened = len(ids)
		trickleStreamsOf(actx, c, ids, ready)
		c.outcome(outcomes)
	})
	h.memoryRows(s, before)
	h.info(fmt.Sprintf("%d login streams, 1 connection, 1 byte/s: at the end", trickleStreams), fmt.Sprintf("%d opened: %s", opened, outcomes))
	h.proof("well-formed login streams: no 400", outcomes.String(), "none", !outcomes.any(http.StatusBadRequest))
	h.probeRows(r)
	return nil
}

// trickleStreamsOf sends one byte a second on every stream the server has
// not ended, until ctx ends; ready after the first byte.
func trickleStreamsOf(ctx context.Context, c *h2Conn, ids []uint32, ready func()) {
	tick := time.NewTicker(trickleEvery)
	defer tick.Stop()
	for i := 0; i < len(trickleLogin) && i < trickleMaxSeconds; i++ {
		for _, id := range ids {
			if !c.closed(id) {
				_ = c.data(id, trickleLogin[i:i+1], false)
			}
		}
		if i == 0 {
			ready()
		}
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-tick.C:
		}
	}
}

// slowUploads: uploads of valid bodies at the size limit with the right
// token, slow while the probe runs, then at full speed to their end.
func slowUploads(ctx context.Context, h *harness) error {
	body, err := h.maxSizeBody()
	if err != nil {
		return err
	}
	s, p, err := h.startProbed(ctx, startOptions{}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	before := s.rss()
	answers := &tally{}
	r := underAttack(ctx, p, func(actx context.Context, ready func()) {
		var wg, started sync.WaitGroup
		started.Add(slowUploadCount)
		for range slowUploadCount {
			wg.Go(func() { answers.add(slowUpload(ctx, actx, s, body, started.Done), nil) })
		}
		started.Wait()
		ready()
		wg.Wait()
	})
	h.memoryRows(s, before)
	h.info(fmt.Sprintf("answers to %d slow uploads at the body limit", slowUploadCount), fmt.Sprintf("%s each: %s", mb(int64(len(body))), answers))
	h.validBodyRows(answers, slowUploadCount)
	h.probeRows(r)
	return nil
}

// slowUpload sends body slowly until slow ends, then the rest at once, and
// returns the status of the answer (0: none).
func slowUpload(ctx, slow context.Context, s *server, body []byte, started func()) int {
	conn, err := dialFrom(ctx, attackerIP(0), s.addr)
	if err != nil {
		started()
		return 0
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	answered := make(chan int, 1)
	go func() { answered <- readStatus(conn) }()
	_, err = io.WriteString(conn, requestHead(sendPath, s.addr, operatorToken, len(body)))
	sent := 0
	if err == nil {
		sent, err = conn.Write(body[:slowUploadStart])
	}
	started()
	tick := time.NewTicker(slowUploadEvery)
	defer tick.Stop()
	for err == nil && slow.Err() == nil && sent+slowUploadStep < len(body) {
		select {
		case <-slow.Done():
		case <-tick.C:
			var n int
			n, err = conn.Write(body[sent : sent+slowUploadStep])
			sent += n
		}
	}
	if err == nil {
		_, _ = conn.Write(body[sent:])
	}
	return <-answered
}

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
