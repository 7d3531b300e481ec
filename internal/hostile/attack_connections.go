package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"time"
)

// Connections: silent sockets that churn, idle connections under a low
// descriptor limit, on the API and on the metrics listener.
const (
	descriptors = "--nofile=256:256" // the server's open-file limit: its default cap is 256 - 64 = 192
	idleConns   = 246
	idleSpread  = 62 // per address, under the design's 64
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

// idleConnections: 246 idle keep-alive connections (from 4 addresses)
// under an open-file limit of 256; new clients still get in.
func idleConnections(ctx context.Context, h *harness) error {
	wrap := underPrlimit()
	if wrap == nil {
		h.skip("idle connections", "no prlimit on this machine")
		return nil
	}
	s, err := h.start(ctx, startOptions{wrap: wrap})
	if err != nil {
		return err
	}
	defer s.stop()
	p, err := newProber(ctx, s)
	if err != nil {
		return err
	}
	request := "GET " + healthPath + " HTTP/1.1\r\nHost: " + s.addr + "\r\n\r\n"
	answered := &tally{}
	r := underAttack(ctx, p, func(actx context.Context, ready func()) {
		conns := openIdle(actx, s.addr, idleConns, idleSpread, request, answered)
		defer closeAll(conns)
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

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}
