// Package throttle slows down repeated failures by key: failed logins by user and by client address.
package throttle

import (
	"sync"
	"time"
)

// Failures lets each key fail Burst times at once and regain one try every
// Every; past that, Wait says how long the key must wait. Only failures
// count: a key that never fails is never slowed. It is safe for concurrent
// use and remembers at most MaxKeys keys.
type Failures struct {
	burst   int
	every   time.Duration
	maxKeys int

	mu sync.Mutex
	// due is, per key, the time at which its record of failures is empty
	// again (the generic cell rate algorithm's theoretical arrival time).
	due map[string]time.Time
}

// DefaultMaxKeys bounds how many keys a Failures remembers.
const DefaultMaxKeys = 100000

// New returns a Failures that allows burst failures per key, and one more
// every every. A burst of 0 or less, or a non-positive every, returns nil,
// which never throttles.
func New(burst int, every time.Duration, maxKeys int) *Failures {
	if burst <= 0 || every <= 0 {
		return nil
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Failures{burst: burst, every: every, maxKeys: maxKeys, due: map[string]time.Time{}}
}

// Wait returns how long key must wait before its next try is looked at;
// zero when it may try now.
func (f *Failures) Wait(key string, now time.Time) time.Duration {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	due, ok := f.due[key]
	f.mu.Unlock()
	if !ok {
		return 0
	}
	// Blocked once the record holds burst failures.
	return max(0, due.Sub(now)-time.Duration(f.burst-1)*f.every)
}

// Fail records a failure of key at now.
func (f *Failures) Fail(key string, now time.Time) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	due, ok := f.due[key]
	if !ok && len(f.due) >= f.maxKeys {
		f.forget(now)
	}
	if due.Before(now) {
		due = now
	}
	f.due[key] = due.Add(f.every)
}

// forget drops the keys whose record is empty, and when none is, any one
// key: the table stays bounded. f.mu must be held.
func (f *Failures) forget(now time.Time) {
	for key, due := range f.due {
		if !due.After(now) {
			delete(f.due, key)
		}
	}
	for key := range f.due {
		if len(f.due) < f.maxKeys {
			return
		}
		delete(f.due, key)
	}
}

// Keys returns how many keys f remembers.
func (f *Failures) Keys() int {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.due)
}
