// Package fastpath accepts plain, valid request bodies without the generic validator.
package fastpath

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
)

// The fast path accepts the common, valid request without the generic
// validator's costs (route search, a decode into map[string]any, a schema walk,
// a second bind by reflection). It is compiled at start-up from the same
// adjusted spec the validator uses and only ever says "valid, here is the
// typed value" or "not sure": everything it is not sure about, every invalid
// request included, goes to the generic validator, which answers as before.
// So no refusal changes, and what it accepts is checked against the validator
// by the tests: here a differential check over generated bodies and a fuzz
// target; in the server whole servers with and without it, on the shipped
// spec and on changed ones.
//
// It handles an operation only when the spec and the validator's options let
// it be exact, and refuses to compile otherwise:
//   - servers: only the base path, so matching needs no host;
//   - an OpenAPI 3.0 document (3.1 schemas go to another validator);
//   - no parameters; security requirements that the validator checks with
//     an AuthenticationFunc, and that the caller checks, as the server's
//     gate does, before it asks the fast path;
//   - a required JSON request body whose schema is an object of required
//     properties, each a string or an array of strings.
//
// Which fields of kin-openapi's types and options it implements is said field
// by field (fields.go): any other that is set, today's or one kin-openapi adds
// tomorrow, keeps the operation off the fast path. A string with a pattern
// is checked by kin-openapi's own Schema.VisitJSON, with the options
// ValidateRequestBody passes it; enum, minLength and maxLength alone are
// checked as VisitJSON checks them, without its allocations (plainString,
// held to VisitJSON by a test).
//
// A request takes the fast path only when its body is plain: the known
// property names once each (and members the schema leaves open, skipped),
// no null, nothing after the object.

// Operation is one operation the fast path handles.
type Operation struct {
	// options are the validator's, for which the operation was compiled.
	options     *openapi3filter.Options
	route       *routers.Route
	requestBody *openapi3.RequestBody
	mediaType   *openapi3.MediaType
	body        *objectPlan
}

// Paths holds the compiled operations by echo route ("POST /rest/...").
type Paths struct {
	operations map[string]*Operation
}

// Operation returns the compiled operation of method and path (the base
// path and the spec's path), or nil when the fast path does not handle it.
func (f *Paths) Operation(method, path string) *Operation {
	return f.operations[method+" "+path]
}

// ErrNotCompiled says why an operation keeps the generic path.
var ErrNotCompiled = errors.New("not handled by the fast path")

// Compile compiles the operations of doc whose request body binds to one of
// bodyTypes (the generated body types, by operation id), for a validator that
// runs with options. options must be the validator's own value, and neither
// may change afterwards.
func Compile(doc *openapi3.T, basePath string, options *openapi3filter.Options, bodyTypes map[string]reflect.Type) (*Paths, error) {
	if options == nil {
		options = &openapi3filter.Options{} // as the validator takes nil
	}
	if err := onlyFields("validator options", options, optionsFields); err != nil {
		return nil, err
	}
	if doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("%w: OpenAPI %s: its schemas are JSON Schema 2020-12, for another validator", ErrNotCompiled, doc.OpenAPI)
	}
	for _, server := range doc.Servers {
		if server.URL != basePath || len(server.Variables) > 0 {
			return nil, fmt.Errorf("%w: server %q is not the base path %s", ErrNotCompiled, server.URL, basePath)
		}
	}
	f := &Paths{operations: map[string]*Operation{}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			goType, ok := bodyTypes[op.OperationID]
			if !ok {
				continue
			}
			compiled, err := compileOperation(doc, options, path, method, item, op, goType)
			if err != nil {
				return nil, fmt.Errorf("operation %s: %w", op.OperationID, err)
			}
			f.operations[method+" "+basePath+path] = compiled
		}
	}
	return f, nil
}

func compileOperation(doc *openapi3.T, options *openapi3filter.Options, path, method string, item *openapi3.PathItem, op *openapi3.Operation, goType reflect.Type) (*Operation, error) {
	where := "paths." + path
	if err := onlyFields(where, item, pathItemFields); err != nil {
		return nil, err
	}
	where += "." + strings.ToLower(method)
	if err := onlyFields(where, op, operationFields); err != nil {
		return nil, err
	}
	if strings.Contains(path, "{") {
		return nil, fmt.Errorf("%w: %s: templated path", ErrNotCompiled, where)
	}
	if op.RequestBody == nil || op.RequestBody.Value == nil || !op.RequestBody.Value.Required {
		return nil, fmt.Errorf("%w: %s: no required request body", ErrNotCompiled, where)
	}
	security := doc.Security
	if op.Security != nil {
		security = *op.Security
	}
	for _, requirement := range security {
		for name := range requirement {
			if doc.Components == nil || doc.Components.SecuritySchemes[name] == nil || doc.Components.SecuritySchemes[name].Value == nil {
				return nil, fmt.Errorf("%w: %s: security scheme %q is not declared", ErrNotCompiled, where, name)
			}
			if options.AuthenticationFunc == nil {
				return nil, fmt.Errorf("%w: %s: no AuthenticationFunc for security scheme %q", ErrNotCompiled, where, name)
			}
		}
	}
	requestBody := op.RequestBody.Value
	where += ".requestBody"
	if err := onlyFields(where, requestBody, requestBodyFields); err != nil {
		return nil, err
	}
	mediaType := requestBody.Content.Get(echo.MIMEApplicationJSON)
	if mediaType == nil || mediaType.Schema == nil || mediaType.Schema.Value == nil {
		return nil, fmt.Errorf("%w: %s: no application/json schema", ErrNotCompiled, where)
	}
	where += ".content." + echo.MIMEApplicationJSON
	if err := onlyFields(where, mediaType, mediaTypeFields); err != nil {
		return nil, err
	}
	body, err := compileObject(mediaType.Schema.Value, goType, where+".schema", schemaOptions(doc, options))
	if err != nil {
		return nil, err
	}
	return &Operation{
		options:     options,
		route:       &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
		requestBody: requestBody,
		mediaType:   mediaType,
		body:        body,
	}, nil
}

// schemaOptions are the options openapi3filter.ValidateRequestBody (v0.153)
// passes to Schema.VisitJSON for a body of the media type the fast path
// accepts, application/json.
func schemaOptions(doc *openapi3.T, options *openapi3filter.Options) []openapi3.SchemaValidationOption {
	opts := []openapi3.SchemaValidationOption{openapi3.VisitAsRequest()}
	if !options.SkipSettingDefaults && openapi3filter.RegisteredBodyEncoder(echo.MIMEApplicationJSON) != nil {
		// Defaults are set on objects; a string never calls this.
		opts = append(opts, openapi3.DefaultsSet(func() {}))
	}
	if options.MultiError {
		opts = append(opts, openapi3.MultiErrors())
	}
	// The unexported customSchemaErrorFunc would go here: it only rewords
	// refusals, and the fast path only accepts.
	if options.ExcludeReadOnlyValidations {
		opts = append(opts, openapi3.DisableReadOnlyValidation())
	}
	if options.RegexCompiler != nil {
		opts = append(opts, openapi3.SetSchemaRegexCompiler(options.RegexCompiler))
	}
	opts = append(opts, options.SchemaValidationOptions...)
	if doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.EnableJSONSchema2020())
	}
	return opts
}

// Accept reads the body; when the request is valid for sure it returns the
// typed value (a pointer to the generated body type) and true. Otherwise the
// body is put back as it was read, read error included, for the validator.
// The request's security requirements are the caller's to check first: the
// fast path trusts that the validator's AuthenticationFunc would pass it.
func (op *Operation) Accept(req *http.Request) (value any, ok bool) {
	if req.URL.RawPath != "" || req.Body == nil || req.Body == http.NoBody {
		return nil, false
	}
	contentType := req.Header.Get(echo.HeaderContentType)
	if op.requestBody.Content.Get(contentType) != op.mediaType {
		return nil, false
	}
	// Only this media type, spelt so, with a body: the generated handler
	// would bind nothing else as the validator's value.
	if mediaType, _, _ := strings.Cut(contentType, ";"); req.ContentLength == 0 || strings.TrimSpace(mediaType) != echo.MIMEApplicationJSON {
		return nil, false
	}
	body, readErr := readBody(req)
	req.Body = &replayBody{rest: body, err: readErr}
	if readErr != nil {
		return nil, false
	}
	typed := reflect.New(op.body.goType)
	if !op.body.decode(body, typed.Elem()) {
		return nil, false
	}
	return typed.Interface(), true
}

// readBody reads the whole body as io.ReadAll does, but into room for the
// declared Content-Length (limitBody has bounded it) from the start, up to
// initialBodyRoom: a length is only a claim until the bytes arrive. The
// error is the reader's own, unwrapped: it is replayed to the validator,
// whose answer must be the one it gives without the fast path.
//
// The bytes are read into a buffer kept between requests and copied once into
// the string returned, whose substrings the decoded value keeps: a request
// allocates room for its body once, and the body stays as it was read.
const initialBodyRoom = 256 << 10

func readBody(req *http.Request) (string, error) {
	defer req.Body.Close()
	size := 512
	if req.ContentLength > 0 {
		size = int(min(req.ContentLength+1, initialBodyRoom)) // + 1: the read that meets the end
	}
	buffer := readBuffers.get()
	data := buffer.data[:0]
	if cap(data) < size {
		data = make([]byte, 0, size)
	}
	var err error
	for {
		var n int
		n, err = req.Body.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF { // as io.ReadAll: only io.EOF itself ends a body
			err = nil
			break
		}
		if err != nil {
			break
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
	body := string(data)
	buffer.data = data
	readBuffers.put(buffer)
	return body, err
}

// readBuffers are the buffers readBody reads into. A buffer larger than
// initialBodyRoom is not kept: a rare large body must not pin its size.
var readBuffers bufferPool

type readBuffer struct{ data []byte }

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) get() *readBuffer {
	if b, ok := p.pool.Get().(*readBuffer); ok {
		return b
	}
	return &readBuffer{}
}

func (p *bufferPool) put(b *readBuffer) {
	if cap(b.data) <= initialBodyRoom {
		p.pool.Put(b)
	}
}

// replayBody gives a body again as it was read: its bytes, then the read's
// error, or io.EOF.
type replayBody struct {
	rest string
	err  error
}

func (b *replayBody) Read(p []byte) (int, error) {
	if b.rest == "" {
		if b.err != nil {
			return 0, b.err
		}
		return 0, io.EOF
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

func (b *replayBody) Close() error { return nil }
