package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/master/api"
)

// OutputLister lists the master's SIEM outputs with their delivery state
// (master.Outputs).
type OutputLister interface {
	List(ctx context.Context) ([]master.OutputView, error)
}

// outputRow is one output as the page shows it.
type outputRow struct {
	master.OutputView
	// Dest is where the output sends: its file, receiver or URL.
	Dest string
}

func (s *Server) outputsPage(r *http.Request, _ *api.Principal) (string, any, error) {
	if s.outputs == nil {
		return "", nil, errors.New("this master runs no outputs")
	}
	vs, err := s.outputs.List(r.Context())
	if err != nil {
		return "", nil, err
	}
	rows := make([]outputRow, 0, len(vs))
	for _, v := range vs {
		row := outputRow{OutputView: v}
		switch {
		case v.ResolvedPath != "":
			row.Dest = v.ResolvedPath
		case v.Path != "":
			row.Dest = v.Path
		case v.Address != "":
			row.Dest = v.Address
			if v.TLS {
				row.Dest += " (TLS)"
			}
		default:
			row.Dest = v.URL
		}
		rows = append(rows, row)
	}
	return "Outputs", rows, nil
}
