package logins

import (
	"errors"
	"testing"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
)

func newTestAuth(t *testing.T) *Memory {
	t.Helper()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	a, err := New("", []model.ReferenceUser{{Username: "admin", Domain: "EXAMPLE", Password: "pw"}},
		0, 0, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A user who logs in again and again ends their oldest login instead of
// growing the server's memory.
func TestLoginsPerUserAreBounded(t *testing.T) {
	t.Parallel()
	a := newTestAuth(t)
	firstAccess, firstRefresh, err := a.Login("admin", "EXAMPLE", "pw")
	if err != nil {
		t.Fatal(err)
	}
	var lastAccess string
	for range maxLoginsPerUser {
		if lastAccess, _, err = a.Login("ADMIN", "example", "pw"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.logins); n != maxLoginsPerUser {
		t.Errorf("logins kept = %d, want %d", n, maxLoginsPerUser)
	}
	if _, err := a.Authorize(firstAccess); !errors.Is(err, errUnknownAccessToken) {
		t.Errorf("oldest login's access token: %v, want it ended", err)
	}
	if _, err := a.Refresh(firstRefresh); !errors.Is(err, errUnknownRefreshToken) {
		t.Errorf("oldest login's refresh token: %v, want it ended", err)
	}
	if _, err := a.Authorize(lastAccess); err != nil {
		t.Errorf("newest login: %v", err)
	}
}

// Refreshing again and again retires a login's oldest access tokens.
func TestAccessTokensPerLoginAreBounded(t *testing.T) {
	t.Parallel()
	a := newTestAuth(t)
	firstAccess, refresh, err := a.Login("admin", "EXAMPLE", "pw")
	if err != nil {
		t.Fatal(err)
	}
	var lastAccess string
	for range maxAccessPerLogin {
		if lastAccess, err = a.Refresh(refresh); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.access); n != maxAccessPerLogin {
		t.Errorf("access tokens kept = %d, want %d", n, maxAccessPerLogin)
	}
	if _, err := a.Authorize(firstAccess); !errors.Is(err, errUnknownAccessToken) {
		t.Errorf("oldest access token: %v, want it retired", err)
	}
	if _, err := a.Authorize(lastAccess); err != nil {
		t.Errorf("newest access token: %v", err)
	}
	if err := a.Logout(refresh); err != nil {
		t.Fatal(err)
	}
	if len(a.access) != 0 || len(a.logins) != 0 {
		t.Errorf("after logout: %d access tokens, %d logins remembered", len(a.access), len(a.logins))
	}
}

// A grant taken when a token was presented stops holding when its login is
// logged out, when a refresh retires its token, and when the token expires;
// the static token's never stops.
func TestGrantEndsWithItsToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	a, err := New("static", []model.ReferenceUser{{Username: "admin", Domain: "EXAMPLE", Password: "pw"}},
		time.Minute, time.Hour, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	static, err := a.Authorize("static")
	if err != nil || !static.Live(now.Add(1000*time.Hour)) {
		t.Fatalf("static grant: %v, live %v", err, static.Live(now))
	}

	access, refresh, err := a.Login("admin", "EXAMPLE", "pw")
	if err != nil {
		t.Fatal(err)
	}
	grant, err := a.Authorize(access)
	if err != nil || !grant.Live(now) {
		t.Fatalf("fresh grant: %v, live %v", err, grant.Live(now))
	}
	if grant.Live(now.Add(time.Minute)) {
		t.Error("grant live once its token expired")
	}
	if err := a.Logout(refresh); err != nil {
		t.Fatal(err)
	}
	if grant.Live(now) {
		t.Error("grant live after logout")
	}

	first, refresh, err := a.Login("admin", "EXAMPLE", "pw")
	if err != nil {
		t.Fatal(err)
	}
	retired, err := a.Authorize(first)
	if err != nil {
		t.Fatal(err)
	}
	for range maxAccessPerLogin {
		if _, err := a.Refresh(refresh); err != nil {
			t.Fatal(err)
		}
	}
	if retired.Live(now) {
		t.Error("grant live after a refresh retired its token")
	}
}
