package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mydocker/mydocker/trace"
	"golang.org/x/sys/unix"
)

// IP address management. An address in use is a file, addresses/IP in the
// network's directory, holding the ID of the container that has it; a
// published host port is a file too, ports/PROTO-PORT beside the
// networks (a host port is the host's, whatever the network). Both are
// made with O_EXCL under the networks lock, so that twenty containers
// started at once get twenty addresses. A file whose container is no
// longer alive (its mydocker or its monitor was killed) is stale: the next
// allocation releases it, with everything else of that container's.
//
// Never given out: the network address, the broadcast address and the
// gateway (the first host address).

// Endpoint is a container's place on a network.
type Endpoint struct {
	ID      string // the container's
	Network *Network
	IP      net.IP
	Ports   []Port
}

// Port is a published port: HOST_IP:HOST_PORT on the host to the
// container's CONTAINER_PORT, tcp or udp.
type Port struct {
	HostIP        net.IP // nil: every address of the host's
	HostPort      uint16
	ContainerPort uint16
	Proto         string
}

// String is docker's PORTS column: 0.0.0.0:8080->80/tcp.
func (p Port) String() string {
	ip := "0.0.0.0"
	if p.HostIP != nil {
		ip = p.HostIP.String()
	}
	return fmt.Sprintf("%s:%d->%d/%s", ip, p.HostPort, p.ContainerPort, p.Proto)
}

// ParsePort reads -p [IP:]HOST:CONTAINER[/tcp|/udp], or its own String.
func ParsePort(s string) (Port, error) {
	p := Port{Proto: "tcp"}
	spec, proto, hasProto := strings.Cut(s, "/")
	if hasProto {
		if proto != "tcp" && proto != "udp" {
			return p, fmt.Errorf("invalid port %q: unknown protocol %q (tcp or udp)", s, proto)
		}
		p.Proto = proto
	}
	spec = strings.Replace(spec, "->", ":", 1)
	parts := strings.Split(spec, ":")
	if len(parts) == 3 {
		if parts[0] != "0.0.0.0" {
			if p.HostIP = net.ParseIP(parts[0]).To4(); p.HostIP == nil {
				return p, fmt.Errorf("invalid port %q: %q is not an IPv4 address", s, parts[0])
			}
		}
		parts = parts[1:]
	}
	if len(parts) != 2 {
		return p, fmt.Errorf("invalid port %q: [IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp]", s)
	}
	for i, dst := range []*uint16{&p.HostPort, &p.ContainerPort} {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 1 || n > 65535 {
			return p, fmt.Errorf("invalid port %q: %q is not a port number (1 to 65535)", s, parts[i])
		}
		*dst = uint16(n)
	}
	return p, nil
}

// free checks that no program of the host's listens on the port: the
// container's rule would take its traffic away from it (docker refuses
// too). A socket bound and closed at once.
func (p Port) free() error {
	addr := &net.TCPAddr{IP: p.HostIP, Port: int(p.HostPort)}
	var err error
	if p.Proto == "udp" {
		var c *net.UDPConn
		if c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: p.HostIP, Port: int(p.HostPort)}); err == nil {
			c.Close()
		}
	} else {
		var l *net.TCPListener
		if l, err = net.ListenTCP("tcp4", addr); err == nil {
			l.Close()
		}
	}
	switch {
	case errors.Is(err, unix.EADDRINUSE):
		return fmt.Errorf("port %d/%s is in use on the host", p.HostPort, p.Proto)
	case errors.Is(err, unix.EADDRNOTAVAIL):
		return fmt.Errorf("port %s:%d: %s is not an address of the host's", p.HostIP, p.HostPort, p.HostIP)
	case err != nil:
		return fmt.Errorf("port %d/%s: %w", p.HostPort, p.Proto, err)
	}
	return nil
}

func (p Port) file(root string) string {
	return filepath.Join(dir(root), "ports", fmt.Sprintf("%s-%d", p.Proto, p.HostPort))
}

// Allocate gives the container id an address on the network name, and
// its published ports, after releasing what dead containers held (alive
// says which are alive). It also makes what the network needs in the
// kernel if it is missing (after a reboot, say). Release undoes it.
func Allocate(root, name, id string, ports []Port, alive func(id string) bool) (ep *Endpoint, err error) {
	unlock, err := lock(root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	n, err := Get(root, name)
	if err != nil {
		return nil, err
	}
	if err := n.ensure(); err != nil {
		return nil, err
	}
	if _, err := n.endpoints(alive); err != nil { // releases the stale ones
		return nil, err
	}
	releaseStalePorts(root, alive)
	ep = &Endpoint{ID: id, Network: n, Ports: ports}
	defer func() {
		if err != nil {
			n.release(id)
		}
	}()
	for _, p := range ports {
		if err := p.free(); err != nil {
			return nil, err
		}
		if err := createOwned(p.file(root), id); err != nil {
			if errors.Is(err, os.ErrExist) {
				owner, _ := os.ReadFile(p.file(root))
				return nil, fmt.Errorf("port %d/%s is already published by container %s", p.HostPort, p.Proto, owner)
			}
			return nil, fmt.Errorf("publish port %d/%s: %w", p.HostPort, p.Proto, err)
		}
	}
	if ep.IP, err = n.allocateIP(id); err != nil {
		return nil, err
	}
	if err := addPortRules(ep); err != nil {
		return nil, err
	}
	return ep, nil
}

// allocateIP takes the lowest free host address after the gateway.
func (n *Network) allocateIP(id string) (net.IP, error) {
	if err := os.MkdirAll(n.path("addresses"), 0o700); err != nil {
		return nil, fmt.Errorf("network %q: %w", n.Name, err)
	}
	entries, err := os.ReadDir(n.path("addresses"))
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", n.Name, err)
	}
	taken := make(map[string]bool, len(entries))
	for _, e := range entries {
		taken[e.Name()] = true
	}
	ones, bits := n.Subnet.Mask.Size()
	size := uint64(1) << (bits - ones)
	// Host addresses are 1..size-2; 1 is the gateway.
	if uint64(len(taken)) >= size-3 {
		return nil, fmt.Errorf("network %s is full: all %d addresses of %s are in use", n.Name, size-3, &n.Subnet)
	}
	for i := uint64(2); i < size-1; i++ {
		ip := nthAddress(&n.Subnet.IPNet, i)
		if taken[ip.String()] {
			continue
		}
		err := createOwned(n.path("addresses", ip.String()), id)
		trace.Step("6.3", "a file per address, made with O_EXCL under a lock: no bitmap to outgrow", err, "allocate %s in %s", ip, &n.Subnet)
		if err != nil {
			return nil, fmt.Errorf("network %q: %w", n.Name, err)
		}
		return ip, nil
	}
	return nil, fmt.Errorf("network %s is full: all %d addresses of %s are in use", n.Name, size-3, &n.Subnet)
}

// nthAddress is the subnet's address number i (0 is the network's own).
func nthAddress(subnet *net.IPNet, i uint64) net.IP {
	base := binary.BigEndian.Uint32(subnet.IP.To4())
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, base+uint32(i))
	return ip
}

// createOwned makes path, which must not exist, holding id.
func createOwned(path, id string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(id)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// endpoints lists the network's live containers' endpoints, and releases
// those whose container is no longer alive.
func (n *Network) endpoints(alive func(id string) bool) ([]Endpoint, error) {
	entries, err := os.ReadDir(n.path("addresses"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", n.Name, err)
	}
	var live []Endpoint
	for _, e := range entries {
		id, err := os.ReadFile(n.path("addresses", e.Name()))
		if err != nil {
			continue
		}
		if len(id) > 0 && alive(string(id)) {
			live = append(live, Endpoint{ID: string(id), Network: n, IP: net.ParseIP(e.Name())})
			continue
		}
		n.release(string(id))
		os.Remove(n.path("addresses", e.Name())) // one a killed maker left empty
	}
	return live, nil
}

func releaseStalePorts(root string, alive func(id string) bool) {
	entries, _ := os.ReadDir(filepath.Join(dir(root), "ports"))
	for _, e := range entries {
		path := filepath.Join(dir(root), "ports", e.Name())
		if id, err := os.ReadFile(path); err == nil && (len(id) == 0 || !alive(string(id))) {
			os.Remove(path)
		}
	}
}

// Release gives back all the container id holds on the network name: its
// firewall rules, its veth (if its namespace outlived it), its address
// and its ports. Every end of a container goes through it; releasing
// twice is harmless.
func Release(root, name, id string) error {
	unlock, err := lock(root)
	if err != nil {
		return err
	}
	defer unlock()
	n, err := Get(root, name)
	if err != nil {
		return nil // the network went (rm needs no container on it)
	}
	return n.release(id)
}

func (n *Network) release(id string) error {
	var errs []error
	errs = append(errs, removePortRules(id))
	errs = append(errs, removeVeth(id))
	for _, sub := range []string{n.path("addresses"), filepath.Join(dir(n.root), "ports")} {
		entries, _ := os.ReadDir(sub)
		for _, e := range entries {
			if owner, err := os.ReadFile(filepath.Join(sub, e.Name())); err == nil && string(owner) == id {
				errs = append(errs, os.Remove(filepath.Join(sub, e.Name())))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network %s: release container %s: %w", n.Name, id, err)
	}
	return nil
}
