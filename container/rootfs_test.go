package container

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOverlayVolatileFallBack: a kernel without overlayfs's volatile
// option (before 5.10) refuses it with EINVAL; the layer is then mounted
// without it, and any other error is the caller's.
func TestOverlayVolatileFallBack(t *testing.T) {
	cfg := &Config{Rootfs: "/m", LowerDir: "/l", UpperDir: "/u", WorkDir: "/w"}
	for _, c := range []struct {
		volatile bool
		refuse   error // what the kernel says to a volatile mount
		want     []string
		wantErr  error
	}{
		{true, nil, []string{"volatile"}, nil},
		{true, unix.EINVAL, []string{"volatile", "durable"}, nil},
		{true, unix.ENOENT, []string{"volatile"}, unix.ENOENT},
		{false, nil, []string{"durable"}, nil},
	} {
		cfg.Volatile = c.volatile
		var calls []string
		err := mountOverlay(cfg, func(section, note, source, target, fstype string, flags uintptr, data string) error {
			if strings.HasSuffix(data, ",volatile") {
				calls = append(calls, "volatile")
				return c.refuse
			}
			if data != "lowerdir=/l,upperdir=/u,workdir=/w" || target != "/m" {
				t.Errorf("mount %q on %q", data, target)
			}
			calls = append(calls, "durable")
			return nil
		})
		if strings.Join(calls, " ") != strings.Join(c.want, " ") || !errors.Is(err, c.wantErr) && err != c.wantErr {
			t.Errorf("volatile=%v, kernel says %v: mounts %q, error %v; want %q, %v", c.volatile, c.refuse, calls, err, c.want, c.wantErr)
		}
	}
}
