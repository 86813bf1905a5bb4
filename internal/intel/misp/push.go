package misp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Pusher sends events to a MISP instance's REST API.
type Pusher struct {
	// URL is the instance's base URL (https://misp.example.org).
	URL string
	// Key is the user's automation key (MISP's Authorization header).
	Key    string
	Client *http.Client
}

// PushResult is what MISP answered.
type PushResult struct {
	Status int    `json:"status"`
	UUID   string `json:"uuid"`
	ID     string `json:"id,omitempty"`
}

// Push adds the event (POST /events/add); MISP answers the stored event.
// An event with the same UUID already there is refused by MISP with 403
// and is then updated (POST /events/edit/{uuid}).
func (p *Pusher) Push(ctx context.Context, d *Document) (*PushResult, error) {
	base, err := url.Parse(strings.TrimSuffix(p.URL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("misp url %q: want https://host[/path]", p.URL)
	}
	if p.Key == "" {
		return nil, fmt.Errorf("misp: no API key")
	}
	body, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	res, err := p.post(ctx, base.String()+"/events/add", body)
	if err == nil && res.Status == http.StatusForbidden {
		res, err = p.post(ctx, base.String()+"/events/edit/"+d.Event.UUID, body)
	}
	if err != nil {
		return nil, err
	}
	if res.Status/100 != 2 {
		return res, fmt.Errorf("misp answered %d", res.Status)
	}
	return res, nil
}

func (p *Pusher) post(ctx context.Context, u string, body []byte) (*PushResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", p.Key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	c := p.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("misp: %w", err)
	}
	defer resp.Body.Close()
	var got struct {
		Event struct {
			ID   string `json:"id"`
			UUID string `json:"uuid"`
		} `json:"Event"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = json.Unmarshal(b, &got)
	return &PushResult{Status: resp.StatusCode, UUID: got.Event.UUID, ID: got.Event.ID}, nil
}
