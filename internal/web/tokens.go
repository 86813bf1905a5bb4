package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/decnet/decnet/internal/canary"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
)

// TokenLister lists the canary tokens with where they call home
// (master.Master); they are made and deleted through the API.
type TokenLister interface {
	CanaryTokens(ctx context.Context) ([]master.CanaryToken, error)
}

type tokensView struct {
	Tokens []master.CanaryToken
	Kinds  []string
}

func (s *Server) tokensPage(r *http.Request, _ *api.Principal) (string, any, error) {
	if s.tokens == nil {
		return "", nil, errors.New("this master makes no canary tokens")
	}
	ts, err := s.tokens.CanaryTokens(r.Context())
	if err != nil {
		return "", nil, err
	}
	return "Canary tokens", tokensView{Tokens: ts, Kinds: canary.Kinds}, nil
}

// tokenView is one token's page: the token and its triggers.
type tokenView struct {
	Token    master.CanaryToken
	Triggers []event.Event
}

func (s *Server) tokenPage(r *http.Request, _ *api.Principal) (string, any, error) {
	if s.tokens == nil {
		return "", nil, errors.New("this master makes no canary tokens")
	}
	ts, err := s.tokens.CanaryTokens(r.Context())
	if err != nil {
		return "", nil, err
	}
	id := r.PathValue("id")
	for _, t := range ts {
		if t.ID != id {
			continue
		}
		evs, err := s.st.ListEvents(r.Context(), store.EventFilter{Types: []string{canary.TriggeredType}, Text: t.ID, Limit: listCap})
		if err != nil {
			return "", nil, err
		}
		return "Token: " + t.Memo, tokenView{Token: t, Triggers: evs}, nil
	}
	return "", nil, fmt.Errorf("canary token %q: %w", id, store.ErrNotFound)
}
