package network

import "testing"

func TestParseSubnet(t *testing.T) {
	for in, want := range map[string]string{
		"192.168.10.1/24": "192.168.10.0/24", // the book's spelling
		"10.0.0.0/8":      "10.0.0.0/8",
		"172.16.5.9/30":   "172.16.5.8/30",
	} {
		got, err := ParseSubnet(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseSubnet(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"192.168.10.0/31", "10.0.0.0/7", "fd00::/64", "192.168.10.0", "x/24", ""} {
		if _, err := ParseSubnet(bad); err == nil {
			t.Errorf("ParseSubnet(%q) accepted", bad)
		}
	}
}

func TestParsePort(t *testing.T) {
	for in, want := range map[string]string{
		"8080:80":               "0.0.0.0:8080->80/tcp",
		"127.0.0.1:53:53/udp":   "127.0.0.1:53->53/udp",
		"1:65535/tcp":           "0.0.0.0:1->65535/tcp",
		"0.0.0.0:8080->80/tcp":  "0.0.0.0:8080->80/tcp", // its own String, from a state file
		"10.0.0.1:8080->80/udp": "10.0.0.1:8080->80/udp",
	} {
		p, err := ParsePort(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePort(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"80", "0:80", "8080:65536", "8080:80/sctp", "x:8080:80", "a:b", "1:2:3:4", ":80"} {
		if _, err := ParsePort(bad); err == nil {
			t.Errorf("ParsePort(%q) accepted", bad)
		}
	}
}

func TestBridgeNameNeverTheUsersWord(t *testing.T) {
	a, b := bridgeName("/var/lib/mydocker", "eth0"), bridgeName("/other", "eth0")
	if a == b || len(a) > 15 || a[:4] != "mdbr" {
		t.Errorf("bridge names %q and %q: want mdbr and a hash of root and name, at most 15 characters", a, b)
	}
}
