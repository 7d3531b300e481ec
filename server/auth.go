package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/server/internal/logins"
)

// Default token lifetimes, when Config leaves them zero.
const (
	DefaultAccessTokenTTL  = logins.DefaultAccessTokenTTL
	DefaultRefreshTokenTTL = logins.DefaultRefreshTokenTTL
)

// authorize checks the Authorization header of a request to a protected
// operation and returns what its token is granted. The error is a 401.
func authorize(auth logins.Service, header string) (logins.Grant, error) {
	if header == "" {
		return logins.Grant{}, echo.NewHTTPError(http.StatusUnauthorized, "missing bearer token: send the header \"Authorization: Bearer TOKEN\"")
	}
	scheme, presented, ok := strings.Cut(header, " ")
	// Only the blanks of HTTP (RFC 9110, 5.6.3): a token that ends in any
	// other white space, such as U+00A0, is not the token issued.
	presented = strings.Trim(presented, " \t")
	if !ok || !strings.EqualFold(scheme, "Bearer") || presented == "" {
		return logins.Grant{}, echo.NewHTTPError(http.StatusUnauthorized, "malformed Authorization header: want \"Bearer TOKEN\"")
	}
	grant, err := auth.Authorize(presented)
	if err != nil {
		return logins.Grant{}, echo.NewHTTPError(http.StatusUnauthorized, err.Error())
	}
	return grant, nil
}

// authenticate is the validator's AuthenticationFunc: it checks the spec's
// security schemes (bearerAuth, and operatorToken, which also needs the
// operator's grant). The gate has checked the token of every request of a
// protected operation before its body is read: what it found rides in the
// context. A request that came some other way is checked here again.
func (s *Server) authenticate(ctx context.Context, input *openapi3filter.AuthenticationInput) error {
	var grant logins.Grant
	if r, ok := ctx.Value(requestKey{}).(*request); ok && r.op != nil && r.op.protected && r.authErr == nil {
		grant = r.grant
	} else {
		var err error
		if grant, err = authorize(s.auth, input.RequestValidationInput.Request.Header.Get(echo.HeaderAuthorization)); err != nil {
			return err
		}
	}
	if input.SecuritySchemeName == operatorScheme && !grant.Operator() {
		return echo.NewHTTPError(http.StatusForbidden, errNotOperator.Error())
	}
	return nil
}
