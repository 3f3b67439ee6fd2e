package cgroups

import (
	"fmt"
	"strconv"
)

// file is one value written into a cgroup's directory.
type file struct {
	name, value string
	// optional files are skipped where the kernel lacks them (swap
	// accounting off, no swap controller).
	optional bool
}

// subsystem is one controller and how Resources map onto its files; the
// book's Subsystem interface, with one mapping per cgroup version.
type subsystem struct {
	name string // the controller, as the kernel names it (on v1)
	// v2name is its name on v2, where that differs (blkio is io).
	v2name string
	// v1 and v2 return the files to write for res, nil when res sets
	// nothing this controller enforces.
	v1, v2 func(res Resources) []file
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// subsystems are the controllers mydocker uses, in the order they are set.
var subsystems = []subsystem{
	{
		name: "memory",
		v1: func(r Resources) []file {
			var files []file
			if r.MemoryBytes != 0 {
				// memsw (memory+swap) equal to the limit: no swapping past
				// it, so the limit bites the same on hosts with swap
				// (unless an OCI bundle gives its own MemorySwap).
				swap := r.MemoryBytes
				if r.MemorySwap != 0 {
					swap = r.MemorySwap
				}
				files = append(files,
					file{"memory.limit_in_bytes", itoa(r.MemoryBytes), false},
					file{"memory.memsw.limit_in_bytes", itoa(swap), true})
			}
			if r.MemoryReservation != 0 {
				files = append(files, file{"memory.soft_limit_in_bytes", itoa(r.MemoryReservation), false})
			}
			if r.Swappiness != nil {
				files = append(files, file{"memory.swappiness", strconv.FormatUint(*r.Swappiness, 10), false})
			}
			if r.KernelMemory != 0 {
				// Since Linux 6.x the kernel takes this and ignores it.
				files = append(files, file{"memory.kmem.limit_in_bytes", itoa(r.KernelMemory), true})
			}
			if r.KernelTCP != 0 {
				files = append(files, file{"memory.kmem.tcp.limit_in_bytes", itoa(r.KernelTCP), false})
			}
			if r.DisableOOMKiller {
				files = append(files, file{"memory.oom_control", "1", false})
			}
			return files
		},
		v2: func(r Resources) []file {
			var files []file
			if r.MemoryBytes != 0 {
				swap := "0"
				switch {
				case r.MemorySwap < 0:
					swap = "max"
				case r.MemorySwap > 0:
					swap = itoa(r.MemorySwap - r.MemoryBytes) // v2 counts swap alone
				}
				files = append(files, file{"memory.max", itoa(r.MemoryBytes), false}, file{"memory.swap.max", swap, true})
			}
			if r.MemoryReservation != 0 {
				files = append(files, file{"memory.low", itoa(r.MemoryReservation), false})
			}
			return files
		},
	},
	{
		name: "cpu",
		v1: func(r Resources) []file {
			var files []file
			if r.CPUShares != 0 {
				files = append(files, file{"cpu.shares", strconv.FormatUint(r.CPUShares, 10), false})
			}
			if r.CPUs != 0 {
				files = append(files,
					file{"cpu.cfs_period_us", itoa(CPUPeriod), false},
					file{"cpu.cfs_quota_us", itoa(r.CPUQuota()), false})
			}
			if r.CFSQuota != 0 {
				files = append(files,
					file{"cpu.cfs_period_us", strconv.FormatUint(r.CFSPeriod, 10), false},
					file{"cpu.cfs_quota_us", itoa(r.CFSQuota), false})
			}
			if r.RTPeriod != 0 {
				files = append(files, file{"cpu.rt_period_us", strconv.FormatUint(r.RTPeriod, 10), false})
			}
			if r.RTRuntime != 0 {
				files = append(files, file{"cpu.rt_runtime_us", itoa(r.RTRuntime), false})
			}
			return files
		},
		v2: func(r Resources) []file {
			var files []file
			if r.CPUShares != 0 {
				files = append(files, file{"cpu.weight", strconv.FormatUint(SharesToWeight(r.CPUShares), 10), false})
			}
			if r.CPUs != 0 {
				files = append(files, file{"cpu.max", itoa(r.CPUQuota()) + " " + itoa(CPUPeriod), false})
			}
			if r.CFSQuota != 0 {
				files = append(files, file{"cpu.max", itoa(r.CFSQuota) + " " + strconv.FormatUint(r.CFSPeriod, 10), false})
			}
			return files
		},
	},
	{
		name: "cpuset",
		v1:   func(r Resources) []file { return cpusetFiles(r) },
		v2:   func(r Resources) []file { return cpusetFiles(r) },
	},
	{
		// v1 only: on v2 the rules are an eBPF program (devices.go),
		// attached by the manager.
		name: "devices",
		v1: func(r Resources) []file {
			if len(r.Devices) == 0 {
				return nil
			}
			return devicesV1(r.Devices)
		},
		v2: func(r Resources) []file { return nil },
	},
	{
		// An OCI bundle's blockIO: weights and throttles per device.
		name: "blkio", v2name: "io",
		v1: func(r Resources) []file {
			b := r.BlkIO
			if b == nil {
				return nil
			}
			var files []file
			if b.Weight != 0 {
				files = append(files, file{b.WeightFile, strconv.Itoa(int(b.Weight)), false})
			}
			for _, d := range b.WeightDevices {
				files = append(files, file{"blkio.weight_device", d.String(), false})
			}
			for _, t := range []struct {
				name string
				list []DeviceValue
			}{
				{"blkio.throttle.read_bps_device", b.ReadBps}, {"blkio.throttle.write_bps_device", b.WriteBps},
				{"blkio.throttle.read_iops_device", b.ReadIOPS}, {"blkio.throttle.write_iops_device", b.WriteIOPS},
			} {
				for _, d := range t.list {
					files = append(files, file{t.name, d.String(), false})
				}
			}
			return files
		},
		v2: func(r Resources) []file {
			b := r.BlkIO
			if b == nil {
				return nil
			}
			var files []file
			if b.Weight != 0 {
				files = append(files, file{b.WeightFile, "default " + strconv.Itoa(int(b.Weight)), false})
			}
			for _, d := range b.WeightDevices {
				files = append(files, file{b.WeightFile, d.String(), false})
			}
			for _, t := range []struct {
				key  string
				list []DeviceValue
			}{{"rbps", b.ReadBps}, {"wbps", b.WriteBps}, {"riops", b.ReadIOPS}, {"wiops", b.WriteIOPS}} {
				for _, d := range t.list {
					files = append(files, file{"io.max", fmt.Sprintf("%d:%d %s=%d", d.Major, d.Minor, t.key, d.Value), false})
				}
			}
			return files
		},
	},
	{
		name: "pids",
		v1: func(r Resources) []file {
			if r.PidsLimit == 0 {
				return nil
			}
			return []file{{"pids.max", itoa(r.PidsLimit), false}}
		},
		v2: func(r Resources) []file {
			if r.PidsLimit == 0 {
				return nil
			}
			return []file{{"pids.max", itoa(r.PidsLimit), false}}
		},
	},
}

// SharesToWeight converts v1 cpu.shares (2..262144, default 1024) to v2
// cpu.weight (1..10000, default 100), with the conversion runc and the
// kernel documentation use.
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	return 1 + ((shares-2)*9999)/262142
}

// cpusetFiles are the cpuset controller's, alike in both versions. On v1,
// a cpuset.mems not given is filled in from the parent by the manager: a
// v1 cpuset with no memory nodes refuses every task.
func cpusetFiles(r Resources) []file {
	var files []file
	if r.CPUSet != "" {
		files = append(files, file{"cpuset.cpus", r.CPUSet, false})
	}
	if r.CPUMems != "" {
		files = append(files, file{"cpuset.mems", r.CPUMems, false})
	}
	return files
}

// controller is s's name on this host's cgroup version.
func (s subsystem) controller(h *hierarchy) string {
	if h.unified != "" && s.v2name != "" {
		return s.v2name
	}
	return s.name
}
