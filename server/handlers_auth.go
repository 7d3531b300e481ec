package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/gen/model"
	"github.com/hzkit/sendmessage/server/internal/logins"
)

// Login starts a login. The spec has already refused UPN-style user names.
func (h *handlers) Login(_ context.Context, req apiserver.LoginRequestObject) (apiserver.LoginResponseObject, error) {
	password, err := joinPassword(req.Body.Password)
	if err != nil {
		return nil, err
	}
	access, refresh, err := h.auth.Login(req.Body.Username, req.Body.Domain, password)
	if err != nil {
		return apiserver.Login401JSONResponse{UnauthorizedJSONResponse: unauthorizedBody(err)}, nil
	}
	return apiserver.Login200JSONResponse{Body: model.AuthTokens{AccessToken: access, RefreshToken: refresh}}, nil
}

// RefreshAccessToken issues a new access token for a live login. A refresh
// token that does not work gets 400, as Horizon 8.0.0 declares, saying why.
func (h *handlers) RefreshAccessToken(_ context.Context, req apiserver.RefreshAccessTokenRequestObject) (apiserver.RefreshAccessTokenResponseObject, error) {
	access, err := h.auth.Refresh(req.Body.RefreshToken)
	var refused *logins.RefreshTokenError
	switch {
	case errors.As(err, &refused):
		return apiserver.RefreshAccessToken400JSONResponse{RefreshTokenRefusedJSONResponse: refreshTokenRefused(refused)}, nil
	case err != nil:
		return nil, fmt.Errorf("refresh: %w", err)
	}
	return apiserver.RefreshAccessToken200JSONResponse{Body: model.AccessToken{AccessToken: access}}, nil
}

// Logout ends a login and revokes its tokens. A refresh token that does not
// work gets 400, as Horizon 8.0.0 declares, saying why.
func (h *handlers) Logout(_ context.Context, req apiserver.LogoutRequestObject) (apiserver.LogoutResponseObject, error) {
	err := h.auth.Logout(req.Body.RefreshToken)
	var refused *logins.RefreshTokenError
	switch {
	case errors.As(err, &refused):
		return apiserver.Logout400JSONResponse{RefreshTokenRefusedJSONResponse: refreshTokenRefused(refused)}, nil
	case err != nil:
		return nil, fmt.Errorf("logout: %w", err)
	}
	return apiserver.Logout200Response{}, nil
}

// refreshTokenRefused is the spec's RefreshTokenRefused answer: the reason,
// with its own error_key.
func refreshTokenRefused(err *logins.RefreshTokenError) apiserver.RefreshTokenRefusedJSONResponse {
	return apiserver.RefreshTokenRefusedJSONResponse(errorBodyWithKey(err.Key(), err.Error()))
}

// joinPassword reads either form the spec allows: a string, or an array of
// strings (Horizon 8.0.0's char[]) whose elements are joined in order.
func joinPassword(p model.AuthLogin_Password) (string, error) {
	if s, err := p.AsAuthLoginPassword0(); err == nil {
		return s, nil
	}
	parts, err := p.AsAuthLoginPassword1()
	if err != nil {
		return "", fmt.Errorf("password is neither a string nor an array of strings: %w", err)
	}
	return strings.Join(parts, ""), nil
}
