package logins

import (
	"crypto/sha256"
	"errors"
	"strings"
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
	if _, err := a.Refresh(firstRefresh); !errors.Is(err, ErrLoggedOutRefreshToken) {
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

// Refresh and logout say why a refresh token does not work: one this server
// did not issue as a refresh token, one whose login expired, one whose login
// ended before that.
func TestRefreshTokenRefusals(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	users := []model.ReferenceUser{{Username: "admin", Domain: "EXAMPLE", Password: "pw"}}
	a, err := New("static", users, time.Minute, time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	other, err := New("", users, time.Minute, time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	login := func(a *Memory) (string, string) {
		t.Helper()
		access, refresh, err := a.Login("admin", "EXAMPLE", "pw")
		if err != nil {
			t.Fatal(err)
		}
		return access, refresh
	}
	access, _ := login(a)
	_, othersRefresh := login(other)
	_, loggedOut := login(a)
	if err := a.Logout(loggedOut); err != nil {
		t.Fatal(err)
	}
	_, live := login(a)
	_, expiring := login(a)
	header, payload, _ := strings.Cut(live, ".")
	payload, _, _ = strings.Cut(payload, ".")

	tests := []struct {
		name, token string
		advance     time.Duration
		want        error
	}{
		{"not a token", "nope", 0, ErrUnknownRefreshToken},
		{"the static token", "static", 0, ErrUnknownRefreshToken},
		{"another server's", othersRefresh, 0, ErrUnknownRefreshToken},
		{"an access token", access, 0, ErrUnknownRefreshToken},
		{"a forged signature", header + "." + payload + ".c2lnbmF0dXJl", 0, ErrUnknownRefreshToken},
		{"many dots", strings.Repeat(".", 1<<16), 0, ErrUnknownRefreshToken},
		{"logged out", loggedOut, 0, ErrLoggedOutRefreshToken},
		{"expired", expiring, time.Hour, ErrExpiredRefreshToken},
	}
	for _, tt := range tests {
		now = now.Add(tt.advance)
		if _, err := a.Refresh(tt.token); !errors.Is(err, tt.want) {
			t.Errorf("%s: Refresh: %v, want %v", tt.name, err, tt.want)
		}
		if err := a.Logout(tt.token); !errors.Is(err, tt.want) {
			t.Errorf("%s: Logout: %v, want %v", tt.name, err, tt.want)
		}
	}
	// Swept or not, an expired login's token has expired.
	now = now.Add(time.Hour)
	if _, _, err := a.Login("admin", "EXAMPLE", "pw"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.logins[sha256.Sum256([]byte(live))]; ok {
		t.Fatal("the expired login was not swept")
	}
	if _, err := a.Refresh(live); !errors.Is(err, ErrExpiredRefreshToken) {
		t.Errorf("swept login: Refresh: %v, want %v", err, ErrExpiredRefreshToken)
	}
	var refused *RefreshTokenError
	if !errors.As(ErrLoggedOutRefreshToken, &refused) || refused.Key() != "refresh.token.logged.out" {
		t.Errorf("key = %q", refused.Key())
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
