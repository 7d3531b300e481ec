// Package admission shares the server's capacity (requests in flight, bytes of bodies being read) fairly among client addresses.
package admission

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"
)

// Key is what capacity is charged to: a client's IPv4 address, or the /64
// of its IPv6 address (one host may hold a whole /64 and rotate through it).
type Key = netip.Prefix

// KeyOf returns the key of a remote address (host:port, as
// http.Request.RemoteAddr gives it). Addresses that are not IP addresses
// share one key.
func KeyOf(remoteAddr string) Key {
	addrPort, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return Key{}
	}
	addr := addrPort.Addr().Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	key, err := addr.WithZone("").Prefix(bits)
	if err != nil {
		return Key{}
	}
	return key
}

// Shares bound a Pool: Size in all; PerKey for one key; Anonymous for
// holders without a valid token, and AnonymousPerKey for one key of them.
// Anonymous holders draw on the same Size, so they can never take more than
// Anonymous of it: holders with a token always find Size - Anonymous.
type Shares struct {
	Size, PerKey, Anonymous, AnonymousPerKey int64
}

// Pool is a capacity shared by keys. It is safe for concurrent use.
type Pool struct {
	shares Shares

	mu        sync.Mutex
	used      int64
	anonymous int64
	byKey     map[Key]int64
	anonByKey map[Key]int64
	// freed is closed, and replaced, when capacity is given back while
	// someone waits for it.
	freed   chan struct{}
	waiters int
}

// NewPool returns a pool with the given shares; shares larger than Size are
// cut to it.
func NewPool(s Shares) *Pool {
	s.PerKey = min(s.PerKey, s.Size)
	s.Anonymous = min(s.Anonymous, s.Size)
	s.AnonymousPerKey = min(s.AnonymousPerKey, s.Anonymous, s.PerKey)
	return &Pool{shares: s, byKey: map[Key]int64{}, anonByKey: map[Key]int64{}, freed: make(chan struct{})}
}

// Most is the most one holder can ever be granted: a request for more is
// charged this much, as it could never be granted otherwise.
func (p *Pool) Most(anonymous bool) int64 {
	if anonymous {
		return p.shares.AnonymousPerKey
	}
	return p.shares.PerKey
}

// TryAcquire takes n for key at once, or returns false.
func (p *Pool) TryAcquire(key Key, anonymous bool, n int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.take(key, anonymous, n)
}

// take takes n for key if every share has room. p.mu must be held.
func (p *Pool) take(key Key, anonymous bool, n int64) bool {
	s := &p.shares
	if p.used+n > s.Size || p.byKey[key]+n > s.PerKey {
		return false
	}
	if anonymous {
		if p.anonymous+n > s.Anonymous || p.anonByKey[key]+n > s.AnonymousPerKey {
			return false
		}
		p.anonymous += n
		p.anonByKey[key] += n
	}
	p.used += n
	p.byKey[key] += n
	return true
}

// ErrNoRoom says that no room was found in time.
var ErrNoRoom = errors.New("no room")

// Acquire takes n for key, waiting at most wait (or until ctx is done) for
// room to be given back.
func (p *Pool) Acquire(ctx context.Context, key Key, anonymous bool, n int64, wait time.Duration) error {
	p.mu.Lock()
	if p.take(key, anonymous, n) {
		p.mu.Unlock()
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		p.waiters++
		freed := p.freed
		p.mu.Unlock()
		select {
		case <-freed:
		case <-timer.C:
			p.mu.Lock()
			p.waiters--
			p.mu.Unlock()
			return ErrNoRoom
		case <-ctx.Done():
			p.mu.Lock()
			p.waiters--
			p.mu.Unlock()
			return ErrNoRoom
		}
		p.mu.Lock()
		p.waiters--
		if p.take(key, anonymous, n) {
			p.mu.Unlock()
			return nil
		}
	}
}

// Release gives back n that key took.
func (p *Pool) Release(key Key, anonymous bool, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.used -= n
	if left := p.byKey[key] - n; left > 0 {
		p.byKey[key] = left
	} else {
		delete(p.byKey, key)
	}
	if anonymous {
		p.anonymous -= n
		if left := p.anonByKey[key] - n; left > 0 {
			p.anonByKey[key] = left
		} else {
			delete(p.anonByKey, key)
		}
	}
	if p.waiters > 0 {
		close(p.freed)
		p.freed = make(chan struct{})
	}
}
