package trace

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFlagsAsTheBookWritesThem(t *testing.T) {
	for _, c := range []struct {
		got  fmt.Stringer
		want string
	}{
		{MountFlags(unix.MS_REC | unix.MS_PRIVATE), "MS_REC|MS_PRIVATE"},
		{MountFlags(0), "0"},
		{MountFlags(unix.MS_BIND | 1<<30), "MS_BIND|0x40000000"},
		{CloneFlags(unix.CLONE_NEWUTS | unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWIPC),
			"CLONE_NEWUTS|CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWIPC"},
	} {
		if got := c.got.String(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
	if got := errorName(fmt.Errorf("mount: %w", unix.EINVAL)); got != "EINVAL (invalid argument)" {
		t.Errorf("errorName: %q", got)
	}
}
