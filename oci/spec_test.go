package oci

import (
	"reflect"
	"testing"

	"github.com/mydocker/mydocker/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{
		"1.0.0": true, "1.2.1": true, "1.3.0": true, "1.0.2-dev": true, "1.1.0+build": true,
		"invalid": false, "": false, "2.0.0": false, "1.0": false, "1.x.0": false,
	} {
		if err := checkVersion(v); (err == nil) != ok {
			t.Errorf("ociVersion %q: accepted %v, want %v (%v)", v, err == nil, ok, err)
		}
	}
}

func TestPlanMount(t *testing.T) {
	m, err := planMount(specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
		Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", "rshared"}}, "/bundle")
	if err != nil {
		t.Fatal(err)
	}
	if m.Flags != unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_NODEV || m.Data != "mode=1777,size=65536k" ||
		m.Propagation != unix.MS_SHARED|unix.MS_REC {
		t.Errorf("tmpfs mount: flags %#x, data %q, propagation %#x", m.Flags, m.Data, m.Propagation)
	}
	// A bind's source is relative to the bundle; "rw" clears "ro".
	if _, err := planMount(specs.Mount{Destination: "/x", Type: "bind", Source: "no-such-dir"}, "/bundle"); err == nil {
		t.Error("a bind mount of a missing source: accepted")
	}
	m, err = planMount(specs.Mount{Destination: "/x", Source: "/", Options: []string{"rbind", "ro", "rw"}}, "/bundle")
	if err != nil || m.Flags != unix.MS_BIND|unix.MS_REC {
		t.Errorf("rbind,ro,rw: flags %#x (%v), want MS_BIND|MS_REC", m.Flags, err)
	}
	if _, err := planMount(specs.Mount{Destination: "relative", Type: "tmpfs"}, "/bundle"); err == nil {
		t.Error("a relative destination: accepted")
	}
}

func TestDeviceRules(t *testing.T) {
	i := func(n int64) *int64 { return &n }
	// runc spec's: deny all; then allows.
	rules, err := deviceRules([]specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i(10), Minor: i(229), Access: "rwm"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]cgroups.DeviceRule{{Type: 'c', Major: 10, Minor: 229, Access: "rwm"}}, cgroups.DefaultDevices...)
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("deny all, allow fuse: got %v", rules)
	}
	// Allow all: no restriction at all.
	if rules, err := deviceRules([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Access: "rwm"}}); err != nil || rules != nil {
		t.Errorf("allow all: got %v, %v; want no rules", rules, err)
	}
	// A deny no allow-list can say is refused, never dropped.
	if _, err := deviceRules([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}, {Allow: false, Type: "b", Major: i(8), Access: "rwm"}}); err == nil {
		t.Error("allow all then deny one: accepted")
	}
}

func TestPlanRefusesWhatItCannotApply(t *testing.T) {
	base := func() *specs.Spec {
		return &specs.Spec{
			Version: "1.0.0", Root: &specs.Root{Path: "/"},
			Process: &specs.Process{Args: []string{"true"}, Cwd: "/"},
			Linux:   &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "mount"}, {Type: "uts"}}},
		}
	}
	cases := map[string]func(*specs.Spec){
		"no mount namespace": func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[1:] },
		"unknown namespace": func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		},
		"twice a namespace": func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "uts"})
		},
		"unknown capability":  func(s *specs.Spec) { s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_TEST"}} },
		"unknown rlimit":      func(s *specs.Spec) { s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_TEST"}} },
		"relative cwd":        func(s *specs.Spec) { s.Process.Cwd = "tmp" },
		"terminal, no socket": func(s *specs.Spec) { s.Process.Terminal = true },
		"blockIO leafWeight": func(s *specs.Spec) {
			w := uint16(10)
			s.Linux.Resources = &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: &w}}
		},
		"user namespace, path": func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user", Path: "/proc/1/ns/user"})
		},
		"systemd cgroupsPath": func(s *specs.Spec) { s.Linux.CgroupsPath = "system.slice:mydocker:x" },
	}
	if _, err := MakePlan(base(), "/", "id", false); err != nil {
		t.Fatalf("the base spec is refused: %v", err)
	}
	for name, edit := range cases {
		s := base()
		edit(s)
		if _, err := MakePlan(s, "/", "id", false); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
