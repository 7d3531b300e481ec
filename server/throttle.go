package server

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/server/internal/logins"
	"github.com/hzkit/sendmessage/server/internal/metrics"
	"github.com/hzkit/sendmessage/server/internal/throttle"
)

// LoginThrottle slows down repeated failed logins: per account (user name and
// domain, without regard to case) and per client address, each may fail so
// many times at once and regains one try every Window divided by that
// number. Past that, a login gets 429 with Retry-After without its
// credentials being looked at. Only failures count: a correct login is never
// slowed unless its account or its address is being guessed at.
type LoginThrottle struct {
	// Off turns throttling off.
	Off bool
	// PerUser and PerAddress are the failures allowed at once; 0 takes
	// DefaultLoginFailuresPerUser and DefaultLoginFailuresPerAddress.
	PerUser, PerAddress int
	// Window is the time in which that many failures are allowed; 0 takes
	// DefaultLoginFailureWindow.
	Window time.Duration
}

// Defaults of LoginThrottle.
const (
	DefaultLoginFailuresPerUser    = 5
	DefaultLoginFailuresPerAddress = 20
	DefaultLoginFailureWindow      = time.Minute
)

// loginThrottle holds the failures of logins by account and by address.
type loginThrottle struct {
	byUser, byAddress *throttle.Failures
}

func newLoginThrottle(cfg LoginThrottle) (loginThrottle, error) {
	if cfg.Off {
		return loginThrottle{}, nil
	}
	if cfg.PerUser < 0 || cfg.PerAddress < 0 || cfg.Window < 0 {
		return loginThrottle{}, fmt.Errorf("server: login throttle must not be negative: %+v", cfg)
	}
	perUser := cmpOr(cfg.PerUser, DefaultLoginFailuresPerUser)
	perAddress := cmpOr(cfg.PerAddress, DefaultLoginFailuresPerAddress)
	window := cmpOr(cfg.Window, DefaultLoginFailureWindow)
	return loginThrottle{
		byUser:    throttle.New(perUser, window/time.Duration(perUser), 0),
		byAddress: throttle.New(perAddress, window/time.Duration(perAddress), 0),
	}, nil
}

func cmpOr[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

// throttleLogins is the strict middleware of the login operation.
func (s *Server) throttleLogins(f strictHandler) strictHandler {
	return func(c echo.Context, request any) (any, error) {
		req, ok := request.(apiserver.LoginRequestObject)
		if !ok || req.Body == nil {
			return f(c, request)
		}
		user := "user " + logins.UserKey(req.Body.Username, req.Body.Domain)
		address := "address " + clientAddress(c.Request().RemoteAddr)
		now := s.now()
		if wait := max(s.logins.byUser.Wait(user, now), s.logins.byAddress.Wait(address, now)); wait > 0 {
			s.metrics.Login(metrics.LoginThrottled)
			s.metrics.Refused(metrics.LimitLoginThrottle)
			seconds := int64(math.Ceil(wait.Seconds()))
			c.Response().Header().Set(echo.HeaderRetryAfter, strconv.FormatInt(seconds, 10))
			return nil, echo.NewHTTPError(http.StatusTooManyRequests,
				fmt.Sprintf("too many failed logins for this user or from this address: retry in %d s", seconds))
		}
		resp, err := f(c, request)
		switch resp.(type) {
		case apiserver.Login200JSONResponse:
			s.metrics.Login(metrics.LoginSucceeded)
		case apiserver.Login401JSONResponse:
			s.metrics.Login(metrics.LoginFailed)
			s.logins.byUser.Fail(user, now)
			s.logins.byAddress.Fail(address, now)
		}
		return resp, err
	}
}

// clientAddress is the IP address of a remote address (host:port). Headers
// such as X-Forwarded-For are not trusted: any client can send them.
func clientAddress(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}
