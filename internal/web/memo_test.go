package web

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMemoServesStaleAndRefreshesOnce(t *testing.T) {
	n := 0
	load := func(context.Context) (*int, error) {
		n++
		v := n
		return &v, nil
	}
	m := memo[int]{ttl: time.Hour}
	for range 3 {
		if v, err := m.get(context.Background(), load); err != nil || *v != 1 {
			t.Fatalf("got %v %v, want the first load", v, err)
		}
	}
	m.mu.Lock()
	m.at = time.Now().Add(-2 * time.Hour) // stale
	m.mu.Unlock()
	if v, _ := m.get(context.Background(), load); *v != 1 {
		t.Fatalf("stale value %d, want the first served while refreshing", *v)
	}
	for {
		v, _ := m.get(context.Background(), load)
		if *v == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
}

func TestMemoFirstLoadErrorIsNotKept(t *testing.T) {
	fail := true
	load := func(context.Context) (*int, error) {
		if fail {
			return nil, errors.New("down")
		}
		v := 5
		return &v, nil
	}
	m := memo[int]{ttl: time.Hour}
	if _, err := m.get(context.Background(), load); err == nil {
		t.Fatal("no error")
	}
	fail = false
	if v, err := m.get(context.Background(), load); err != nil || *v != 5 {
		t.Fatalf("got %v %v", v, err)
	}
}
