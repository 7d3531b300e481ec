package main

import (
	"net"
	"net/http"
	"sync"
	"syscall"
)

// connLimit caps the connections open at once. At the cap, a new connection
// closes the connection that has been idle longest (a keep-alive connection
// between requests, or an HTTP/2 connection without streams); when none is
// idle, the new connection is closed at once. So idle clients cannot hold
// every file descriptor, and a new client is served as long as some
// connection is idle.
type connLimit struct {
	net.Listener
	max    int
	closed func() // called for each connection closed at the cap

	mu   sync.Mutex
	open int
	// idle are the idle connections, oldest first by when they went idle.
	idle  map[*limitedConn]uint64
	ticks uint64
}

func newConnLimit(l net.Listener, limit int, closed func()) *connLimit {
	return &connLimit{Listener: l, max: limit, closed: closed, idle: map[*limitedConn]uint64{}}
}

// Accept implements net.Listener.
func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		var victim *limitedConn
		if l.open >= l.max {
			victim = l.oldestIdle()
			if victim == nil {
				l.mu.Unlock()
				l.closed()
				_ = c.Close() // nothing to tell a client the server has no room for
				continue
			}
			delete(l.idle, victim)
		}
		l.open++
		l.mu.Unlock()
		if victim != nil {
			l.closed()
			_ = victim.Close()
		}
		return &limitedConn{Conn: c, l: l}, nil
	}
}

// oldestIdle returns the connection idle longest, or nil. l.mu must be held.
func (l *connLimit) oldestIdle() *limitedConn {
	var oldest *limitedConn
	var since uint64
	for c, t := range l.idle {
		if oldest == nil || t < since {
			oldest, since = c, t
		}
	}
	return oldest
}

// connState is the http.Server's ConnState hook: it keeps track of which
// connections are idle.
func (l *connLimit) connState(c net.Conn, state http.ConnState) {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc.gone {
		return
	}
	if state == http.StateIdle {
		l.ticks++
		l.idle[lc] = l.ticks
	} else {
		delete(l.idle, lc)
	}
}

// Open returns how many connections are open.
func (l *connLimit) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// limitedConn is a connection counted by its connLimit until it closes.
type limitedConn struct {
	net.Conn
	l    *connLimit
	gone bool // closed; l.mu guards it
}

// Close implements net.Conn.
func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	if !c.gone {
		c.gone = true
		c.l.open--
		delete(c.l.idle, c)
	}
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// defaultMaxConnections is the connection cap when -max-connections is 0:
// the process's open-file limit, less room for the log, the data file and
// the metrics listener, and at most 10000.
func defaultMaxConnections() int {
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil || limit.Cur == 0 {
		return 1000
	}
	const reserved, most = 64, 10000
	if limit.Cur > most+reserved {
		return most
	}
	return max(16, int(limit.Cur)-reserved)
}
