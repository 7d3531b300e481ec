// Package sendmessage is the spec-first Go toolkit for the VMware Horizon Server
// REST operation Send Message To Sessions
// (POST /rest/inventory/v1/sessions/action/send-message), with the operations a
// client needs around it: login, token refresh and logout, and session listing.
//
// api/openapi.yaml is the contract. Everything in gen/ is written from it by
// `go generate ./...`; server/ is the reference server and client/ the Go client,
// both thin layers over the generated code. The tests in this folder hold the
// spec, the server and the client against each other.
package sendmessage

// First the spec itself: the names that filters give fields, from SessionInfo.
//go:generate go run ./internal/fieldnames -spec api/openapi.yaml

// The models, the client side and the server side are packages of their own:
// importing the client links nothing of the server.
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/model/model.cfg.yaml api/openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/apiclient/apiclient.cfg.yaml api/openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/apiserver/apiserver.cfg.yaml api/openapi.yaml
//go:generate go run ./internal/specbounds -spec api/openapi.yaml -config gen/model/model.cfg.yaml -bounds AuthLoginDomainMaxLength,AuthLoginUsernameMaxLength,ListDeliveredMessagesLimitMaximum,ListSessionsSizeMaximum,ReferenceUserPasswordMaxLength,RefreshTokenRefreshTokenMaxLength -out gen/model/bounds.gen.go -version-out gen/model/version.gen.go
