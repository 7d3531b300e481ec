package server

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/server/internal/logins"
	"github.com/hzkit/sendmessage/server/internal/metrics"
	"github.com/hzkit/sendmessage/server/internal/throttle"
)

// LoginThrottle slows down repeated failed logins without letting anyone
// lock an account: failures count per account (user name and domain,
// without regard to case) from one client address, and per address. Each
// may fail so many times at once and regains one try every Window divided
// by that number; past that, a login from that address gets 429 with
// Retry-After without its credentials being looked at. A correct login from
// an address that has not been failing is never refused, even while other
// addresses guess at the account; but while an account fails more than
// PerAccount times at once over all addresses, each failed login of it is
// answered Delay late. Only failures count.
type LoginThrottle struct {
	// Off turns throttling off.
	Off bool
	// PerUser, PerAddress and PerAccount are the failures allowed at once
	// of one account from one address, of one address, and of one account
	// from all addresses before its failures are delayed; 0 takes
	// DefaultLoginFailuresPerUser, DefaultLoginFailuresPerAddress and
	// DefaultLoginFailuresPerAccount.
	PerUser, PerAddress, PerAccount int
	// Window is the time in which that many failures are allowed; 0 takes
	// DefaultLoginFailureWindow.
	Window time.Duration
	// Delay is how late a failed login of an account past PerAccount is
	// answered; 0 takes DefaultLoginFailureDelay.
	Delay time.Duration
}

// Defaults of LoginThrottle.
const (
	DefaultLoginFailuresPerUser    = 5
	DefaultLoginFailuresPerAddress = 20
	DefaultLoginFailuresPerAccount = 20
	DefaultLoginFailureWindow      = time.Minute
	DefaultLoginFailureDelay       = time.Second
)

// loginThrottle holds the failures of logins by account and address, by
// address, and by account.
type loginThrottle struct {
	byUser, byAddress, byAccount *throttle.Failures
	delay                        time.Duration
}

func newLoginThrottle(cfg LoginThrottle) (loginThrottle, error) {
	if cfg.Off {
		return loginThrottle{}, nil
	}
	if cfg.PerUser < 0 || cfg.PerAddress < 0 || cfg.PerAccount < 0 || cfg.Window < 0 || cfg.Delay < 0 {
		return loginThrottle{}, fmt.Errorf("server: login throttle must not be negative: %+v", cfg)
	}
	perUser := cmp.Or(cfg.PerUser, DefaultLoginFailuresPerUser)
	perAddress := cmp.Or(cfg.PerAddress, DefaultLoginFailuresPerAddress)
	perAccount := cmp.Or(cfg.PerAccount, DefaultLoginFailuresPerAccount)
	window := cmp.Or(cfg.Window, DefaultLoginFailureWindow)
	return loginThrottle{
		byUser:    throttle.New(perUser, window/time.Duration(perUser), 0),
		byAddress: throttle.New(perAddress, window/time.Duration(perAddress), 0),
		byAccount: throttle.New(perAccount, window/time.Duration(perAccount), 0),
		delay:     cmp.Or(cfg.Delay, DefaultLoginFailureDelay),
	}, nil
}

// loginOperation is the login operation as the strict handler names it.
var loginOperation = goName("login")

// throttleLogin is a strict middleware: it throttles the login operation.
// The strict handler applies it anew to every request: what it compares is
// worked out once.
func (s *Server) throttleLogin(f strictHandler, operationID string) strictHandler {
	if operationID != loginOperation {
		return f
	}
	return s.throttleLogins(f)
}

// throttleLogins throttles the logins of f.
func (s *Server) throttleLogins(f strictHandler) strictHandler {
	return func(c echo.Context, request any) (any, error) {
		req, ok := request.(apiserver.LoginRequestObject)
		if !ok || req.Body == nil {
			return f(c, request)
		}
		account := logins.UserKey(req.Body.Username, req.Body.Domain)
		address := stateOf(c).key.String()
		user := account + "\x00" + address
		now := s.now()
		if wait := max(s.logins.byUser.Wait(user, now), s.logins.byAddress.Wait(address, now)); wait > 0 {
			s.metrics.Login(metrics.LoginThrottled)
			s.metrics.Refused(metrics.LimitLoginThrottle)
			seconds := int64(math.Ceil(wait.Seconds()))
			c.Response().Header().Set(echo.HeaderRetryAfter, strconv.FormatInt(seconds, 10))
			return nil, echo.NewHTTPError(http.StatusTooManyRequests,
				fmt.Sprintf("too many failed logins for this user from this address, or from this address: retry in %d s", seconds))
		}
		resp, err := f(c, request)
		switch resp.(type) {
		case apiserver.Login200JSONResponse:
			s.metrics.Login(metrics.LoginSucceeded)
		case apiserver.Login401JSONResponse:
			s.metrics.Login(metrics.LoginFailed)
			s.logins.byUser.Fail(user, now)
			s.logins.byAddress.Fail(address, now)
			// Guessing spread over many addresses is slowed, never locked
			// out: the right password still logs in at once.
			if s.logins.byAccount.Wait(account, now) > 0 {
				s.sleep(c.Request().Context(), s.logins.delay)
			}
			s.logins.byAccount.Fail(account, now)
		}
		return resp, err
	}
}
