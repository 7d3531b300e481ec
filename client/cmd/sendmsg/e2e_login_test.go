package main

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/internal/fakeclock"
	"github.com/hzkit/sendmessage/internal/spectest"
	"github.com/hzkit/sendmessage/server"
)

// statusRecorder notes the status of an answer.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	s.status = status
	s.ResponseWriter.WriteHeader(status)
}

// A login that the server has ended by the time sendmsg logs out (here: it
// expires just then) leaves nothing to end. Horizon 8.0.0
// answers such a logout 400; sendmsg reports the send as it went, exit 0.
func TestE2ELogoutAfterTheLoginEnded(t *testing.T) {
	t.Parallel()
	sessions, err := server.DemoSessions()
	if err != nil {
		t.Fatal(err)
	}
	store := server.NewMemoryStore(sessions)
	clock := fakeclock.New(time.Now())
	srv, err := server.New(server.Config{
		Users: []model.ReferenceUser{server.DemoAdministrator(adminPassword)},
		Store: store,
		Now:   clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	var logout atomic.Int64 // the status of the logout
	// The login expires just as sendmsg logs out.
	ended := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != server.BasePath+"/logout" {
			srv.ServeHTTP(w, r)
			return
		}
		clock.Advance(server.DefaultRefreshTokenTTL)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		srv.ServeHTTP(rec, r)
		logout.Store(int64(rec.status))
	})
	ts := httptest.NewUnstartedServer(spectest.Load(t).Handler(t, ended))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		envServer: ts.URL, envUsername: server.DemoAdminUsername, envDomain: server.DemoAdminDomain, envPassword: adminPassword,
	}

	r := runCmd(t, env, nil, "--ca-file", caFile, "--message", "Restart in 15 minutes", seedSession)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if got := logout.Load(); got != http.StatusBadRequest {
		t.Errorf("the logout got %d, want Horizon's 400 for an expired login", got)
	}
	if strings.Contains(r.stderr, "log out") {
		t.Errorf("stderr reports the logout: %s", r.stderr)
	}
	if got := store.Messages(""); len(got) != 1 || got[0].SessionID != seedSession {
		t.Errorf("delivered %+v, want the seed session", got)
	}
}
