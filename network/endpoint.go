package network

import (
	"fmt"
	"net"
	"os"

	"github.com/mydocker/mydocker/trace"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// vethName is the host's end of the container id's veth pair: "mdv" and
// the ID, 15 characters, the most a link name may have.
func vethName(id string) string { return "mdv" + id }

// MACAddress is eth0's hardware address for ip, as docker makes it:
// 02:42 (locally administered) and the address's four bytes. A container
// that gets the same address again (start, or a new one after rm) has the
// same MAC, so the ARP entries of the host and of the other containers
// stay true: a random one would leave them pointing at the old MAC, and
// the container unreachable until they expire (20 to 50 s).
func MACAddress(ip net.IP) net.HardwareAddr {
	ip4 := ip.To4()
	return net.HardwareAddr{0x02, 0x42, ip4[0], ip4[1], ip4[2], ip4[3]}
}

// Connect plugs the container whose PID 1 is pid (in its own network
// namespace, not yet running the command) into its network, in the
// book's order:
//
//  1. a veth pair, one end on the bridge, the other made right inside
//     the container's namespace as eth0 (so it never appears among the
//     host's links, and dies with the namespace whatever happens to
//     mydocker);
//  2. inside: the address, eth0 up, the default route via the gateway.
func Connect(ep *Endpoint, pid int) error {
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return fmt.Errorf("network: the container's namespace: %w", err)
	}
	defer ns.Close()
	br, err := netlink.LinkByName(ep.Network.Bridge)
	if err != nil {
		return fmt.Errorf("network %s: bridge %s: %w", ep.Network.Name, ep.Network.Bridge, err)
	}
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: vethName(ep.ID), MasterIndex: br.Attrs().Index},
		PeerName:         "eth0",
		PeerHardwareAddr: MACAddress(ep.IP),
		PeerNamespace:    netlink.NsFd(int(ns.Fd())),
	}
	err = netlink.LinkAdd(veth)
	trace.Step("6.5", "the peer made right inside the container's namespace: it never appears among the host's links", err,
		"ip link add %s master %s type veth peer name eth0 address %s netns %d", veth.Name, ep.Network.Bridge, veth.PeerHardwareAddr, pid)
	if err != nil {
		return fmt.Errorf("network %s: veth pair: %w", ep.Network.Name, err)
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		return fmt.Errorf("network %s: bring %s up: %w", ep.Network.Name, veth.Name, err)
	}

	h, err := netlink.NewHandleAt(netns.NsHandle(int(ns.Fd())))
	if err != nil {
		return fmt.Errorf("network: enter the container's namespace: %w", err)
	}
	defer h.Delete()
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("network: eth0: %w", err)
	}
	ones, _ := ep.Network.Subnet.Mask.Size()
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ep.IP, Mask: net.CIDRMask(ones, 32)}}
	err = h.AddrAdd(eth0, addr)
	trace.Step("6.5", "in the container's namespace", err, "ip addr add %s dev eth0", addr.IPNet)
	if err != nil {
		return fmt.Errorf("network: address %s on eth0: %w", addr.IPNet, err)
	}
	if err := h.LinkSetUp(eth0); err != nil {
		return fmt.Errorf("network: bring eth0 up: %w", err)
	}
	route := &netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: ep.Network.Gateway}
	err = h.RouteAdd(route)
	trace.Step("6.5", "in the container's namespace", err, "ip route add default via %s", ep.Network.Gateway)
	if err != nil {
		return fmt.Errorf("network: default route via %s: %w", ep.Network.Gateway, err)
	}
	return nil
}

// removeVeth deletes the container id's veth pair if it is still there (a
// start that failed before the container's namespace was gone).
func removeVeth(id string) error {
	l, err := netlink.LinkByName(vethName(id))
	if err != nil {
		return nil // gone with the container's namespace
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("delete %s: %w", vethName(id), err)
	}
	return nil
}
