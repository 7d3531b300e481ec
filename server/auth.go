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

// bearerAuthenticator checks the spec's bearerAuth scheme. It is called by the
// validator for every operation the spec protects.
func bearerAuthenticator(auth logins.Service) openapi3filter.AuthenticationFunc {
	return func(_ context.Context, input *openapi3filter.AuthenticationInput) error {
		header := input.RequestValidationInput.Request.Header.Get(echo.HeaderAuthorization)
		if header == "" {
			return echo.NewHTTPError(http.StatusUnauthorized, "missing bearer token: send the header \"Authorization: Bearer TOKEN\"")
		}
		scheme, presented, ok := strings.Cut(header, " ")
		presented = strings.TrimSpace(presented)
		if !ok || !strings.EqualFold(scheme, "Bearer") || presented == "" {
			return echo.NewHTTPError(http.StatusUnauthorized, "malformed Authorization header: want \"Bearer TOKEN\"")
		}
		if err := auth.Authorize(presented); err != nil {
			return echo.NewHTTPError(http.StatusUnauthorized, err.Error())
		}
		return nil
	}
}
