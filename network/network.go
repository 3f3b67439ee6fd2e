// Package network is the book's chapter 6: bridge networks, their
// address management (ipam.go), the veth pair that connects a container
// (endpoint.go), and the firewall rules for outbound NAT and published
// ports (firewall.go).
//
// A network lives in ROOT/networks/NAME: its definition (config.json),
// one file per address in use (addresses/IP, holding the container's ID)
// and one per published host port (ports/PROTO-PORT). All of it is
// changed under one lock, ROOT/networks/.lock. The links and rules a
// network needs in the kernel (its bridge, its rules) are made again when
// they are missing, after a reboot say, by the next container that joins.
//
// mydocker talks to the kernel itself, through netlink: links, addresses
// and routes with github.com/vishvananda/netlink, firewall rules with
// github.com/google/nftables. No ip, iptables or nft program is needed.
package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"path/filepath"
	"sort"

	"github.com/mydocker/mydocker/names"
	"github.com/mydocker/mydocker/trace"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Network is a bridge network.
type Network struct {
	Name    string
	Driver  string // "bridge", the only one
	Subnet  IPNet
	Gateway net.IP // the subnet's first host address, on the bridge
	Bridge  string // the bridge's link name: mydocker's own, never the user's word
	root    string
}

// IPNet is a subnet that reads and writes as "192.168.10.0/24" in JSON.
type IPNet struct{ net.IPNet }

func (n IPNet) MarshalJSON() ([]byte, error) { return json.Marshal(n.String()) }

func (n *IPNet) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	_, ipnet, err := net.ParseCIDR(s)
	if err != nil {
		return err
	}
	n.IPNet = *ipnet
	return nil
}

func dir(root string) string { return filepath.Join(root, "networks") }

func (n *Network) path(name ...string) string {
	return filepath.Join(append([]string{dir(n.root), n.Name}, name...)...)
}

// lock takes ROOT/networks/.lock, under which every network file changes.
func lock(root string) (unlock func(), err error) {
	if err := os.MkdirAll(dir(root), 0o700); err != nil {
		return nil, fmt.Errorf("networks: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir(root), ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("networks: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("networks: %w", err)
	}
	return func() { f.Close() }, nil
}

// ParseSubnet reads the book's "192.168.10.1/24" (a host address with its
// prefix) as the subnet 192.168.10.0/24. IPv4, /8 to /30: a smaller one
// has no room for a gateway and a container.
func ParseSubnet(s string) (*net.IPNet, error) {
	ip, subnet, err := net.ParseCIDR(s)
	if err != nil || ip.To4() == nil {
		return nil, fmt.Errorf("invalid subnet %q: an IPv4 subnet such as 192.168.10.0/24", s)
	}
	if ones, _ := subnet.Mask.Size(); ones < 8 || ones > 30 {
		return nil, fmt.Errorf("invalid subnet %q: the prefix must be /8 to /30", s)
	}
	subnet.IP = subnet.IP.To4()
	return subnet, nil
}

// bridgeName is the network's bridge: "mdbr" and a hash of the store and
// the name, so that no network name, "eth0" included, can touch a link of
// the host's.
func bridgeName(root, name string) string {
	h := fnv.New32a()
	h.Write([]byte(root + "\x00" + name))
	return fmt.Sprintf("mdbr%08x", h.Sum32())
}

// Create defines the network name and makes its bridge and rules. It
// refuses a name in use, an unknown driver, and a subnet that overlaps
// another network's or an address on one of the host's links.
func Create(root, name, driver, subnet string) (*Network, error) {
	if driver != "bridge" {
		return nil, fmt.Errorf("unknown network driver %q: bridge is the only one", driver)
	}
	if err := validName(name); err != nil {
		return nil, err
	}
	ipnet, err := ParseSubnet(subnet)
	if err != nil {
		return nil, err
	}
	unlock, err := lock(root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	nets, err := list(root)
	if err != nil {
		return nil, err
	}
	for _, other := range nets {
		if other.Name == name {
			return nil, fmt.Errorf("network %q already exists", name)
		}
		if overlaps(&other.Subnet.IPNet, ipnet) {
			return nil, fmt.Errorf("subnet %s overlaps network %s (%s)", ipnet, other.Name, &other.Subnet)
		}
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list the host's addresses: %w", err)
	}
	for _, a := range addrs {
		if overlaps(a.IPNet, ipnet) {
			return nil, fmt.Errorf("subnet %s overlaps %s, an address of the host's (%s)", ipnet, a.IPNet, linkName(a.LinkIndex))
		}
	}
	n := &Network{Name: name, Driver: driver, Subnet: IPNet{*ipnet}, Bridge: bridgeName(root, name), root: root}
	n.Gateway = nthAddress(ipnet, 1)
	if _, err := os.Stat(n.path()); err == nil {
		// A directory without a readable definition: what a network
		// create killed half-way left (this one holds the lock).
		if err := n.remove(); err != nil {
			return nil, err
		}
	}
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		return nil, fmt.Errorf("network %q: a link called %s exists already", name, n.Bridge)
	}
	if err := os.Mkdir(n.path(), 0o700); err != nil {
		return nil, fmt.Errorf("network %q: %w", name, err)
	}
	err = n.save()
	if err == nil {
		err = n.ensure()
	}
	if err != nil {
		n.remove()
		return nil, err
	}
	return n, nil
}

func overlaps(a, b *net.IPNet) bool { return a.Contains(b.IP) || b.Contains(a.IP) }

func linkName(index int) string {
	if l, err := netlink.LinkByIndex(index); err == nil {
		return l.Attrs().Name
	}
	return fmt.Sprintf("link %d", index)
}

func (n *Network) save() error {
	data, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	tmp := n.path(".config.json.new")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("network %q: %w", n.Name, err)
	}
	return os.Rename(tmp, n.path("config.json"))
}

// ensure makes what the network needs in the kernel, where it is missing:
// its bridge with the gateway address, IP forwarding, its firewall rules.
func (n *Network) ensure() error {
	if err := n.ensureBridge(); err != nil {
		return err
	}
	if err := setRouteLocalnet(n.Bridge); err != nil {
		return err
	}
	if err := enableForwarding(n.root); err != nil {
		return err
	}
	return ensureNetworkRules(n)
}

func (n *Network) ensureBridge() error {
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		return nil
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge}}
	err := netlink.LinkAdd(br)
	trace.Step("6.4", "netlink, not the ip program", err, "ip link add %s type bridge", n.Bridge)
	if err != nil {
		return fmt.Errorf("network %q: create bridge %s: %w", n.Name, n.Bridge, err)
	}
	ones, _ := n.Subnet.Mask.Size()
	gw := &netlink.Addr{IPNet: &net.IPNet{IP: n.Gateway, Mask: net.CIDRMask(ones, 32)}}
	err = netlink.AddrAdd(br, gw)
	trace.Step("6.4", "", err, "ip addr add %s dev %s", gw.IPNet, n.Bridge)
	if err != nil {
		netlink.LinkDel(br)
		return fmt.Errorf("network %q: address %s on %s: %w", n.Name, gw.IPNet, n.Bridge, err)
	}
	err = netlink.LinkSetUp(br)
	trace.Step("6.4", "", err, "ip link set %s up", n.Bridge)
	if err != nil {
		netlink.LinkDel(br)
		return fmt.Errorf("network %q: bring %s up: %w", n.Name, n.Bridge, err)
	}
	return nil
}

// Get reads the network called name.
func Get(root, name string) (*Network, error) {
	n := &Network{root: root}
	data, err := os.ReadFile(filepath.Join(dir(root), name, "config.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || validName(name) != nil {
			return nil, fmt.Errorf("no such network: %s", name)
		}
		return nil, fmt.Errorf("network %q: %w", name, err)
	}
	if err := json.Unmarshal(data, n); err != nil {
		return nil, fmt.Errorf("network %q: %w", name, err)
	}
	return n, nil
}

// List returns every network, by name.
func List(root string) ([]*Network, error) { return list(root) }

func list(root string) ([]*Network, error) {
	entries, err := os.ReadDir(dir(root))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("networks: %w", err)
	}
	var nets []*Network
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if n, err := Get(root, e.Name()); err == nil {
			nets = append(nets, n)
		}
	}
	sort.Slice(nets, func(i, j int) bool { return nets[i].Name < nets[j].Name })
	return nets, nil
}

// Remove deletes the network: its rules, its bridge and its directory;
// the firewall table and the forwarding mydocker turned on go with the
// last network. It refuses while a live container uses it (alive says
// which are).
func Remove(root, name string, alive func(id string) bool) error {
	unlock, err := lock(root)
	if err != nil {
		return err
	}
	defer unlock()
	n, err := Get(root, name)
	if err != nil {
		half := &Network{Name: name, Bridge: bridgeName(root, name), root: root}
		if _, serr := os.Stat(half.path()); serr == nil && validName(name) == nil {
			// No readable definition, but its directory: what a create or
			// rm killed half-way left. Removing it is what was asked.
			return half.remove()
		}
		return err
	}
	users, err := n.endpoints(alive)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("network %s is in use by container %s", name, users[0].ID)
	}
	// With the last network, the table and the forwarding go first: a
	// remove killed half-way leaves the network there, for rm again (or
	// for the next container to join it, which makes them again).
	if all, _ := list(root); len(all) == 1 {
		if err := removeTable(); err != nil {
			return err
		}
		if err := restoreForwarding(root); err != nil {
			return err
		}
		defer os.Remove(filepath.Join(dir(root), "ports")) // empty by now
	}
	return n.remove()
}

// remove undoes Create: rules, bridge, directory.
func (n *Network) remove() error {
	var errs []error
	errs = append(errs, removeNetworkRules(n))
	if l, err := netlink.LinkByName(n.Bridge); err == nil {
		if err := netlink.LinkDel(l); err != nil {
			errs = append(errs, fmt.Errorf("delete bridge %s: %w", n.Bridge, err))
		}
	}
	errs = append(errs, os.RemoveAll(n.path()))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove network %q: %w", n.Name, err)
	}
	return nil
}

// validName is docker's rule for names, as for containers.
func validName(name string) error { return names.Check("network", name, 1, 64) }

// forwardingNote records that mydocker turned IP forwarding on, so that the
// last network's removal turns it off again.
func forwardingNote(root string) string { return filepath.Join(dir(root), ".ip_forward-was-0") }

const ipForward = "/proc/sys/net/ipv4/ip_forward"

// enableForwarding turns on IP forwarding, which containers need to reach
// beyond their bridge (docker does the same).
func enableForwarding(root string) error {
	v, err := os.ReadFile(ipForward)
	if err != nil {
		return fmt.Errorf("IP forwarding: %w", err)
	}
	if string(v) != "0\n" {
		return nil
	}
	if err := os.WriteFile(forwardingNote(root), nil, 0o600); err != nil {
		return fmt.Errorf("IP forwarding: %w", err)
	}
	err = os.WriteFile(ipForward, []byte("1"), 0o644)
	trace.Step("6.5", "containers reach beyond their bridge; the last network's removal writes 0 back", err, "write %s %q", ipForward, "1")
	if err != nil {
		return fmt.Errorf("IP forwarding: %w", err)
	}
	return nil
}

func restoreForwarding(root string) error {
	if _, err := os.Stat(forwardingNote(root)); err != nil {
		return nil
	}
	if err := os.WriteFile(ipForward, []byte("0"), 0o644); err != nil {
		return fmt.Errorf("IP forwarding: %w", err)
	}
	return os.Remove(forwardingNote(root))
}
