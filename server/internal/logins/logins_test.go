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
	if err := a.Authorize(firstAccess); !errors.Is(err, errUnknownAccessToken) {
		t.Errorf("oldest login's access token: %v, want it ended", err)
	}
	if _, err := a.Refresh(firstRefresh); !errors.Is(err, errUnknownRefreshToken) {
		t.Errorf("oldest login's refresh token: %v, want it ended", err)
	}
	if err := a.Authorize(lastAccess); err != nil {
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
	if err := a.Authorize(firstAccess); !errors.Is(err, errUnknownAccessToken) {
		t.Errorf("oldest access token: %v, want it retired", err)
	}
	if err := a.Authorize(lastAccess); err != nil {
		t.Errorf("newest access token: %v", err)
	}
	if err := a.Logout(refresh); err != nil {
		t.Fatal(err)
	}
	if len(a.access) != 0 || len(a.logins) != 0 {
		t.Errorf("after logout: %d access tokens, %d logins remembered", len(a.access), len(a.logins))
	}
}
