package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2/hpack"
)

// Header sections that never end, or that are far too large.
const (
	headerConns       = 200     // HTTP/1.1 connections
	headerBytesEach   = 1 << 20 // what each sends: about 1 MiB of distinct lines
	h2HeaderConns     = 3       // HTTP/2 connections
	h2HeaderStreams   = 250     // streams on each
	connsPerAttacker  = 50      // under the design's 64 per address: the header budget is tried, not the address cap
	headerLineValueLn = 85
)

// headerLine is the i-th distinct header line of an attack.
func headerLine(i int) string {
	return fmt.Sprintf("X-Hostile-%06d: %s\r\n", i, strings.Repeat("h", headerLineValueLn))
}

// holdConn waits for the server's answer on conn until ctx ends, and says
// what happened: the status, "closed, no answer" or "held open".
func holdConn(ctx context.Context, conn net.Conn) string {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		return strconv.Itoa(resp.StatusCode)
	}
	if ctx.Err() != nil {
		return "held open"
	}
	return "closed, no answer"
}

// endlessHeaders sends a request line and about headerBytesEach of header
// lines, never the empty line that ends them, then holds the connection.
func endlessHeaders(ctx context.Context, ip net.IP, addr string, sent *atomic.Int64, outcomes *tally, written func()) {
	conn, err := dialFrom(ctx, ip, addr)
	if err != nil {
		outcomes.addKey("dial failed")
		written()
		return
	}
	defer conn.Close()
	outcome := make(chan string, 1)
	go func() { outcome <- holdConn(ctx, conn) }()
	var b strings.Builder
	b.WriteString("GET " + listPath + " HTTP/1.1\r\nHost: " + addr + "\r\n")
	_ = conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
	total := 0
	for i := 0; total < headerBytesEach-4096; i++ {
		b.WriteString(headerLine(i))
		if b.Len() >= 64<<10 {
			n, err := conn.Write([]byte(b.String()))
			total += n
			b.Reset()
			if err != nil {
				break
			}
		}
	}
	sent.Add(int64(total))
	written()
	outcomes.addKey(<-outcome)
}

func headersHTTP1(ctx context.Context, h *harness) error {
	s, p, err := h.startProbed(ctx, startOptions{}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	before := s.rss()
	var sent atomic.Int64
	outcomes := &tally{}
	r := underAttack(ctx, p, func(actx context.Context, ready func()) {
		var wg, written sync.WaitGroup
		written.Add(headerConns)
		for i := range headerConns {
			wg.Go(func() { endlessHeaders(actx, attackerIP(i/connsPerAttacker), s.addr, &sent, outcomes, written.Done) })
		}
		written.Wait()
		ready()
		wg.Wait()
	})
	h.memoryRows(s, before)
	h.info(fmt.Sprintf("header bytes sent on %d connections, never ended", headerConns), mb(sent.Load()))
	h.info("what each connection got", outcomes.String())
	h.proof("the header sections never ended: no answer but 431", outcomes.String(), "none",
		outcomes.only(http.StatusRequestHeaderFieldsTooLarge))
	h.probeRows(r)
	return nil
}

// bigHeaderFields are about size bytes of distinct header fields, counted
// as HTTP/2 counts a header list (name, value and 32 each).
func bigHeaderFields(size int) []hpack.HeaderField {
	var fields []hpack.HeaderField
	for i, total := 0, 0; total < size; i++ {
		f := hpack.HeaderField{Name: fmt.Sprintf("x-hostile-%06d", i), Value: strings.Repeat("h", headerLineValueLn)}
		fields = append(fields, f)
		total += int(f.Size())
	}
	return fields
}

func headersHTTP2(ctx context.Context, h *harness) error {
	s, p, err := h.startProbed(ctx, startOptions{tls: true}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	// Logins whose body never comes: each stream holds its header section
	// while the server waits for the body.
	block, err := headerBlock(http.MethodPost, s.addr, loginPath, bigHeaderFields(headerBytesEach-4096))
	if err != nil {
		return err
	}
	before := s.rss()
	outcomes := &tally{}
	var streams atomic.Int64
	r := underAttack(ctx, p, func(actx context.Context, ready func()) {
		var conns []*h2Conn
		for i := range h2HeaderConns {
			c, err := dialH2(ctx, attackerIP(i), s.addr)
			if err != nil {
				outcomes.addKey(errKind(err))
				continue
			}
			conns = append(conns, c)
		}
		ready() // the probe runs while the blocks are sent: all of them are sent, whatever it takes
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() { streams.Add(int64(sendBlocks(c, block, h2HeaderStreams))) })
		}
		wg.Wait()
		<-actx.Done()
		for _, c := range conns {
			c.outcome(outcomes)
			c.close()
		}
	})
	h.memoryRows(s, before)
	h.info(fmt.Sprintf("streams sent of %d, %s header block each", h2HeaderConns*h2HeaderStreams, mb(int64(len(block)))), strconv.FormatInt(streams.Load(), 10))
	h.info("what the streams got", outcomes.String())
	h.proof("well-formed streams: no 400", outcomes.String(), "none", !outcomes.any(http.StatusBadRequest))
	h.probeRows(r)
	return nil
}

// sendBlocks opens n streams with block, each a whole request, and returns
// how many it sent before the connection failed.
func sendBlocks(c *h2Conn, block []byte, n int) int {
	for i := range n {
		if _, err := c.open(block, false); err != nil {
			return i
		}
	}
	return n
}
