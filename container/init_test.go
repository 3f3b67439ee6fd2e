package container

import (
	"os"
	"path/filepath"
	"testing"
	"time"
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

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "Less than a second", time.Second: "1 second", 42 * time.Second: "42 seconds",
		90 * time.Second: "About a minute", 5 * time.Minute: "5 minutes", 70 * time.Minute: "About an hour",
		5 * time.Hour: "5 hours", 72 * time.Hour: "3 days", 21 * 24 * time.Hour: "3 weeks",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
