package main

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// fakeConn is a connection from addr that records its closing.
type fakeConn struct {
	net.Conn
	addr   net.Addr
	closed bool
}

func (c *fakeConn) RemoteAddr() net.Addr { return c.addr }
func (c *fakeConn) Close() error         { c.closed = true; return nil }

func connFrom(ip string) *fakeConn {
	return &fakeConn{addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
}

// One address holds at most its cap of connections (IPv6: its /64); others
// are still let in.
func TestConnLimitPerAddress(t *testing.T) {
	t.Parallel()
	l := newConnLimit(nil, 100, 2, func() {})
	for _, ip := range []string{"127.0.0.2", "127.0.0.2", "2001:db8::1", "2001:db8::2"} {
		if l.admit(connFrom(ip)) == nil {
			t.Fatalf("%s refused below its cap", ip)
		}
	}
	for _, ip := range []string{"127.0.0.2", "2001:db8::ffff"} {
		if l.admit(connFrom(ip)) != nil {
			t.Errorf("%s let in past its address's cap", ip)
		}
	}
	kept := l.admit(connFrom("127.0.0.3"))
	if kept == nil {
		t.Fatal("another address refused")
	}
	// A closed connection gives its place back.
	_ = kept.Close()
	if l.admit(connFrom("127.0.0.3")) == nil || l.Open() != 5 {
		t.Errorf("after a close: %d open, want 5", l.Open())
	}
}

// At the cap in all, the connection idle longest is closed for a new one,
// but only once it has been idle a second: a client between two quick
// requests keeps its connection.
func TestConnLimitMakesRoomFromIdleOnly(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	l := newConnLimit(nil, 2, 10, func() {})
	l.now = func() time.Time { return now }
	busy, idle := connFrom("127.0.0.2"), connFrom("127.0.0.3")
	busyConn, idleConn := l.admit(busy), l.admit(idle)
	l.connState(busyConn, http.StateActive)
	l.connState(idleConn, http.StateIdle)
	now = now.Add(500 * time.Millisecond)
	if l.admit(connFrom("127.0.0.4")) != nil {
		t.Fatal("room made from a connection idle for half a second")
	}
	if idle.closed {
		t.Fatal("a connection idle for half a second was closed")
	}
	now = now.Add(time.Second)
	if l.admit(connFrom("127.0.0.4")) == nil {
		t.Fatal("no room made from a connection idle for 1.5 s")
	}
	if !idle.closed || busy.closed {
		t.Errorf("closed: idle %v, busy %v; want the idle one only", idle.closed, busy.closed)
	}
}
