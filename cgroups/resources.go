// Package cgroups limits a container's resources, the book's chapter 3.2:
// one subsystem per controller (memory, cpu, cpuset, pids) and a manager
// that creates the container's cgroup, writes the limits, moves the
// container into it and removes it afterwards. Unlike the book it knows
// both cgroup versions: v1 (one hierarchy per controller) and v2 (one
// unified hierarchy), detected at run time.
package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Resources are the limits of one container. A zero value means "no limit".
type Resources struct {
	MemoryBytes int64   // -m, --memory
	CPUShares   uint64  // -cpushare, --cpu-shares: relative weight (v1 scale)
	CPUs        float64 // --cpus: hard quota in CPUs
	CPUSet      string  // -cpuset, --cpuset-cpus: e.g. "0-1,3"
	PidsLimit   int64   // --pids-limit
	// The rest of an OCI bundle's memory settings: MemorySwap is memory
	// plus swap (-1: unlimited), as docker's --memory-swap.
	MemoryReservation, MemorySwap int64
	KernelMemory, KernelTCP       int64
	Swappiness                    *uint64
	DisableOOMKiller              bool
	// BlkIO is an OCI bundle's blockIO (nil: none).
	BlkIO *BlkIO
	// CPUMems, RTPeriod and RTRuntime are an OCI bundle's cpu.mems and
	// realtime budget (the v1 cpu controller's rt_period_us and
	// rt_runtime_us, where the kernel schedules real-time groups).
	CPUMems string
	// CFSPeriod and CFSQuota, when set, are an OCI bundle's CPU quota as
	// it gives it, in place of CPUs' 100 ms period.
	CFSPeriod uint64
	CFSQuota  int64
	RTPeriod  uint64
	RTRuntime int64
	// Devices, when set, are the only device accesses allowed (a
	// container with its own root gets DefaultDevices).
	Devices []DeviceRule
}

// Empty reports whether no limit is set: then no cgroup is made at all.
func (r Resources) Empty() bool {
	return r.MemoryBytes == 0 && r.CPUShares == 0 && r.CPUs == 0 && r.CPUSet == "" && r.PidsLimit == 0 && len(r.Devices) == 0 &&
		r.CPUMems == "" && r.RTPeriod == 0 && r.RTRuntime == 0 && r.CFSQuota == 0 &&
		r.MemoryReservation == 0 && r.MemorySwap == 0 && r.KernelMemory == 0 && r.KernelTCP == 0 &&
		r.Swappiness == nil && !r.DisableOOMKiller && r.BlkIO == nil
}

// CPUPeriod is the CFS period --cpus is expressed in (docker's 100 ms).
const CPUPeriod = 100000

// CPUQuota is --cpus as microseconds of CPU time per CPUPeriod.
func (r Resources) CPUQuota() int64 { return int64(r.CPUs*CPUPeriod + 0.5) }

// MinMemory is docker's smallest memory limit: less than this and the
// container cannot even start.
const MinMemory = 6 << 20

// ParseMemory reads a size as docker does: a number of bytes, or with a
// b, k, m, g or t suffix (powers of 1024; "64m", "64MB", "64MiB" and
// "1.5g" all work).
func ParseMemory(s string) (int64, error) {
	bad := fmt.Errorf("invalid memory size %q: want a number with an optional b, k, m or g suffix", s)
	num := strings.TrimSpace(s)
	// The unit: an optional "b", "ib" or "B"/"iB" after k, m, g or t.
	unit := strings.ToLower(strings.TrimLeft(num, "0123456789."))
	num = strings.TrimSpace(num[:len(num)-len(unit)])
	unit = strings.TrimSpace(unit)
	shifts := map[string]uint{"": 0, "b": 0, "k": 10, "m": 20, "g": 30, "t": 40}
	if len(unit) > 1 {
		unit = strings.TrimSuffix(strings.TrimSuffix(unit, "b"), "i")
		if unit == "" {
			return 0, bad
		}
	}
	shift, ok := shifts[unit]
	if !ok || num == "" || strings.Count(num, ".") > 1 || num[0] == '.' || num[len(num)-1] == '.' {
		return 0, bad
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, bad
	}
	bytes := n * float64(uint64(1)<<shift)
	if bytes > 1<<62 {
		return 0, fmt.Errorf("invalid memory size %q: too large", s)
	}
	if bytes < MinMemory {
		return 0, fmt.Errorf("invalid memory size %q: the minimum is 6MiB", s)
	}
	return int64(bytes), nil
}

// ParseCPUShares reads a relative CPU weight: 2 to 262144, as the kernel's
// cpu.shares takes it.
func ParseCPUShares(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n < 2 || n > 262144 {
		return 0, fmt.Errorf("invalid CPU shares %q: want a whole number from 2 to 262144", s)
	}
	return n, nil
}

// ParseCPUs reads --cpus: a decimal above 0 and at most online CPUs.
func ParseCPUs(s string, online int) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f {
		return 0, fmt.Errorf("invalid --cpus %q: want a decimal number such as 0.5", s)
	}
	if f <= 0 || f > float64(online) {
		return 0, fmt.Errorf("invalid --cpus %q: must be above 0 and at most %d (the CPUs online)", s, online)
	}
	if int64(f*CPUPeriod+0.5) < 1000 {
		return 0, fmt.Errorf("invalid --cpus %q: the smallest quota is 0.01", s)
	}
	return f, nil
}

// ParseCPUList reads a CPU list ("0", "0-1", "0,2", "0-1,3") and returns
// the CPUs it names, refusing any that is not in online.
func ParseCPUList(s string, online map[int]bool) ([]int, error) {
	var cpus []int
	seen := map[int]bool{}
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("invalid CPU list %q: empty", s)
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err1 := strconv.Atoi(lo)
		last := first
		var err2 error
		if isRange {
			last, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || first < 0 || last < first {
			return nil, fmt.Errorf("invalid CPU list %q: want numbers and ranges such as 0-1,3", s)
		}
		for c := first; c <= last; c++ {
			if online != nil && !online[c] {
				return nil, fmt.Errorf("invalid CPU list %q: CPU %d does not exist or is offline", s, c)
			}
			if !seen[c] {
				seen[c] = true
				cpus = append(cpus, c)
			}
		}
	}
	return cpus, nil
}

// ParsePidsLimit reads --pids-limit: a whole number above 0.
func ParsePidsLimit(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid --pids-limit %q: want a whole number above 0", s)
	}
	return n, nil
}

// OnlineCPUs reads the kernel's list of online CPUs.
func OnlineCPUs() (map[int]bool, error) {
	data, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, fmt.Errorf("read online CPUs: %w", err)
	}
	cpus, err := ParseCPUList(strings.TrimSpace(string(data)), nil)
	if err != nil {
		return nil, err
	}
	online := map[int]bool{}
	for _, c := range cpus {
		online[c] = true
	}
	return online, nil
}

// HumanSize prints bytes in binary units, as the OOM message does: 64MiB.
func HumanSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return strconv.FormatFloat(f, 'f', -1, 64) + units[i]
}

// BlkIO is a container's block I/O weights and throttles. WeightFile is
// where this host takes a weight: blkio.weight (CFQ), blkio.bfq.weight
// (BFQ) on v1, io.weight or io.bfq.weight on v2 (BlkIOWeightFile).
type BlkIO struct {
	Weight, LeafWeight                     uint16
	WeightFile                             string
	WeightDevices                          []DeviceValue
	ReadBps, WriteBps, ReadIOPS, WriteIOPS []DeviceValue
}

// DeviceValue is a value for one block device, as the files write it.
type DeviceValue struct {
	Major, Minor int64
	Value        uint64
}

func (d DeviceValue) String() string { return fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Value) }

// BlkIOWeightFile is the file this host takes a block I/O weight in, or
// an error when its I/O schedulers take none.
func BlkIOWeightFile() (string, error) {
	h, err := detect()
	if err != nil {
		return "", err
	}
	dir, names := h.v1["blkio"], []string{"blkio.weight", "blkio.bfq.weight"}
	if h.unified != "" {
		dir, names = h.self, []string{"io.weight", "io.bfq.weight"}
	}
	if dir == "" {
		return "", fmt.Errorf("cgroups: no blkio (io) controller on this host")
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return n, nil
		}
	}
	// A v2 root has no io.weight of its own; its children do, when the
	// io controller is enabled.
	return "", fmt.Errorf("cgroups: this host's block I/O schedulers take no weight (no %s)", strings.Join(names, " or "))
}
