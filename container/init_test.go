package container

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLookCommandStatuses(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	plain := filepath.Join(dir, "notes")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(plain, []byte("text\n"), 0o644)

	cases := []struct {
		name, path string
		want       int // 0: found
	}{
		{"tool", dir, 0},
		{exe, "", 0},
		{"nosuch", dir, StatusNotFound},
		{filepath.Join(dir, "nosuch"), dir, StatusNotFound},
		{dir, "", StatusCannotExecute},
		{plain, "", StatusCannotExecute},
		{"notes", dir, StatusCannotExecute},
	}
	for _, c := range cases {
		_, se := lookCommand(c.name, c.path)
		got := 0
		if se != nil {
			got = se.Status
		}
		if got != c.want {
			t.Errorf("lookCommand(%q, PATH=%q) status %d, want %d (%v)", c.name, c.path, got, c.want, se)
		}
	}
}
