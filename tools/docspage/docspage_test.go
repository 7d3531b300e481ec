package docspage_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

const (
	docsPath = server.BasePath + "/refserver/v1/docs"
	token    = "docs-page-token"
)

// chromiumFlags keep a headless Chromium on this machine: no sandbox (tests
// run as root), no GPU, and nothing that reaches the internet on its own.
var chromiumFlags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync",
	"no-default-browser-check", "disable-extensions", "disable-default-apps", "mute-audio",
}

// findChromium returns Chromium's path: $CHROMIUM, or chromium on PATH.
func findChromium(t *testing.T) string {
	t.Helper()
	if path := os.Getenv("CHROMIUM"); path != "" {
		return path
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("no Chromium (chromium on PATH or $CHROMIUM): the docs page is not tried in a browser; " +
		"'make browser' installs Debian's chromium as root")
	return ""
}

// screenshotPath is where the test leaves its picture of the page:
// $DOCS_SCREENSHOT, or screenshots/docs-page.png at the repository's top.
func screenshotPath(t *testing.T) string {
	t.Helper()
	if path := os.Getenv("DOCS_SCREENSHOT"); path != "" {
		return path
	}
	path, err := filepath.Abs(filepath.Join("..", "..", "screenshots", "docs-page.png"))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// consoleErrors collects the errors a page reports on its console (console
// errors, uncaught exceptions, failed or refused loads in the browser's log)
// until stop is called.
func consoleErrors(ctx context.Context) (stop func() []string) {
	ctx, cancel := context.WithCancel(ctx)
	messages := chromedp.Console(ctx) // subscribed from here on
	var errs []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				errs = append(errs, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
			}
		}
	}()
	return func() []string {
		cancel()
		<-done
		return errs
	}
}

// The docs page, in headless Chromium against a running server: it renders
// the spec the server enforces (its limits included) with no console error,
// shows the send-message operation with its request schema and the login and
// list operations, and asks nothing of any other origin. The test leaves a
// screenshot for the person who runs it.
func TestDocsPageInChromium(t *testing.T) {
	t.Parallel()
	chromium := findChromium(t)
	const maxLength, maxItems = 321, 7
	srv, err := server.New(server.Config{Token: token, Limits: server.Limits{MaxMessageLength: maxLength, MaxSessionIDs: maxItems}})
	if err != nil {
		t.Fatal(err)
	}
	// Every answer the browser gets is held against the spec.
	ts := httptest.NewServer(spectest.Load(t).Handler(t, srv))
	t.Cleanup(ts.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	for _, flag := range chromiumFlags {
		opts = append(opts, chromedp.Flag(flag, true))
	}
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	defer cancelBrowser()

	// The first action starts the browser and opens the tab.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}
	stopConsole := consoleErrors(ctx)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"; the console said %q", append(args, stopConsole())...)
	}

	// Redoc says when it is done in #redoc's data-state.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+docsPath),
		chromedp.WaitReady(chromedp.CSS(`#redoc:not([data-state="loading"])`)),
	); err != nil {
		fail("the page did not finish rendering: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#redoc"), "data-state"))
	if err != nil || state.Value != "ready" {
		fail("data-state = %q (%v), want ready", state.Value, err)
	}

	section := func(operationID string) chromedp.CSS {
		return chromedp.CSS(fmt.Sprintf(`[data-section-id="operation/%s"]`, operationID))
	}
	text := func(operationID string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(section(operationID), chromedp.NodeVisible))
		if err != nil {
			fail("read operation %s: %v", operationID, err)
		}
		return s
	}
	// Redoc writes some headings in capitals with CSS, and innerText shows
	// them so.
	send := text("sendMessageToSessions")
	for _, want := range []string{
		"Send Message To Sessions", "/inventory/v1/sessions/action/send-message",
		"REQUEST BODY SCHEMA: application/json", "message", "message_type", "session_ids",
		`"ERROR"`, `"WARNING"`, `"INFO"`,
		// The server's limits, not the file's: the page renders what it serves.
		fmt.Sprintf("string [ 1 .. %d ] characters", maxLength), fmt.Sprintf("Array of strings [ 1 .. %d ] items", maxItems),
	} {
		if !strings.Contains(send, want) {
			t.Errorf("the send-message operation does not show %q:\n%s", want, send)
		}
	}
	if login := text("login"); !strings.Contains(login, "Log in") || !strings.Contains(login, "/login") {
		t.Errorf("the login operation is not shown as such:\n%s", login)
	}
	list := text("listSessions")
	if !strings.Contains(list, "List sessions") || !strings.Contains(list, "/inventory/v1/sessions") {
		t.Errorf("the list operation is not shown as such:\n%s", list)
	}
	// The rules that only the spec's extensions say: which query parameter
	// needs which, and which filter types each field takes.
	for _, want := range []string{`requires:`, `["size"]`, `filters:`, `["Equals","NotEquals"]`, `["Contains"]`} {
		if !strings.Contains(list, want) {
			t.Errorf("the list operation does not show %q:\n%s", want, list)
		}
	}

	// The picture starts at the operation's heading.
	scroll := fmt.Sprintf(`(document.querySelector(%q).scrollIntoView({block: "start"}), true)`, section("sendMessageToSessions"))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](scroll)); err != nil {
		fail("scroll to the send-message operation: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		fail("screenshot: %v", err)
	}
	path := screenshotPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the docs page: %s", path)

	if errs := stopConsole(); len(errs) > 0 {
		t.Errorf("the console reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
