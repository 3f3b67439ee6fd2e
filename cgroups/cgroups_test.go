package cgroups

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMemory(t *testing.T) {
	good := map[string]int64{
		"64m": 64 << 20, "64M": 64 << 20, "64MB": 64 << 20, "64MiB": 64 << 20, "64mb": 64 << 20,
		"1g": 1 << 30, "1.5g": 3 << 29, "7000000": 7000000, "6291456b": 6 << 20, "8192k": 8 << 20,
	}
	for in, want := range good {
		got, err := ParseMemory(in)
		if err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-64m", "64x", "m", "64 mb extra", "1k", "0", "abc", "99999999999t"} {
		if _, err := ParseMemory(in); err == nil {
			t.Errorf("ParseMemory(%q): want an error", in)
		}
	}
}

func TestParseCPUs(t *testing.T) {
	for in, want := range map[string]float64{"0.5": 0.5, "1": 1, "2": 2, "0.01": 0.01} {
		got, err := ParseCPUs(in, 2)
		if err != nil || got != want {
			t.Errorf("ParseCPUs(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"0", "-1", "3", "2.5", "abc", "", "NaN", "0.001"} {
		if _, err := ParseCPUs(in, 2); err == nil {
			t.Errorf("ParseCPUs(%q, 2): want an error", in)
		}
	}
	if q := (Resources{CPUs: 0.5}).CPUQuota(); q != 50000 {
		t.Errorf("quota for 0.5 CPUs = %d", q)
	}
}

func TestParseCPUList(t *testing.T) {
	online := map[int]bool{0: true, 1: true, 2: true, 3: true}
	good := map[string][]int{"0": {0}, "0-1": {0, 1}, "0,2": {0, 2}, "0-1,3": {0, 1, 3}, "1,1": {1}}
	for in, want := range good {
		got, err := ParseCPUList(in, online)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "4", "0-4", "a", "1-0", "-1", "0,", "0-", "0--1"} {
		if _, err := ParseCPUList(in, online); err == nil {
			t.Errorf("ParseCPUList(%q): want an error", in)
		}
	}
}

func TestParseSharesAndPids(t *testing.T) {
	if n, err := ParseCPUShares("512"); err != nil || n != 512 {
		t.Errorf("ParseCPUShares(512) = %d, %v", n, err)
	}
	for _, in := range []string{"0", "1", "262145", "-5", "x", ""} {
		if _, err := ParseCPUShares(in); err == nil {
			t.Errorf("ParseCPUShares(%q): want an error", in)
		}
	}
	if n, err := ParsePidsLimit("50"); err != nil || n != 50 {
		t.Errorf("ParsePidsLimit(50) = %d, %v", n, err)
	}
	for _, in := range []string{"0", "-1", "ten", "", "1.5"} {
		if _, err := ParsePidsLimit(in); err == nil {
			t.Errorf("ParsePidsLimit(%q): want an error", in)
		}
	}
}

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{2: 1, 1024: 39, 262144: 10000} {
		if got := SharesToWeight(shares); got != want {
			t.Errorf("SharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{64 << 20: "64MiB", 1 << 30: "1GiB", 1536 << 20: "1.5GiB", 512: "512B"} {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

var allLimits = Resources{MemoryBytes: 64 << 20, CPUShares: 512, CPUs: 0.5, CPUSet: "0-1", PidsLimit: 20}

// fakeV1 builds a v1 tree: one hierarchy per controller, mydocker in /user.
func fakeV1(t *testing.T) (*hierarchy, string) {
	root := t.TempDir()
	var mountinfo strings.Builder
	for i, c := range []string{"memory", "cpu", "cpuset", "pids"} {
		dir := filepath.Join(root, c, "user")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "cpuset.mems"), []byte("0\n"), 0o644)
		mountinfo.WriteString(strings.Join([]string{"3" + string(rune('0'+i)), "1", "0:1", "/", filepath.Join(root, c), "rw - cgroup cgroup rw," + c}, " ") + "\n")
	}
	mountinfo.WriteString("99 1 0:9 / " + filepath.Join(root, "unified") + " rw - cgroup2 cgroup2 rw\n")
	self := "4:memory:/user\n3:cpu:/user\n2:cpuset:/user\n1:pids:/user\n0::/\n"
	h, err := parseHierarchy(mountinfo.String(), self)
	if err != nil {
		t.Fatal(err)
	}
	return h, root
}

func TestV1FileMappingOnFakeTree(t *testing.T) {
	h, root := fakeV1(t)
	if h.Version() != 1 {
		t.Fatalf("a hybrid layout is v1 for mydocker, got v%d", h.Version())
	}
	m, err := newManager(h, "mydocker-test", allLimits)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	wantTasks := []string{filepath.Join(root, "memory/user/mydocker-test/tasks"), filepath.Join(root, "cpu/user/mydocker-test/tasks"),
		filepath.Join(root, "cpuset/user/mydocker-test/tasks"), filepath.Join(root, "pids/user/mydocker-test/tasks")}
	if got := m.TaskFiles(); !reflect.DeepEqual(got, wantTasks) || m.UnifiedDir() != "" {
		t.Errorf("v1: TaskFiles %q, UnifiedDir %q", got, m.UnifiedDir())
	}
	want := map[string]string{
		"memory/user/mydocker-test/memory.limit_in_bytes": "67108864",
		"cpu/user/mydocker-test/cpu.shares":               "512",
		"cpu/user/mydocker-test/cpu.cfs_period_us":        "100000",
		"cpu/user/mydocker-test/cpu.cfs_quota_us":         "50000",
		"cpuset/user/mydocker-test/cpuset.cpus":           "0-1",
		"cpuset/user/mydocker-test/cpuset.mems":           "0",
		"pids/user/mydocker-test/pids.max":                "20",
	}
	checkFiles(t, root, want)
	// Swap accounting is absent from this fake tree: skipped, not an error.
	if _, err := os.Stat(filepath.Join(root, "memory/user/mydocker-test/memory.memsw.limit_in_bytes")); err == nil {
		t.Error("optional memsw file was created")
	}
	if err := m.Destroy(); err != nil {
		// A fake tree's directories hold regular files: rmdir refuses.
		if !strings.Contains(err.Error(), "not empty") {
			t.Errorf("Destroy: %v", err)
		}
	}
}

func TestV2FileMappingOnFakeTree(t *testing.T) {
	root := t.TempDir()
	self := filepath.Join(root, "user.slice")
	os.MkdirAll(self, 0o755)
	os.WriteFile(filepath.Join(self, "cgroup.controllers"), []byte("cpuset cpu io memory pids\n"), 0o644)
	h, err := parseHierarchy("30 1 0:26 / "+root+" rw - cgroup2 cgroup2 rw\n", "0::/user.slice\n")
	if err != nil || h.Version() != 2 {
		t.Fatalf("v2 detection: %v, %v", h, err)
	}
	m, err := newManager(h, "mydocker-test", allLimits)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if m.UnifiedDir() != filepath.Join(self, "mydocker-test") || m.TaskFiles() != nil {
		t.Errorf("v2: UnifiedDir %q, TaskFiles %q", m.UnifiedDir(), m.TaskFiles())
	}
	checkFiles(t, root, map[string]string{
		"user.slice/cgroup.subtree_control":    "+memory +cpu +cpuset +pids",
		"user.slice/mydocker-test/memory.max":  "67108864",
		"user.slice/mydocker-test/cpu.weight":  "20",
		"user.slice/mydocker-test/cpu.max":     "50000 100000",
		"user.slice/mydocker-test/cpuset.cpus": "0-1",
		"user.slice/mydocker-test/pids.max":    "20",
	})
}

func TestMissingControllerIsAnError(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu pids\n"), 0o644)
	h, _ := parseHierarchy("30 1 0:26 / "+root+" rw - cgroup2 cgroup2 rw\n", "0::/\n")
	_, err := newManager(h, "mydocker-test", Resources{MemoryBytes: 64 << 20})
	if err == nil || !strings.Contains(err.Error(), "memory controller") {
		t.Errorf("want a missing memory controller error, got %v", err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("a refused manager created %d entries", len(entries))
	}
}

func checkFiles(t *testing.T, root string, want map[string]string) {
	t.Helper()
	for path, value := range want {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil || string(got) != value {
			t.Errorf("%s = %q (%v), want %q", path, got, err, value)
		}
	}
}

func TestParseContainerFS(t *testing.T) {
	hybrid := `25 20 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory`
	got := parseContainerFS(hybrid)
	want := []FS{{"cgroup", "name=systemd", "systemd"}, {"cgroup", "cpu,cpuacct", "cpu,cpuacct"}, {"cgroup", "memory", "memory"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hybrid: %+v, want %+v", got, want)
	}
	v2 := `25 20 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate`
	if got := parseContainerFS(v2); !reflect.DeepEqual(got, []FS{{Type: "cgroup2"}}) {
		t.Errorf("v2: %+v", got)
	}
}
