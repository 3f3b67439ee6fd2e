package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestValidHostname(t *testing.T) {
	good := []string{"a", "box", "box-1", "my.box.example", strings.Repeat("a", 63), "1box"}
	bad := []string{"", "-box", "box-", "a..b", "under_score", "sp ace", "ünï", strings.Repeat("a", 64) + ".b", strings.Repeat("a", 64)}
	for _, h := range good {
		if err := validHostname(h); err != nil {
			t.Errorf("validHostname(%q): %v", h, err)
		}
	}
	for _, h := range bad {
		if validHostname(h) == nil {
			t.Errorf("validHostname(%q): want an error", h)
		}
	}
}

func TestBuildEnvOrderAndOverrides(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "env")
	os.WriteFile(file, []byte("  # comment\nB=from-file\nQUOTED=\"kept\"\n\nC=file\n"), 0o644)
	t.Setenv("FROM_CALLER", "caller")
	got, err := buildEnv(
		[]string{"A=base", "B=base"},
		[]string{file},
		[]string{"C=flag", "FROM_CALLER", "NOT_SET_ANYWHERE", "D=x=y", "E="},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=base", "B=from-file", "QUOTED=\"kept\"", "C=flag", "FROM_CALLER=caller", "D=x=y", "E="}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestBuildEnvRejectsBadSettings(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("OK=1\n=nokey\n"), 0o644)
	cases := []struct {
		files, flags []string
	}{
		{nil, []string{"=value"}},
		{nil, []string{"A B=1"}},
		{[]string{bad}, nil},
		{[]string{filepath.Join(dir, "missing")}, nil},
		{[]string{dir}, nil},
	}
	for _, c := range cases {
		if _, err := buildEnv(nil, c.files, c.flags); err == nil {
			t.Errorf("buildEnv(files %q, flags %q): want an error", c.files, c.flags)
		}
	}
}

func TestValidWorkdir(t *testing.T) {
	if validWorkdir("/tmp") != nil || validWorkdir("tmp") == nil || validWorkdir("") == nil {
		t.Error("workdir must be accepted when absolute and refused otherwise")
	}
}
