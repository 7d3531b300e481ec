package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
)

// bearerAuthenticator checks the spec's bearerAuth scheme. It is called by the
// validator for every operation the spec protects.
func bearerAuthenticator(token string) openapi3filter.AuthenticationFunc {
	// Comparing digests keeps the comparison constant-time in the token's length too.
	want := sha256.Sum256([]byte(token))
	return func(_ context.Context, input *openapi3filter.AuthenticationInput) error {
		header := input.RequestValidationInput.Request.Header.Get(echo.HeaderAuthorization)
		if header == "" {
			return echo.NewHTTPError(http.StatusUnauthorized, "missing bearer token: send the header \"Authorization: Bearer TOKEN\"")
		}
		scheme, presented, ok := strings.Cut(header, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(presented) == "" {
			return echo.NewHTTPError(http.StatusUnauthorized, "malformed Authorization header: want \"Bearer TOKEN\"")
		}
		got := sha256.Sum256([]byte(strings.TrimSpace(presented)))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return echo.NewHTTPError(http.StatusUnauthorized, "invalid bearer token")
		}
		return nil
	}
}
