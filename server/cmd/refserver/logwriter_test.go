package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a destination that records each write.
type lockedBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

func TestLogWriterKeepsEveryLineWhole(t *testing.T) {
	t.Parallel()
	var dst lockedBuffer
	l := newLogWriter(&dst)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				if _, err := fmt.Fprintf(l, "writer=%d line=%d %s\n", w, i, strings.Repeat("x", i%97)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	l.Close()
	got := strings.Split(strings.TrimSuffix(dst.buf.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines, want %d", len(got), writers*lines)
	}
	next := make([]int, writers)
	for _, line := range got {
		var w, i int
		var pad string
		if _, err := fmt.Sscanf(line, "writer=%d line=%d %s", &w, &i, &pad); err != nil && i%97 != 0 {
			t.Fatalf("torn line %q: %v", line, err)
		}
		if i != next[w] || len(pad) != i%97 {
			t.Fatalf("writer %d: line %q out of order or torn, want line=%d", w, line, next[w])
		}
		next[w]++
	}
	t.Logf("%d lines in %d writes", len(got), dst.writes)
}

func TestLogWriterAfterClose(t *testing.T) {
	t.Parallel()
	var dst lockedBuffer
	l := newLogWriter(&dst)
	for _, s := range []string{"one\n", "two\n"} {
		if _, err := l.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	if _, err := l.Write([]byte("three\n")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if got := strings.Fields(dst.buf.String()); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Errorf("written %q", got)
	}
}
