package main

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hzkit/sendmessage/server/internal/admission"
)

// connLimit caps the connections open at once, in all and per client address
// (IPv6 by /64). A new connection past its address's cap is closed at once.
// At the cap in all, a new connection closes the connection that has been
// idle longest (a keep-alive connection between requests, or an HTTP/2
// connection without streams), if it has been idle for at least minIdle: a
// client that has just been answered and is sending its next request is
// never cut off. When none has, the new connection is closed at once. So
// idle clients cannot hold every file descriptor, one address cannot hold
// them all, and a new client is served as long as some connection is idle.
type connLimit struct {
	net.Listener
	max, perAddress int
	closed          func() // called for each connection closed at a cap
	now             func() time.Time

	mu        sync.Mutex
	byAddress map[admission.Key]int
	// conns are the connections open. Each says itself whether it is idle,
	// without the lock: that changes twice per request, and only a new
	// connection at the cap asks.
	conns map[*limitedConn]struct{}
}

// minIdle is how long a connection must have been idle to be closed to make
// room.
const minIdle = time.Second

func newConnLimit(l net.Listener, limit, perAddress int, closed func()) *connLimit {
	return &connLimit{
		Listener: l, max: limit, perAddress: perAddress, closed: closed, now: time.Now,
		byAddress: map[admission.Key]int{}, conns: map[*limitedConn]struct{}{},
	}
}

// Accept implements net.Listener.
func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if conn := l.admit(c); conn != nil {
			return conn, nil
		}
		l.closed()
		_ = c.Close() // nothing to tell a client the server has no room for
	}
}

// admit counts c in, making room if it must; nil when there is none.
func (l *connLimit) admit(c net.Conn) *limitedConn {
	key := admission.KeyOf(c.RemoteAddr().String())
	l.mu.Lock()
	if l.perAddress > 0 && l.byAddress[key] >= l.perAddress {
		l.mu.Unlock()
		return nil
	}
	var victim *limitedConn
	if len(l.conns) >= l.max {
		victim = l.oldestIdle()
		if victim == nil {
			l.mu.Unlock()
			return nil
		}
		l.forget(victim)
	}
	conn := &limitedConn{Conn: c, l: l, key: key}
	l.conns[conn] = struct{}{}
	l.byAddress[key]++
	l.mu.Unlock()
	if victim != nil {
		l.closed()
		_ = victim.Close()
	}
	return conn
}

// oldestIdle returns the connection idle longest, if it has been idle for
// minIdle, or nil. l.mu must be held.
func (l *connLimit) oldestIdle() *limitedConn {
	var oldest *limitedConn
	var since int64
	for c := range l.conns {
		if t := c.idleSince.Load(); t != 0 && (oldest == nil || t < since) {
			oldest, since = c, t
		}
	}
	if oldest == nil || l.now().Sub(time.Unix(0, since)) < minIdle {
		return nil
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
	if state == http.StateIdle {
		lc.idleSince.Store(l.now().UnixNano())
	} else {
		lc.idleSince.Store(0)
	}
}

// Open returns how many connections are open.
func (l *connLimit) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// forget stops counting c. l.mu must be held.
func (l *connLimit) forget(c *limitedConn) {
	if _, ok := l.conns[c]; !ok {
		return
	}
	delete(l.conns, c)
	if n := l.byAddress[c.key] - 1; n > 0 {
		l.byAddress[c.key] = n
	} else {
		delete(l.byAddress, c.key)
	}
}

// limitedConn is a connection counted by its connLimit until it closes.
type limitedConn struct {
	net.Conn
	l   *connLimit
	key admission.Key
	// idleSince is when the connection went idle, in Unix nanoseconds; 0
	// while it is not idle.
	idleSince atomic.Int64
}

// Close implements net.Conn.
func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	c.l.forget(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// Defaults of the connection caps.
const (
	// mostConnections is the most connections by default, whatever the
	// open-file limit: each costs memory (a header section being read, its
	// buffers), and the sum must stay within the server's ceiling.
	mostConnections = 512
	// defaultMaxConnectionsPerAddress is -max-connections-per-address
	// unless given.
	defaultMaxConnectionsPerAddress = 64
	// defaultMetricsMaxConnections is -metrics-max-connections unless given.
	defaultMetricsMaxConnections = 16
)

// defaultMaxConnections is the connection cap when -max-connections is 0:
// the process's open-file limit, less room for the log, the data file and
// the metrics listener with its own cap, and at most mostConnections.
func defaultMaxConnections(metricsConnections int) int {
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil || limit.Cur == 0 {
		return mostConnections
	}
	reserved := 64 + max(0, metricsConnections)
	if limit.Cur >= mostConnections+uint64(reserved) {
		return mostConnections
	}
	return max(16, int(limit.Cur)-reserved) //nolint:gosec // G115: below mostConnections + reserved here
}
