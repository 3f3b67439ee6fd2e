package container

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestConfigRoundTripKeepsArgvExactly(t *testing.T) {
	cases := [][]string{
		{"/bin/sh"},
		{"/bin/echo", "two  spaces", " leading", "trailing "},
		{"sh", "-c", `echo "double" 'single' \back`},
		{"printf", "", "", "empty strings"},
		{"cat", "line\nbreak", "tab\there", "a=b=c", "="},
		{"echo", "ünïcødé", "自己动手写Docker", "latin-1 \xe9t\xe9"},
	}
	for _, args := range cases {
		var buf bytes.Buffer
		if err := WriteConfig(&buf, &Config{Args: args}); err != nil {
			t.Fatalf("WriteConfig(%q): %v", args, err)
		}
		got, err := ReadConfig(&buf)
		if err != nil {
			t.Fatalf("ReadConfig(%q): %v", args, err)
		}
		if !reflect.DeepEqual(got.Args, args) {
			t.Errorf("round trip: got %q, want %q", got.Args, args)
		}
	}
}

func TestConfigRoundTripKeepsEveryField(t *testing.T) {
	want := &Config{
		Args:     []string{"sh", "-c", "env"},
		Env:      []string{"A=1", "B=x=y", "EMPTY=", "NL=a\nb"},
		Hostname: "box",
		Workdir:  "/tmp/some dir",
		TTY:      true,
		Init:     true,
		Rootfs:   "/var/lib/mydocker/containers/abc/merged",
		LowerDir: "/var/lib/mydocker/images/busybox/rootfs",
		UpperDir: "/u",
		WorkDir:  "/w",
		EtcDir:   "/e",
		EtcFiles: []EtcFile{{"hostname", "box\n"}, {"resolv.conf", ""}},
		Volumes: []Volume{
			{Source: "/srv/data", Target: "/data"},
			{Source: "/srv/ro dir", Target: "/ro", ReadOnly: true},
		},
		ReadOnly:      true,
		Volatile:      true,
		LayerInMemory: true,
	}
	var buf bytes.Buffer
	if err := WriteConfig(&buf, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadConfig(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestReadConfigRejectsMissingCommand(t *testing.T) {
	for _, in := range []string{"", "arg=\x00", "arg=sh", "no-equals\x00", "color=red\x00"} {
		if _, err := ReadConfig(bytes.NewBufferString(in)); err == nil {
			t.Errorf("ReadConfig(%q): want an error", in)
		}
	}
}

func FuzzConfigRoundTrip(f *testing.F) {
	f.Add("a b", "", "\n")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		args := []string{"cmd" + a, b, c}
		var buf bytes.Buffer
		if err := WriteConfig(&buf, &Config{Args: args}); err != nil {
			if strings.Contains(a+b+c, "\x00") {
				return // argv can never hold NUL: refusing is right
			}
			t.Fatal(err)
		}
		got, err := ReadConfig(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Args, args) {
			t.Errorf("got %q, want %q", got.Args, args)
		}
	})
}

func TestStartReportRoundTrip(t *testing.T) {
	for _, se := range []StartError{{Status: 127, Message: `exec "x": not found`}, {Status: 0}, {Status: 125, Message: "line\nbreak = sign"}} {
		var got StartError
		if err := got.Decode(se.Encode()); err != nil || got != se {
			t.Errorf("round trip of %+v: %+v, %v", se, got, err)
		}
	}
	var bad StartError
	if err := bad.Decode([]byte("status=x\x00end=\x00")); err == nil {
		t.Error("a malformed report decoded")
	}
}
