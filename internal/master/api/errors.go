package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/topology"
)

// Error codes of the error body. They are part of the API contract:
// clients switch on them, never on messages.
const (
	CodeInvalid                = "INVALID"
	CodeUnauthenticated        = "UNAUTHENTICATED"
	CodeInvalidCredentials     = "INVALID_CREDENTIALS"
	CodeForbidden              = "FORBIDDEN"
	CodeCSRF                   = "CSRF_FAILED"
	CodePasswordChangeRequired = "PASSWORD_CHANGE_REQUIRED"
	CodeNotFound               = "NOT_FOUND"
	CodeMethodNotAllowed       = "METHOD_NOT_ALLOWED"
	CodeConflict               = "CONFLICT"
	CodeTooLarge               = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMediaType   = "UNSUPPORTED_MEDIA_TYPE"
	CodeRateLimited            = "RATE_LIMITED"
	CodeInternal               = "INTERNAL"
	CodeUnavailable            = "UNAVAILABLE"
)

// ErrInvalid marks a request the handler refuses as invalid; WriteError
// answers 400 INVALID with the error's text. Wrap it:
// fmt.Errorf("%w: name is empty", api.ErrInvalid).
var ErrInvalid = errors.New("invalid request")

// Error is an error with its HTTP status and API code. Handlers return or
// write it when a store sentinel does not say enough.
type Error struct {
	Status  int
	Code    string
	Message string
	Details any
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, fmt.Errorf("encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// WriteError writes err in the API's error shape:
//
//	{"error": {"code": "...", "message": "...", "details": ...}}
//
// *Error is written as it is; store.ErrNotFound gives 404, store.ErrConflict
// 409, ErrInvalid and the topology validation and decoding errors 400 (with
// every topology issue under details); anything else is a 500 whose message
// reveals nothing but an error id, which the server logs with the error.
func WriteError(w http.ResponseWriter, err error) {
	e := toError(err)
	if e.Status >= 500 {
		id := errorID()
		e = &Error{Status: e.Status, Code: e.Code, Message: e.Message, Details: map[string]string{"error_id": id}}
		if rec, ok := w.(*recorder); ok {
			rec.err, rec.errID = err, id
		}
	}
	if e.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="decnet"`)
	}
	WriteJSON(w, e.Status, errorBody{errorObject{Code: e.Code, Message: e.Message, Details: e.Details}})
}

func toError(err error) *Error {
	var e *Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &tooBig):
		return Errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body exceeds %d bytes", tooBig.Limit)
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: messageOf(err, store.ErrNotFound, "not found"), Details: detailsOf(err)}
	case errors.Is(err, store.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: messageOf(err, store.ErrConflict, "conflict with the current state"), Details: detailsOf(err)}
	case errors.Is(err, topology.ErrInvalid), errors.Is(err, topology.ErrDecode):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Message: "invalid topology", Details: topologyIssues(err)}
	case errors.Is(err, ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Message: err.Error(), Details: detailsOf(err)}
	}
	return Errorf(http.StatusInternalServerError, CodeInternal, "internal error")
}

// CodeOf is the API error code err is answered with (INVALID, NOT_FOUND,
// CONFLICT, ...), for callers that report an error outside HTTP, such as
// the CLI: the same refusal has the same code everywhere.
func CodeOf(err error) string { return toError(err).Code }

// Refusal is a refused request of the master's core: Kind is the sentinel
// it matches (store.ErrNotFound, store.ErrConflict or ErrInvalid), which
// decides the status and code; Message is said as it is.
type Refusal struct {
	Kind    error
	Message string
	Details any
}

// Refuse returns a Refusal with a formatted message.
func Refuse(kind error, format string, a ...any) *Refusal {
	return &Refusal{Kind: kind, Message: fmt.Sprintf(format, a...)}
}

func (e *Refusal) Error() string { return e.Message }

// Unwrap returns the sentinel.
func (e *Refusal) Unwrap() error { return e.Kind }

// messageOf is the message of a Refusal in err's chain, or def: other
// errors may come from the store and are not shown.
func messageOf(err, _ error, def string) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Message
	}
	return def
}

// detailsOf returns the details a Refusal in err's chain carries.
func detailsOf(err error) any {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Details
	}
	return nil
}

// topologyIssues lists every validation or decoding problem in err's tree.
func topologyIssues(err error) []any {
	var out []any
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *topology.IssueError:
			out = append(out, e.Issue)
			return
		case *topology.INIError:
			out = append(out, map[string]any{"line": e.Line, "code": e.Code, "message": e.Msg})
			return
		case *topology.DecodeError:
			out = append(out, map[string]any{"line": e.Line, "message": e.Msg})
			return
		case interface{ Unwrap() []error }:
			for _, c := range e.Unwrap() {
				walk(c)
			}
			return
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
			return
		}
	}
	walk(err)
	if len(out) == 0 {
		out = append(out, map[string]any{"message": err.Error()})
	}
	return out
}

func errorID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MaxBodyBytes bounds a JSON request body.
const MaxBodyBytes = 8 << 20

// DecodeJSON reads one JSON value from the request body into v. The body
// must be application/json, at most MaxBodyBytes, hold exactly one value
// and no field v does not have. Errors are *Error (400, 413 or 415) ready
// for WriteError.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return Errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "the body must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return toError(err)
		}
		if errors.Is(err, io.EOF) {
			return Errorf(http.StatusBadRequest, CodeInvalid, "empty body")
		}
		return Errorf(http.StatusBadRequest, CodeInvalid, "malformed JSON body: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(http.StatusBadRequest, CodeInvalid, "malformed JSON body: data after the value")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q: want %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "cannot decode"
}
