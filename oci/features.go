package oci

import (
	"sort"

	"github.com/mydocker/mydocker/capabilities"
	"github.com/mydocker/mydocker/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// Features is what this runtime supports, in the runtime spec's
// features.md form (`mydocker-runc features`): what MakePlan accepts.
func Features() features.Features {
	yes, no := true, false
	var ns []string
	for _, e := range namespaceFlags {
		ns = append(ns, string(e.typ))
	}
	sort.Strings(ns)
	var opts []string
	for _, f := range mountFlags {
		opts = append(opts, f.name)
	}
	for _, e := range propagationFlags {
		opts = append(opts, e.typ)
	}
	sort.Strings(opts)
	v1, v2 := false, false
	if h, err := cgroups.Describe(); err == nil {
		v1, v2 = h.Version == 1, h.Version == 2
	}
	apparmor := apparmorEnabled()
	return features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions:  opts,
		Linux: &features.Linux{
			Namespaces:   ns,
			Capabilities: capabilities.All(),
			Cgroup:       &features.Cgroup{V1: &v1, V2: &v2, Systemd: &no, SystemdUser: &no, Rdma: &no},
			Seccomp: &features.Seccomp{
				Enabled: &yes,
				Actions: []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
					"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"},
				Operators: []string{"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
					"SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"},
				Archs: []string{"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
			},
			Apparmor: &features.Apparmor{Enabled: &apparmor},
			Selinux:  &features.Selinux{Enabled: &no},
			IntelRdt: &features.IntelRdt{Enabled: &no},
		},
	}
}
