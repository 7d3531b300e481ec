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

// bearerAuthenticator checks the spec's security schemes (bearerAuth, and
// operatorToken, which also needs the operator's grant) for the validator
// and the fast path. The gate has already checked every request to a
// protected operation before its body is read; the fast path finds the
// gate's body on the request and takes its word. Any other request (one the
// validator reads, whose body it has replaced, or one that came some other
// way) is checked here again.
func bearerAuthenticator(auth logins.Service) openapi3filter.AuthenticationFunc {
	return func(_ context.Context, input *openapi3filter.AuthenticationInput) error {
		req := input.RequestValidationInput.Request
		grant, err := logins.Grant{}, error(nil)
		if body, ok := req.Body.(*budgetedBody); ok && !body.r.anonymous {
			grant = body.r.grant
		} else if grant, err = authorize(auth, req.Header.Get(echo.HeaderAuthorization)); err != nil {
			return err
		}
		if input.SecuritySchemeName == operatorScheme && !grant.Operator() {
			return echo.NewHTTPError(http.StatusForbidden, errNotOperator.Error())
		}
		return nil
	}
}
