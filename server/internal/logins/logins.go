// Package logins keeps who may log in, the tokens issued, and which still work.
package logins

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/hzkit/sendmessage/gen/model"
)

// Default token lifetimes. Horizon's API session timeout is a cluster setting;
// 30 minutes is its documented example and what a captured token lived.
const (
	DefaultAccessTokenTTL  = 30 * time.Minute
	DefaultRefreshTokenTTL = 8 * time.Hour
)

// Reasons of 401 answers. None says which part of a login was wrong.
var (
	errBadCredentials     = errors.New("invalid user name, domain or password")
	errUnknownAccessToken = errors.New("invalid bearer token")
	errExpiredAccessToken = errors.New("access token has expired: refresh it or log in again")
)

// A RefreshTokenError says why a refresh token does not work (Horizon 8.0.0
// answers 400 for it), with a stable key for the error_key of the answer.
type RefreshTokenError struct {
	key, reason string
}

func (e *RefreshTokenError) Error() string { return e.reason }

// Key is the error_key of the answer: refresh.token.unknown,
// refresh.token.expired or refresh.token.logged.out.
func (e *RefreshTokenError) Key() string { return e.key }

// Why refresh and logout refuse a refresh token.
var (
	// ErrUnknownRefreshToken: this server did not issue the token as a
	// refresh token (nor since it last started).
	ErrUnknownRefreshToken = &RefreshTokenError{"refresh.token.unknown", "unknown refresh token: log in for a new one"}
	// ErrExpiredRefreshToken: the token's login has expired.
	ErrExpiredRefreshToken = &RefreshTokenError{"refresh.token.expired", "refresh token has expired: log in again"}
	// ErrLoggedOutRefreshToken: the token's login has ended before it
	// expired: logged out, or ended by newer logins of the user.
	ErrLoggedOutRefreshToken = &RefreshTokenError{"refresh.token.logged.out", "refresh token is logged out: log in again"}
)

// Service decides who may call the protected operations: the holder of
// the static token, and holders of live access tokens from a login. Every
// method is safe for concurrent use.
type Service interface {
	// Login checks the credentials and starts a login.
	Login(username, domain, password string) (accessToken, refreshToken string, err error)
	// Refresh issues a new access token for the login of refreshToken; a
	// *RefreshTokenError says why it does not, when the token does not work.
	Refresh(refreshToken string) (accessToken string, err error)
	// Logout ends the login of refreshToken and revokes all its tokens; a
	// *RefreshTokenError says why it does not, when the token does not work.
	Logout(refreshToken string) error
	// Authorize says whether accessToken may call a protected operation,
	// and returns what it was granted, to be checked again later.
	Authorize(accessToken string) (Grant, error)
	// CheckCredentials returns the error Login would, without logging in.
	CheckCredentials(username, domain, password string) error
	// CheckRefreshToken returns the error Refresh and Logout would, without
	// acting.
	CheckRefreshToken(refreshToken string) error
}

// Grant is what an access token allowed when it was presented. Live says
// whether it still does: a logout, a refresh that retires the token, or its
// expiry ends it. The static token's grant never ends. The zero Grant
// allows nothing.
type Grant struct {
	access *accessGrant
	static bool
}

// Operator reports whether the grant is the operator's: the static token,
// or a login of a user marked operator.
func (g Grant) Operator() bool {
	return g.static || g.access != nil && g.access.login.operator
}

// Live reports whether the grant still holds at now. It takes no lock.
func (g Grant) Live(now time.Time) bool {
	if g.access == nil {
		return g.static
	}
	return !g.access.revoked.Load() && !g.access.login.ended.Load() && now.Before(g.access.expires)
}

// Ended is !Live(now()), reading the clock only for a grant that can end.
func (g Grant) Ended(now func() time.Time) bool {
	if g.access == nil {
		return !g.static
	}
	return !g.Live(now())
}

type digest = [sha256.Size]byte

// login is one successful login: its refresh token and the access tokens
// issued under it. No token outlives the login.
type login struct {
	subject     string
	operator    bool
	refreshCode digest
	expires     time.Time
	accessCodes []digest // oldest first
	// ended is set when the login ends, for grants checked without the lock.
	ended atomic.Bool
}

// Bounds on what one user can make the server remember: a user's oldest
// login ends at the next one past maxLoginsPerUser, and a login's oldest
// access token stops working at the next refresh past maxAccessPerLogin.
const (
	maxLoginsPerUser  = 1000
	maxAccessPerLogin = 100
)

type accessGrant struct {
	login   *login
	expires time.Time
	// revoked is set when the token is retired, for grants checked without
	// the lock.
	revoked atomic.Bool
}

// Memory keeps logins in memory. Tokens are stored as SHA-256 digests,
// so lookups never compare the secrets themselves.
type Memory struct {
	static     *digest
	users      map[string]account // by UserKey
	decoy      digest             // compared when the user is unknown, to keep timing alike
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time
	signingKey []byte

	mu        sync.Mutex
	logins    map[digest]*login   // by the refresh token's digest
	byUser    map[string][]*login // by UserKey, oldest first; may hold ended logins
	access    map[digest]*accessGrant
	lastSweep time.Time
}

var _ Service = (*Memory)(nil)

// account is a user who may log in, as the data file spells it.
type account struct {
	username, domain string
	password         digest
	operator         bool
}

// sweepEvery bounds how often expired logins are dropped.
const sweepEvery = time.Minute

// New returns logins for users, with the static token (if not "") and the
// given token lifetimes; zero lifetimes take the defaults.
func New(staticToken string, users []model.ReferenceUser, accessTTL, refreshTTL time.Duration, now func() time.Time) (*Memory, error) {
	if accessTTL < 0 || refreshTTL < 0 {
		return nil, fmt.Errorf("logins: token lifetimes must not be negative: access %s, refresh %s", accessTTL, refreshTTL)
	}
	if accessTTL == 0 {
		accessTTL = DefaultAccessTokenTTL
	}
	if refreshTTL == 0 {
		refreshTTL = DefaultRefreshTokenTTL
	}
	a := &Memory{
		users:      make(map[string]account, len(users)),
		accessTTL:  accessTTL,
		refreshTTL: refreshTTL,
		now:        now,
		signingKey: make([]byte, 32),
		logins:     map[digest]*login{},
		byUser:     map[string][]*login{},
		access:     map[digest]*accessGrant{},
	}
	if staticToken != "" {
		d := sha256.Sum256([]byte(staticToken))
		a.static = &d
	}
	for _, u := range users {
		key := UserKey(u.Username, u.Domain)
		if _, dup := a.users[key]; dup {
			return nil, fmt.Errorf("logins: user %s\\%s is given twice", u.Domain, u.Username)
		}
		a.users[key] = account{username: u.Username, domain: u.Domain, password: sha256.Sum256([]byte(u.Password)), operator: u.Operator != nil && *u.Operator}
	}
	if _, err := rand.Read(a.signingKey); err != nil {
		return nil, fmt.Errorf("logins: token signing key: %w", err)
	}
	if _, err := rand.Read(a.decoy[:]); err != nil {
		return nil, fmt.Errorf("logins: decoy digest: %w", err)
	}
	return a, nil
}

// UserKey identifies a user. Active Directory compares user and domain names
// without regard to case: two names have one key when strings.EqualFold
// says they are equal. A letter that only lower-cases to another
// (U+0130, İ, to i) is not that letter.
func UserKey(username, domain string) string {
	return fold(domain) + `\` + fold(username)
}

// fold maps each letter of s to the least rune of its case-folding orbit,
// the one that strings.EqualFold treats as equal to it.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// CheckCredentials implements Service.
func (a *Memory) CheckCredentials(username, domain, password string) error {
	_, err := a.check(username, domain, password)
	return err
}

// check returns the account whose credentials these are.
func (a *Memory) check(username, domain, password string) (account, error) {
	user, known := a.users[UserKey(username, domain)]
	want := user.password
	if !known {
		want = a.decoy
	}
	got := sha256.Sum256([]byte(password))
	// Digests keep the comparison constant-time in the password's length too.
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !known {
		return account{}, errBadCredentials
	}
	return user, nil
}

// Login implements Service.
func (a *Memory) Login(username, domain, password string) (string, string, error) {
	user, err := a.check(username, domain, password)
	if err != nil {
		return "", "", err
	}

	// The subject is the account as the data file spells it, not as the
	// login did.
	now := a.now()
	l := &login{subject: user.domain + `\` + user.username, operator: user.operator, expires: now.Add(a.refreshTTL)}
	refresh, err := a.token(l.subject, "refresh", now, l.expires)
	if err != nil {
		return "", "", err
	}
	l.refreshCode = sha256.Sum256([]byte(refresh))
	key := UserKey(username, domain)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweep(now)
	live := a.byUser[key][:0]
	for _, old := range a.byUser[key] {
		if a.logins[old.refreshCode] == old {
			live = append(live, old)
		}
	}
	if len(live) >= maxLoginsPerUser {
		a.end(live[0])
		live = live[1:]
	}
	a.byUser[key] = append(live, l)
	a.logins[l.refreshCode] = l
	access, err := a.issueAccess(l, now)
	if err != nil {
		return "", "", err
	}
	return access, refresh, nil
}

// Refresh implements Service.
func (a *Memory) Refresh(refreshToken string) (string, error) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweep(now)
	l, ok := a.logins[sha256.Sum256([]byte(refreshToken))]
	if !ok || !now.Before(l.expires) {
		return "", a.refusal(refreshToken, now)
	}
	return a.issueAccess(l, now)
}

// CheckRefreshToken implements Service.
func (a *Memory) CheckRefreshToken(refreshToken string) error {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.logins[sha256.Sum256([]byte(refreshToken))]
	if !ok || !now.Before(l.expires) {
		return a.refusal(refreshToken, now)
	}
	return nil
}

// Logout implements Service.
func (a *Memory) Logout(refreshToken string) error {
	now := a.now()
	code := sha256.Sum256([]byte(refreshToken))
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.logins[code]
	if !ok || !now.Before(l.expires) {
		return a.refusal(refreshToken, now)
	}
	a.end(l)
	return nil
}

// refusal says why a refresh token that no live login has does not work.
// The server forgets a login when it ends, but the token itself says whether
// the server issued it (its signature) and until when (its exp claim): an
// expired login's token has expired; a token of ours that has not must have
// had its login ended.
func (a *Memory) refusal(refreshToken string, now time.Time) error {
	claims, ok := a.verify(refreshToken)
	switch {
	case !ok || claims.Use != "refresh":
		return ErrUnknownRefreshToken
	case !now.Before(time.Unix(claims.Expires, 0)):
		return ErrExpiredRefreshToken
	}
	return ErrLoggedOutRefreshToken
}

// end forgets l and every access token of it. a.mu must be held.
func (a *Memory) end(l *login) {
	l.ended.Store(true)
	delete(a.logins, l.refreshCode)
	for _, c := range l.accessCodes {
		a.revoke(c)
	}
	l.accessCodes = nil
}

// revoke forgets the access token of code. a.mu must be held.
func (a *Memory) revoke(code digest) {
	if grant, ok := a.access[code]; ok {
		grant.revoked.Store(true)
		delete(a.access, code)
	}
}

// Authorize implements Service.
func (a *Memory) Authorize(accessToken string) (Grant, error) {
	code := sha256.Sum256([]byte(accessToken))
	if a.static != nil && subtle.ConstantTimeCompare(code[:], a.static[:]) == 1 {
		return Grant{static: true}, nil
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	grant, ok := a.access[code]
	switch {
	case !ok:
		return Grant{}, errUnknownAccessToken
	case !now.Before(grant.expires):
		return Grant{}, errExpiredAccessToken
	}
	return Grant{access: grant}, nil
}

// issueAccess makes an access token for l. a.mu must be held.
func (a *Memory) issueAccess(l *login, now time.Time) (string, error) {
	expires := now.Add(a.accessTTL)
	if expires.After(l.expires) {
		expires = l.expires
	}
	token, err := a.token(l.subject, "access", now, expires)
	if err != nil {
		return "", err
	}
	code := sha256.Sum256([]byte(token))
	if len(l.accessCodes) >= maxAccessPerLogin {
		a.revoke(l.accessCodes[0])
		l.accessCodes = l.accessCodes[1:]
	}
	a.access[code] = &accessGrant{login: l, expires: expires}
	l.accessCodes = append(l.accessCodes, code)
	return token, nil
}

// sweep drops logins and access tokens that have expired, at most once per
// sweepEvery. a.mu must be held.
func (a *Memory) sweep(now time.Time) {
	if now.Sub(a.lastSweep) < sweepEvery {
		return
	}
	a.lastSweep = now
	for code, l := range a.logins {
		live := l.accessCodes[:0]
		for _, c := range l.accessCodes {
			if grant, ok := a.access[c]; ok && now.Before(grant.expires) && now.Before(l.expires) {
				live = append(live, c)
			} else {
				a.revoke(c)
			}
		}
		l.accessCodes = live
		if !now.Before(l.expires) {
			l.ended.Store(true)
			delete(a.logins, code)
		}
	}
	for key, logins := range a.byUser {
		live := logins[:0]
		for _, l := range logins {
			if a.logins[l.refreshCode] == l {
				live = append(live, l)
			}
		}
		if len(live) == 0 {
			delete(a.byUser, key)
		} else {
			a.byUser[key] = live
		}
	}
}

// tokenClaims are what a token says of itself.
type tokenClaims struct {
	ID      string `json:"jti"`
	Subject string `json:"sub"`
	Use     string `json:"token_use"`
	Issued  int64  `json:"iat"`
	Expires int64  `json:"exp"`
}

// token makes a JWT (HS256) with a random id. Tokens are JWTs, as Horizon's
// are, so that a client can read `exp` to refresh in time; whether a token is
// valid is decided by the server's records, so that logout revokes it.
func (a *Memory) token(subject, use string, issued, expires time.Time) (string, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	claims, err := json.Marshal(tokenClaims{base64.RawURLEncoding.EncodeToString(id), subject, use, issued.Unix(), expires.Unix()})
	if err != nil {
		return "", fmt.Errorf("token claims: %w", err)
	}
	const header = `{"alg":"HS256","typ":"JWT"}`
	signed := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(claims)
	return signed + "." + base64.RawURLEncoding.EncodeToString(a.sign(signed)), nil
}

func (a *Memory) sign(signed string) []byte {
	mac := hmac.New(sha256.New, a.signingKey)
	mac.Write([]byte(signed))
	return mac.Sum(nil)
}

// verify returns the claims of a token this server signed since it started;
// ok is false for any other text. It says nothing of whether the token still
// works: only the server's records do.
func (a *Memory) verify(token string) (claims tokenClaims, ok bool) {
	parts := strings.SplitN(token, ".", 4)
	if len(parts) != 3 {
		return claims, false
	}
	header, payload, signature := parts[0], parts[1], parts[2]
	mac, err := base64.RawURLEncoding.DecodeString(signature)
	if err != nil || !hmac.Equal(mac, a.sign(header+"."+payload)) {
		return claims, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		return claims, false
	}
	return claims, true
}
