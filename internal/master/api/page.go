package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// Page sizes of every list.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Page is a request's ?limit and ?cursor.
type Page struct {
	Limit  int
	Cursor string // decoded; "" for the first page
}

// ParsePage reads ?limit (1..MaxLimit, DefaultLimit when absent) and
// ?cursor (an opaque value from a previous next_cursor). Errors are 400
// *Error.
func ParsePage(r *http.Request) (Page, error) {
	q := r.URL.Query()
	p := Page{Limit: DefaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return p, Errorf(http.StatusBadRequest, CodeInvalid, "limit must be an integer from 1 to %d", MaxLimit)
		}
		p.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		c, err := DecodeCursor(s)
		if err != nil {
			return p, err
		}
		p.Cursor = c
	}
	return p, nil
}

// EncodeCursor makes an opaque cursor of a position.
func EncodeCursor(pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pos))
}

// DecodeCursor returns the position EncodeCursor encoded; a malformed
// cursor is a 400 *Error.
func DecodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(c) > 512 || len(b) == 0 {
		return "", Errorf(http.StatusBadRequest, CodeInvalid, "malformed cursor")
	}
	return string(b), nil
}

// List is the response of every list route. NextCursor is absent on the
// last page.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// NewList makes the page of a list from items fetched with a limit of
// limit+1: when there is an extra item it is dropped and NextCursor is the
// cursor of the last item kept, as pos returns it.
func NewList[T any](items []T, limit int, pos func(last T) string) List[T] {
	if items == nil {
		items = []T{}
	}
	if len(items) <= limit {
		return List[T]{Items: items}
	}
	items = items[:limit]
	return List[T]{Items: items, NextCursor: EncodeCursor(pos(items[limit-1]))}
}
