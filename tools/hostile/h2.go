package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Conn is an HTTP/2 connection that the attacker drives frame by frame
// (over TLS, as -tls serves it): unlike Go's client it sends header blocks
// past the server's advertised limits, and leaves streams open as long as
// it likes.
type h2Conn struct {
	conn net.Conn
	addr string

	wmu    sync.Mutex // one frame sequence at a time; a header block is never split by another frame
	fr     *http2.Framer
	nextID uint32

	mu      sync.Mutex // what the server said
	answers map[uint32]int
	resets  map[uint32]http2.ErrCode
	goAway  bool
	readErr error
	done    chan struct{}
}

// h2FrameSize is the largest frame every peer must accept.
const h2FrameSize = 16384

// dialH2 opens an HTTP/2 connection to addr from ip and reads the server's
// frames in the background.
func dialH2(ctx context.Context, ip net.IP, addr string) (*h2Conn, error) {
	d := tls.Dialer{NetDialer: dialerFrom(ip), Config: insecureTLS("h2")}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("HTTP/2 dial: %w", err)
	}
	tlsConn, ok := conn.(*tls.Conn)
	if !ok || tlsConn.ConnectionState().NegotiatedProtocol != "h2" {
		conn.Close()
		return nil, errors.New("HTTP/2 dial: the server did not choose h2")
	}
	c := &h2Conn{conn: conn, addr: addr, nextID: 1, answers: map[uint32]int{}, resets: map[uint32]http2.ErrCode{}, done: make(chan struct{})}
	c.fr = http2.NewFramer(conn, conn)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("HTTP/2 preface: %w", err)
	}
	// Large windows: the server's answers never wait for the attacker.
	err = errors.Join(c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 24}),
		c.fr.WriteWindowUpdate(0, 1<<30))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("HTTP/2 settings: %w", err)
	}
	go c.readLoop()
	return c, nil
}

// readLoop reads the server's frames until the connection ends, answers
// its settings and pings, and notes answers, resets and GOAWAY.
func (c *h2Conn) readLoop() {
	defer close(c.done)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.write(func() error { return c.fr.WriteSettingsAck() })
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.write(func() error { return c.fr.WritePing(true, f.Data) })
			}
		case *http2.MetaHeadersFrame:
			if status, err := strconv.Atoi(f.PseudoValue("status")); err == nil {
				c.mu.Lock()
				c.answers[f.StreamID] = status
				c.mu.Unlock()
			}
		case *http2.RSTStreamFrame:
			c.mu.Lock()
			c.resets[f.StreamID] = f.ErrCode
			c.mu.Unlock()
		case *http2.GoAwayFrame:
			c.mu.Lock()
			c.goAway = true
			c.mu.Unlock()
		}
	}
}

func (c *h2Conn) write(frames func() error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_ = frames()
}

// headerBlock encodes a request's header block: its pseudo fields, then
// fields. Every field is a literal never indexed, so encoding changes no
// table and one block serves any number of streams, on any connection.
func headerBlock(method, authority, path string, fields []hpack.HeaderField) ([]byte, error) {
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	pseudo := []hpack.HeaderField{{Name: ":method", Value: method}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: authority}, {Name: ":path", Value: path}}
	for _, f := range append(pseudo, fields...) {
		f.Sensitive = true
		if err := enc.WriteField(f); err != nil {
			return nil, fmt.Errorf("encode header: %w", err)
		}
	}
	return b.Bytes(), nil
}

// open starts a stream with a header block, as one HEADERS frame and as
// many CONTINUATION frames as it takes, and returns its id. With endStream
// the request has no body.
func (c *h2Conn) open(block []byte, endStream bool) (uint32, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	id := c.nextID
	c.nextID += 2
	first := block[:min(len(block), h2FrameSize)]
	block = block[len(first):]
	_ = c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(block) == 0})
	for err == nil && len(block) > 0 {
		part := block[:min(len(block), h2FrameSize)]
		block = block[len(part):]
		err = c.fr.WriteContinuation(id, len(block) == 0, part)
	}
	if err != nil {
		return id, fmt.Errorf("HTTP/2 headers: %w", err)
	}
	return id, nil
}

// data sends p on stream id.
func (c *h2Conn) data(id uint32, p []byte, end bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.fr.WriteData(id, end, p); err != nil {
		return fmt.Errorf("HTTP/2 data: %w", err)
	}
	return nil
}

// closed says whether the server has ended stream id (answer or reset).
func (c *h2Conn) closed(id uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, answered := c.answers[id]
	_, reset := c.resets[id]
	return answered || reset
}

// outcome counts what became of each stream opened on c: its answer's
// status, else the code of its reset, else "held open" while the connection
// lasts and "connection closed" once it has ended; and a GOAWAY.
func (c *h2Conn) outcome(t *tally) {
	c.wmu.Lock()
	opened := c.nextID
	c.wmu.Unlock()
	alive := true
	select {
	case <-c.done:
		alive = false
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := uint32(1); id < opened; id += 2 {
		status, answered := c.answers[id]
		code, reset := c.resets[id]
		switch {
		case answered:
			t.add(status, nil)
		case reset:
			t.addKey("RST_STREAM " + code.String())
		case alive:
			t.addKey("held open")
		default:
			t.addKey("connection closed")
		}
	}
	if c.goAway {
		t.addKey("GOAWAY")
	}
}

func (c *h2Conn) close() {
	c.conn.Close()
	<-c.done
}
