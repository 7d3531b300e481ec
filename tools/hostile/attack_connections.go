package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Connections: silent sockets that churn, idle connections under a low
// descriptor limit, on the API and on the metrics listener.
const (
	silentConns    = 100 // as first measured, with -max-connections 100
	silentCap      = "100"
	silentHold     = 50 * time.Millisecond // each reopened at most 20 times a second
	silentMaxEach  = 400
	churnAddrs     = 4
	churnEach      = 60 // 240 sockets for a cap of 192
	churnHold      = 500 * time.Millisecond
	legitMax       = 3000
	descriptors    = "--nofile=256:256" // the server's open-file limit: its default cap is 256 - 64 = 192
	idleConns      = 246
	idleSpread     = 62 // per address, under the design's 64
	idleSettle     = 1500 * time.Millisecond
	metricsConns   = 247
	churnCloseWait = 10 * time.Millisecond
)

// underPrlimit is the command that runs the server with 256 descriptors,
// nil when this machine has no prlimit.
func underPrlimit() []string {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		return nil
	}
	return []string{prlimit, descriptors, "--"}
}

// churnSilent opens a connection from ip, sends nothing, closes it after
// hold (with a reset, as an attacker does: no TIME_WAIT on its side), and
// again, until ctx ends.
func churnSilent(ctx context.Context, ip net.IP, addr string, hold time.Duration, opened *atomic.Int64) {
	for i := 0; i < silentMaxEach && ctx.Err() == nil; i++ {
		conn, err := dialFrom(ctx, ip, addr)
		if err == nil {
			opened.Add(1)
		}
		select {
		case <-ctx.Done():
		case <-time.After(hold):
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
			tcp.Close()
		} else if err != nil {
			time.Sleep(churnCloseWait)
		}
	}
}

// holdSilent opens a connection from ip and sends nothing; when the server
// closes it, it opens another, at most 20 times a second, until ctx ends.
func holdSilent(ctx context.Context, ip net.IP, addr string, opened *atomic.Int64) {
	for i := 0; i < silentMaxEach && ctx.Err() == nil; i++ {
		conn, err := dialFrom(ctx, ip, addr)
		if err == nil {
			opened.Add(1)
			stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
			_, _ = conn.Read(make([]byte, 1)) // until the server closes it, or ctx ends
			stop()
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			}
			conn.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(silentHold):
		}
	}
}

// silentSockets: 100 silent sockets from one address, each reopened (at
// most 20 times a second) when the server closes it, at -max-connections
// 100; new clients still get in.
func silentSockets(ctx context.Context, h *harness) error {
	s, p, err := h.startProbed(ctx, startOptions{args: []string{"-max-connections", silentCap}}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	var opened atomic.Int64
	r := underAttack(ctx, p, func(actx context.Context, ready func()) {
		var wg sync.WaitGroup
		for range silentConns {
			wg.Go(func() { holdSilent(actx, attackerIP(0), s.addr, &opened) })
		}
		time.Sleep(3 * silentHold)
		ready()
		wg.Wait()
	})
	h.proof(fmt.Sprintf("%d silent sockets of one address: connections", silentConns), strconv.FormatInt(opened.Load(), 10),
		fmt.Sprintf(">= %d", silentConns), opened.Load() >= silentConns)
	h.probeRows(r)
	return nil
}

// churnDefaultCap: silent sockets from 4 addresses churn at the default cap
// (under 256 descriptors) while a keep-alive client POSTs back to back:
// making room must never close its connection between two requests.
func churnDefaultCap(ctx context.Context, h *harness) error {
	wrap := underPrlimit()
	if wrap == nil {
		h.skip("churn at the cap", "no prlimit on this machine")
		return nil
	}
	s, p, err := h.startProbed(ctx, startOptions{wrap: wrap}, true)
	if err != nil {
		return err
	}
	defer s.stop()
	legit := newClient(legitIP, clientOptions{conns: 1, timeout: probeTimeout})
	token, _, err := login(ctx, legit, s.base, probeUser, probePassword) // its connection, open before the attack
	if err != nil {
		return err
	}
	body := sendBody("keep-alive", sessionIDs(10))
	var opened atomic.Int64
	answers := &tally{}
	r := underAttack(ctx, p, func(actx context.Context, ready func()) {
		var wg sync.WaitGroup
		for i := range churnAddrs * churnEach {
			wg.Go(func() { churnSilent(actx, attackerIP(i/churnEach), s.addr, churnHold, &opened) })
		}
		time.Sleep(churnHold)
		ready()
		wg.Go(func() {
			for i := 0; i < legitMax && actx.Err() == nil; i++ {
				status, _, err := post(actx, legit, s.base+sendPath, token, body)
				if actx.Err() == nil {
					answers.add(status, err)
				}
			}
		})
		wg.Wait()
	})
	h.proof(fmt.Sprintf("silent connections opened, %d addresses x %d sockets", churnAddrs, churnEach), strconv.FormatInt(opened.Load(), 10),
		fmt.Sprintf(">= %d", churnAddrs*churnEach), opened.Load() >= churnAddrs*churnEach)
	failed := answers.total() - answers.count(http.StatusOK)
	h.budget("keep-alive POSTs meanwhile that failed", fmt.Sprintf("%d of %d (%s)", failed, answers.total(), answers),
		strconv.Itoa(maxLegitFailures), failed <= maxLegitFailures && answers.total() > 0)
	h.probeRows(r)
	return nil
}

// idleConnections: 246 idle keep-alive connections (from 4 addresses)
// under an open-file limit of 256; new clients still get in.
func idleConnections(ctx context.Context, h *harness) error {
	wrap := underPrlimit()
	if wrap == nil {
		h.skip("idle connections", "no prlimit on this machine")
		return nil
	}
	s, p, err := h.startProbed(ctx, startOptions{wrap: wrap}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	request := "GET " + healthPath + " HTTP/1.1\r\nHost: " + s.addr + "\r\n\r\n"
	answered := &tally{}
	r := underAttack(ctx, p, func(actx context.Context, ready func()) {
		conns := openIdle(actx, s.addr, idleConns, idleSpread, request, answered)
		defer closeAll(conns)
		settle(actx)
		ready()
		<-actx.Done()
	})
	h.info(fmt.Sprintf("%d keep-alive connections, each answered once", idleConns), answered.String())
	h.probeRows(r)
	return nil
}

// openIdle opens n connections to addr, spread addresses per attacker
// address, sends request on each and reads its answer, and leaves them
// open.
func openIdle(ctx context.Context, addr string, n, spread int, request string, answered *tally) []net.Conn {
	var conns []net.Conn
	for i := range n {
		c, err := dialFrom(ctx, attackerIP(i/spread), addr)
		if err != nil {
			answered.add(0, err)
			continue
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(c, request); err != nil {
			answered.add(0, err)
			continue
		}
		answered.add(readStatus(c), nil)
	}
	return conns
}

// settle waits until connections opened just now have been idle longer
// than the design's 1 s: only those may be closed to make room, so that a
// connection between two quick requests never is.
func settle(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(idleSettle):
	}
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// metricsIdle: 247 idle connections to -metrics-addr under an open-file
// limit of 256; API clients still get in.
func metricsIdle(ctx context.Context, h *harness) error {
	wrap := underPrlimit()
	if wrap == nil {
		h.skip("metrics connections", "no prlimit on this machine")
		return nil
	}
	port, err := freePort(ctx)
	if err != nil {
		return err
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(port)
	s, p, err := h.startProbed(ctx, startOptions{wrap: wrap, args: []string{"-metrics-addr", metricsAddr}}, false)
	if err != nil {
		return err
	}
	defer s.stop()
	request := "GET /metrics HTTP/1.1\r\nHost: " + metricsAddr + "\r\n\r\n"
	scraped := &tally{}
	r := underAttack(ctx, p, func(actx context.Context, ready func()) {
		conns := openIdle(actx, metricsAddr, metricsConns, metricsConns, request, scraped)
		defer closeAll(conns)
		ready()
		<-actx.Done()
	})
	h.info(fmt.Sprintf("%d connections to -metrics-addr, each scraped once", metricsConns), scraped.String())
	h.proof("the metrics listener answered a scrape", fmt.Sprint(scraped.count(http.StatusOK)), ">= 1", scraped.count(http.StatusOK) >= 1)
	h.probeRows(r)
	return nil
}
