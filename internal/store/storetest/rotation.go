package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/store"
)

// testRotations covers service rotation schedules (upsert, lookup, list,
// delete) and their history (newest first, limited), and that both go
// with their topology.
func testRotations(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	tp := newTopology(t, s, "rot")
	next := now().Add(time.Hour)
	r := &store.Rotation{TopologyID: tp.ID, Decky: "web", Pool: []string{"ftp", "redis"}, Count: 1, Every: 90 * time.Second, Enabled: true, NextAt: next, UpdatedBy: "admin"}
	must(t, s.PutRotation(c, r))
	if r.UpdatedAt.IsZero() {
		t.Fatal("PutRotation did not fill UpdatedAt")
	}
	r.Pool, r.Count, r.Enabled = []string{"ftp", "redis", "mysql"}, 2, false
	r.Settings = map[string]map[string]any{"ftp": {"anonymous": true, "banner": "x"}}
	must(t, s.PutRotation(c, r)) // replaces
	got, err := s.Rotation(c, tp.ID, "web")
	must(t, err)
	if !slices.Equal(got.Pool, r.Pool) || got.Count != 2 || got.Every != 90*time.Second || got.Enabled || !got.NextAt.Equal(next) || got.UpdatedBy != "admin" || got.Settings["ftp"]["anonymous"] != true || got.Settings["ftp"]["banner"] != "x" {
		t.Fatalf("Rotation = %+v", got)
	}
	_, err = s.Rotation(c, tp.ID, "nope")
	wantErr(t, err, store.ErrNotFound, "unknown decky")
	must(t, s.PutRotation(c, &store.Rotation{TopologyID: tp.ID, Decky: "db", Pool: []string{"a"}, Count: 1, Every: time.Minute, NextAt: next, UpdatedBy: "x"}))
	all, err := s.ListRotations(c)
	must(t, err)
	if len(all) != 2 || all[0].Decky != "db" || all[1].Decky != "web" {
		t.Fatalf("ListRotations = %+v", all)
	}
	must(t, s.DeleteRotation(c, tp.ID, "db"))
	wantErr(t, s.DeleteRotation(c, tp.ID, "db"), store.ErrNotFound, "deleted twice")

	for i := range 3 {
		rec := &store.RotationRecord{TopologyID: tp.ID, Decky: "web", At: now(), Before: []string{"ssh", "ftp"}, After: []string{"ssh", "redis"}, By: "schedule"}
		if i == 2 {
			rec.By = "admin"
		}
		must(t, s.AddRotationRecord(c, rec))
		if rec.ID == 0 {
			t.Fatal("AddRotationRecord did not fill ID")
		}
	}
	recs, err := s.ListRotationRecords(c, tp.ID, "web", 2)
	must(t, err)
	if len(recs) != 2 || recs[0].By != "admin" || recs[0].ID <= recs[1].ID || !slices.Equal(recs[0].After, []string{"ssh", "redis"}) {
		t.Fatalf("ListRotationRecords = %+v", recs)
	}
	must(t, s.DeleteTopology(c, tp.ID))
	if all, _ := s.ListRotations(c); len(all) != 0 {
		t.Fatalf("schedules outlive their topology: %+v", all)
	}
	if recs, _ := s.ListRotationRecords(c, tp.ID, "web", 10); len(recs) != 0 {
		t.Fatalf("history outlives its topology: %+v", recs)
	}
}
