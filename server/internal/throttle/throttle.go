// Package throttle slows down repeated failures by key: failed logins by account, by client address, and by both.
package throttle

import (
	"hash/maphash"
	"sync"
	"time"
)

// Failures lets each key fail Burst times at once and regain one try every
// Every; past that, Wait says how long the key must wait. Only failures
// count: a key that never fails is never slowed. It is safe for concurrent
// use and remembers at most maxKeys keys, by a hash of each: a long key
// costs no more than a short one.
type Failures struct {
	burst   int
	every   time.Duration
	maxKeys int
	seed    maphash.Seed

	mu sync.Mutex
	// due is, per key, the time at which its record of failures is empty
	// again (the generic cell rate algorithm's theoretical arrival time).
	due map[uint64]time.Time
}

// DefaultMaxKeys bounds how many keys a Failures remembers.
const DefaultMaxKeys = 10000

// New returns a Failures that allows burst failures per key, and one more
// every every, remembering at most maxKeys keys (0: DefaultMaxKeys). A
// burst of 0 or less, or a non-positive every, returns nil, which never
// throttles.
func New(burst int, every time.Duration, maxKeys int) *Failures {
	if burst <= 0 || every <= 0 {
		return nil
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Failures{burst: burst, every: every, maxKeys: maxKeys, seed: maphash.MakeSeed(), due: map[uint64]time.Time{}}
}

// Wait returns how long key must wait before its next try is looked at;
// zero when it may try now.
func (f *Failures) Wait(key string, now time.Time) time.Duration {
	if f == nil {
		return 0
	}
	h := maphash.String(f.seed, key)
	f.mu.Lock()
	due, ok := f.due[h]
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
	h := maphash.String(f.seed, key)
	f.mu.Lock()
	defer f.mu.Unlock()
	due, ok := f.due[h]
	if !ok && len(f.due) >= f.maxKeys {
		f.forget(now)
	}
	if due.Before(now) {
		due = now
	}
	f.due[h] = due.Add(f.every)
}

// forget drops the keys whose record is empty, and when none is, the key
// whose record empties first: the table stays bounded, and the keys failing
// most are the last to go. f.mu must be held.
func (f *Failures) forget(now time.Time) {
	var first uint64
	var firstDue time.Time
	for key, due := range f.due {
		if !due.After(now) {
			delete(f.due, key)
			continue
		}
		if firstDue.IsZero() || due.Before(firstDue) {
			first, firstDue = key, due
		}
	}
	if len(f.due) >= f.maxKeys {
		delete(f.due, first)
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
