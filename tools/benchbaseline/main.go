// Command benchbaseline is a benchmark tool, not a server to deploy: the bare
// echo handler that `make bench` measures the reference server against.
//
// It serves the same route and answers a send-message request with the same
// response shape as the reference server (one BulkItemResponseInfo per id, in
// request order, 200 for a connected session of the data file, 404 for an
// unknown one), the way an echo handler is usually written: c.Bind, a loop,
// c.JSON. It does no spec validation, no authentication, no duplicate
// detection, no recording and no logging. Its answer is the reference server's
// byte for byte (loadbench checks it): the same body and the same headers,
// X-Request-Id (a counter behind a random prefix, as long as the reference
// server's), X-Content-Type-Options and Cache-Control included, set in the
// handler as a plain echo handler would, and it has the reference server's
// net/http timeouts.
//
// With -bare it is the handler as one would first write it: default echo and
// default net/http settings, no headers of its own and no timeouts; its body
// is still the reference server's (loadbench checks that too).
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "benchbaseline:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchbaseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address; loopback only")
	dataFile := fs.String("data", "", `data file {"sessions": [...]} (the reference server's format); empty: the built-in demo sessions`)
	bare := fs.Bool("bare", false, "default echo and net/http: none of the reference server's headers and timeouts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s: a benchmark tool listens on a loopback address only", *addr)
	}
	sessions, err := loadSessions(*dataFile)
	if err != nil {
		return err
	}
	e := newHandler(sessions, *bare)

	var lc net.ListenConfig
	listener, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	httpServer := &http.Server{Handler: e} //nolint:gosec // G112: -bare has none of the timeouts on purpose; set below otherwise
	if !*bare {
		// The reference server's default net/http settings, so that what
		// differs between the two is the echo stack and the handler.
		httpServer.ReadHeaderTimeout = 5 * time.Second
		httpServer.ReadTimeout = 30 * time.Second
		httpServer.WriteTimeout = 30 * time.Second
		httpServer.IdleTimeout = 2 * time.Minute
	}
	fmt.Fprintf(stdout, "benchbaseline listening on http://%s%s\n", listener.Addr(), server.BasePath)

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(listener) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// newHandler is the echo handler of send-message: with bare, none of the
// reference server's headers.
func newHandler(sessions []model.SessionInfo, bare bool) *echo.Echo {
	connected := make(map[string]bool, len(sessions))
	for _, s := range sessions {
		connected[s.ID] = s.SessionState == model.SessionInfoSessionStateCONNECTED
	}

	// Request ids of the reference server's shape and length: 16 random
	// characters, a dash, a base-36 counter.
	idPrefix := rand.Text()[:16] + "-"
	var idCount atomic.Uint64

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST(server.BasePath+"/inventory/v1/sessions/action/send-message", func(c echo.Context) error {
		if !bare {
			h := c.Response().Header()
			h[echo.HeaderXRequestID] = []string{idPrefix + strconv.FormatUint(idCount.Add(1), 36)}
			h[echo.HeaderXContentTypeOptions] = []string{"nosniff"}
			h[echo.HeaderCacheControl] = []string{"no-store"}
		}
		var spec model.SessionSendMessageSpec
		if err := c.Bind(&spec); err != nil {
			return err
		}
		timestamp := time.Now().UnixMilli()
		items := make([]model.BulkItemResponseInfo, len(spec.SessionIDs))
		for i, id := range spec.SessionIDs {
			items[i] = model.BulkItemResponseInfo{ID: id, StatusCode: http.StatusOK, Timestamp: timestamp}
			if !connected[id] {
				items[i].StatusCode = http.StatusNotFound
			}
		}
		return c.JSON(http.StatusOK, items)
	})
	return e
}

// loadSessions reads the data file with plain encoding/json: no validation.
func loadSessions(file string) ([]model.SessionInfo, error) {
	if file == "" {
		sessions, err := server.DemoSessions()
		if err != nil {
			return nil, fmt.Errorf("demo sessions: %w", err)
		}
		return sessions, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read data file: %w", err)
	}
	var parsed model.ReferenceData
	if err := json.Unmarshal(data, &parsed); err != nil {
		return nil, fmt.Errorf("data file %s: %w", file, err)
	}
	return parsed.Sessions, nil
}
