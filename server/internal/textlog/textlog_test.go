package textlog

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSameAsTextHandler writes records of every shape through both handlers
// and wants the same bytes: plain ones that the Handler writes itself, and
// the others it hands on.
func TestSameAsTextHandler(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Bytes a value may hold: plain ones, and each that slog quotes or
	// escapes.
	const alphabet = "aZ09-._/:~+%@,;?!#$&*()[]{}<>|`'^ \t\n=\"\\\x00\x7fé€\xff"
	text := func() string {
		n := rng.IntN(6)
		var b strings.Builder
		for range n {
			b.WriteString(string([]rune(alphabet)[rng.IntN(len([]rune(alphabet)))]))
		}
		if rng.IntN(8) == 0 {
			b.WriteString("\xff")
		}
		return b.String()
	}
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", -7*3600-30*60), time.FixedZone("X", 3600)}
	base := time.Date(2026, 12, 7, 23, 59, 59, 0, time.UTC)
	levels := []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelInfo + 2, slog.LevelDebug - 3}
	values := []func() slog.Value{
		func() slog.Value { return slog.StringValue(text()) },
		func() slog.Value { return slog.Int64Value(rng.Int64() - rng.Int64()) },
		func() slog.Value { return slog.Uint64Value(rng.Uint64()) },
		func() slog.Value { return slog.BoolValue(rng.IntN(2) == 0) },
		func() slog.Value {
			return slog.DurationValue(time.Duration(rng.Int64N(int64(time.Hour))) - time.Minute)
		},
		func() slog.Value { return slog.Float64Value(rng.Float64()) },
		func() slog.Value { return slog.AnyValue(errors.New(text())) },
		func() slog.Value { return slog.TimeValue(base) },
		func() slog.Value { return slog.GroupValue(slog.String(text(), text())) },
	}
	for i := range 20000 {
		var when time.Time
		if rng.IntN(10) > 0 {
			when = base.Add(time.Duration(rng.Int64N(int64(3 * time.Second)))).In(zones[rng.IntN(len(zones))])
		}
		msg := "request"
		if rng.IntN(2) == 0 {
			msg = text()
		}
		r := slog.NewRecord(when, levels[rng.IntN(len(levels))], msg, 0)
		for range rng.IntN(8) {
			key := "status"
			if rng.IntN(4) == 0 {
				key = text()
			}
			r.AddAttrs(slog.Attr{Key: key, Value: values[rng.IntN(len(values))]()})
		}
		var got, want bytes.Buffer
		opts := &slog.HandlerOptions{Level: slog.LevelDebug - 10}
		if err := New(&got, opts).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if err := slog.NewTextHandler(&want, opts).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("record %d:\n got %q\nwant %q", i, got.String(), want.String())
		}
	}
}

// TestAccessLineIsWrittenHere holds the access log's lines to the Handler's
// own writing: were they handed on, it would be no faster than slog's.
func TestAccessLineIsWrittenHere(t *testing.T) {
	h, ok := New(&bytes.Buffer{}, nil).(*Handler)
	if !ok {
		t.Fatal("New made no Handler")
	}
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
	r.AddAttrs(slog.String("method", "POST"), slog.String("path", "/rest/inventory/v1/sessions/action/send-message"),
		slog.Int("status", 200), slog.Duration("latency", 18966*time.Nanosecond), slog.String("request_id", "4XXXSHHILEONIGU2-4"),
		slog.Int("query_len", 12))
	if _, ok := h.appendRecord(nil, r); !ok {
		t.Fatal("an access log line went to the TextHandler")
	}
}

// TestDerivedAndLevels: derived handlers and levels behave as slog's.
func TestDerivedAndLevels(t *testing.T) {
	var got, want bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelWarn}
	for _, l := range []*slog.Logger{slog.New(New(&got, opts)), slog.New(slog.NewTextHandler(&want, opts))} {
		l.Info("dropped")
		l.Warn("kept", "a", 1)
		l.With("user", "x y").WithGroup("g").Error("grouped", "b", true)
	}
	stripTimes := func(s string) string {
		var out []string
		for _, line := range strings.Split(s, "\n") {
			_, rest, _ := strings.Cut(line, " ")
			out = append(out, rest)
		}
		return strings.Join(out, "\n")
	}
	if stripTimes(got.String()) != stripTimes(want.String()) || !strings.Contains(got.String(), "g.b=true") {
		t.Fatalf("got\n%s\nwant\n%s", got.String(), want.String())
	}
	if _, ok := New(&got, &slog.HandlerOptions{AddSource: true}).(*slog.TextHandler); !ok {
		t.Fatal("AddSource should take the TextHandler")
	}
}

// TestConcurrentLinesStayWhole writes from many goroutines through the
// Handler and a derived TextHandler sharing its writer.
func TestConcurrentLinesStayWhole(t *testing.T) {
	var out bytes.Buffer
	l := slog.New(New(&out, nil))
	derived := l.With("k", "v w")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				if g%2 == 0 {
					l.Info("request", "i", i)
				} else {
					derived.Info("request", "i", i)
				}
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("%d lines, want %d", len(lines), 8*500)
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "time=") || !strings.Contains(line, " msg=request ") {
			t.Fatalf("broken line %q", line)
		}
	}
}

// BenchmarkAccessLine compares the Handler with slog's TextHandler on an
// access log line.
func BenchmarkAccessLine(b *testing.B) {
	for _, bench := range []struct {
		name string
		h    slog.Handler
	}{{"textlog", New(discard{}, nil)}, {"slog.TextHandler", slog.NewTextHandler(discard{}, nil)}} {
		b.Run(bench.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
				r.AddAttrs(slog.String("method", "POST"), slog.String("path", "/rest/inventory/v1/sessions/action/send-message"),
					slog.Int("status", 200), slog.Duration("latency", 18966*time.Nanosecond), slog.String("request_id", "4XXXSHHILEONIGU2-4"))
				if err := bench.h.Handle(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
