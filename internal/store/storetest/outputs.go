package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/store"
)

// testOutputs covers the output rows: the config is kept byte for byte
// (the master encrypts in it, so no backend may reformat it), names are
// unique and free again after a delete, and rows survive a reopen.
func testOutputs(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	hookCfg := `{"name":"siem","kind":"webhook","url":"https://siem.example/in","secret":"enc:v1:AAAA"}`
	hook := &store.OutputRow{Name: "siem", Kind: "webhook", Config: json.RawMessage(hookCfg), Enabled: true}
	before := now()
	must(t, s.CreateOutput(c, hook))
	if hook.CreatedAt.Before(before) || !hook.UpdatedAt.Equal(hook.CreatedAt) {
		t.Fatalf("CreateOutput did not fill the times: %+v", hook)
	}
	file := &store.OutputRow{Name: "archive", Kind: "file", Config: json.RawMessage(`{"path":"a.jsonl"}`), Enabled: false}
	must(t, s.CreateOutput(c, file))
	wantErr(t, s.CreateOutput(c, &store.OutputRow{Name: "siem", Kind: "file", Config: json.RawMessage(`{}`)}), store.ErrConflict, "duplicate name")

	got, err := s.Output(c, "siem")
	must(t, err)
	if got.Name != "siem" || got.Kind != "webhook" || string(got.Config) != hookCfg || !got.Enabled ||
		!got.CreatedAt.Equal(hook.CreatedAt) || !got.UpdatedAt.Equal(hook.UpdatedAt) {
		t.Fatalf("Output = %+v, want %+v", got, hook)
	}
	_, err = s.Output(c, "nope")
	wantErr(t, err, store.ErrNotFound, "Output(missing)")

	list, err := s.ListOutputs(c)
	must(t, err)
	if len(list) != 2 || list[0].Name != "archive" || list[0].Enabled || list[1].Name != "siem" {
		t.Fatalf("ListOutputs = %+v", list)
	}

	time.Sleep(2 * time.Millisecond) // UpdatedAt must move
	upd := &store.OutputRow{Name: "archive", Kind: "syslog", Config: json.RawMessage(`{"address":"127.0.0.1:6514"}`), Enabled: true}
	must(t, s.UpdateOutput(c, upd))
	if !upd.CreatedAt.Equal(file.CreatedAt) || !upd.UpdatedAt.After(file.UpdatedAt) {
		t.Fatalf("UpdateOutput times: %+v (created as %+v)", upd, file)
	}
	got, err = s.Output(c, "archive")
	must(t, err)
	if got.Kind != "syslog" || string(got.Config) != `{"address":"127.0.0.1:6514"}` || !got.Enabled ||
		!got.CreatedAt.Equal(file.CreatedAt) || !got.UpdatedAt.Equal(upd.UpdatedAt) {
		t.Fatalf("after UpdateOutput: %+v", got)
	}
	wantErr(t, s.UpdateOutput(c, &store.OutputRow{Name: "nope", Kind: "file", Config: json.RawMessage(`{}`)}), store.ErrNotFound, "UpdateOutput(missing)")

	must(t, s.DeleteOutput(c, "siem"))
	wantErr(t, s.DeleteOutput(c, "siem"), store.ErrNotFound, "DeleteOutput twice")
	_, err = s.Output(c, "siem")
	wantErr(t, err, store.ErrNotFound, "deleted output")

	// Rows survive a restart; a deleted name is free again.
	must(t, s.Close())
	s = open(t)
	list, err = s.ListOutputs(c)
	must(t, err)
	if len(list) != 1 || list[0].Name != "archive" || list[0].Kind != "syslog" {
		t.Fatalf("ListOutputs after reopen = %+v", list)
	}
	must(t, s.CreateOutput(c, &store.OutputRow{Name: "siem", Kind: "webhook", Config: json.RawMessage(hookCfg)}))
}
