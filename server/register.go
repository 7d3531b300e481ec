package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/hzkit/sendmessage/gen/apiserver"
)

// register puts the spec's operations on e under BasePath, each behind the
// validator, and the validator's 404 and 405 on every other path under it.
// The validator is composed with each handler once, here: as a group's
// middleware, echo would compose it anew for every request.
func register(e *echo.Echo, validate echo.MiddlewareFunc, handlers apiserver.ServerInterface) {
	apiserver.RegisterHandlersWithBaseURL(validatedRoutes{e: e, validate: validate}, handlers, BasePath)
	// What echo's Group.Use does, that the validator meets paths outside
	// the spec too.
	e.RouteNotFound(BasePath, validate(echo.NotFoundHandler))
	e.RouteNotFound(BasePath+"/*", validate(echo.NotFoundHandler))
}

// validatedRoutes is the generated code's EchoRouter: it adds each route to
// echo with the validator in front.
type validatedRoutes struct {
	e        *echo.Echo
	validate echo.MiddlewareFunc
}

func (v validatedRoutes) add(method, path string, h echo.HandlerFunc, m []echo.MiddlewareFunc) *echo.Route {
	for i := len(m) - 1; i >= 0; i-- {
		h = m[i](h)
	}
	return v.e.Add(method, path, v.validate(h))
}

func (v validatedRoutes) CONNECT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return v.add(http.MethodConnect, path, h, m)
}

func (v validatedRoutes) DELETE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return v.add(http.MethodDelete, path, h, m)
}

func (v validatedRoutes) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return v.add(http.MethodGet, path, h, m)
}

func (v validatedRoutes) HEAD(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return v.add(http.MethodHead, path, h, m)
}

func (v validatedRoutes) OPTIONS(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return v.add(http.MethodOptions, path, h, m)
}

func (v validatedRoutes) PATCH(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return v.add(http.MethodPatch, path, h, m)
}

func (v validatedRoutes) POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return v.add(http.MethodPost, path, h, m)
}

func (v validatedRoutes) PUT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return v.add(http.MethodPut, path, h, m)
}

func (v validatedRoutes) TRACE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return v.add(http.MethodTrace, path, h, m)
}
