package throttle

import (
	"fmt"
	"testing"
	"time"
)

func TestBurstThenOneEvery(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	f := New(3, 10*time.Second, 0)
	for i := range 3 {
		if w := f.Wait("alice", now); w != 0 {
			t.Fatalf("try %d: wait %s, want 0", i+1, w)
		}
		f.Fail("alice", now)
	}
	if w := f.Wait("alice", now); w != 10*time.Second {
		t.Errorf("after 3 failures: wait %s, want 10s", w)
	}
	if w := f.Wait("bob", now); w != 0 {
		t.Errorf("another key waits %s", w)
	}
	if w := f.Wait("alice", now.Add(10*time.Second)); w != 0 {
		t.Errorf("after 10 s: wait %s, want 0", w)
	}
	f.Fail("alice", now.Add(10*time.Second))
	if w := f.Wait("alice", now.Add(10*time.Second)); w != 10*time.Second {
		t.Errorf("failing again at once: wait %s, want 10s", w)
	}
	if w := f.Wait("alice", now.Add(time.Hour)); w != 0 {
		t.Errorf("an hour later: wait %s, want 0", w)
	}
}

func TestOffAndBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	off := New(0, time.Second, 0)
	off.Fail("x", now)
	if off.Wait("x", now) != 0 {
		t.Error("a throttle with burst 0 throttles")
	}
	f := New(1, time.Minute, 10)
	for i := range 100 {
		f.Fail(fmt.Sprint(i), now)
	}
	if n := f.Keys(); n > 10 {
		t.Errorf("remembers %d keys, over its 10", n)
	}
	if f.Wait("99", now) == 0 {
		t.Error("the latest key is not throttled")
	}
}
