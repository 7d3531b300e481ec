package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/hzkit/sendmessage/gen/apiserver"
	"github.com/hzkit/sendmessage/gen/model"
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

// RefreshAccessToken issues a new access token for a live login.
func (h *handlers) RefreshAccessToken(_ context.Context, req apiserver.RefreshAccessTokenRequestObject) (apiserver.RefreshAccessTokenResponseObject, error) {
	access, err := h.auth.Refresh(req.Body.RefreshToken)
	if err != nil {
		return apiserver.RefreshAccessToken401JSONResponse{UnauthorizedJSONResponse: unauthorizedBody(err)}, nil
	}
	return apiserver.RefreshAccessToken200JSONResponse{Body: model.AccessToken{AccessToken: access}}, nil
}

// Logout ends a login and revokes its tokens.
func (h *handlers) Logout(_ context.Context, req apiserver.LogoutRequestObject) (apiserver.LogoutResponseObject, error) {
	if err := h.auth.Logout(req.Body.RefreshToken); err != nil {
		return apiserver.Logout401JSONResponse{UnauthorizedJSONResponse: unauthorizedBody(err)}, nil
	}
	return apiserver.Logout200Response{}, nil
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
