package network

import (
	"errors"
	"fmt"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/mydocker/mydocker/trace"
	"golang.org/x/sys/unix"
)

// mydocker's firewall rules live in an nftables table of their own, "ip
// mydocker", made with the first network and deleted with the last, so
// that they never mix with the host's own rules:
//
//	table ip mydocker {
//	  chain prerouting  { type nat hook prerouting priority dstnat      # from other machines
//	    fib daddr type local tcp dport 8080 dnat to 172.18.0.2:80       # one per -p, tagged with its container
//	  }
//	  chain output      { type nat hook output priority dstnat          # from the host itself, localhost too
//	    fib daddr type local tcp dport 8080 dnat to 172.18.0.2:80
//	  }
//	  chain postrouting { type nat hook postrouting priority srcnat
//	    ip saddr 172.18.0.0/16 oifname != "mdbr..." masquerade           # outbound, one per network
//	    ip saddr 127.0.0.0/8 oifname "mdbr..." masquerade                # localhost:8080, one per network
//	  }
//	  chain forward     { type filter hook forward priority filter     # networks are isolated
//	    iifname "mdbr..." oifname != "mdbr..." oifname "mdbr*" drop      # one per network
//	  }
//	}
//
// The book uses iptables in PREROUTING only, which the host itself cannot
// reach its published ports through; docker adds OUTPUT, as here, and
// makes localhost:8080 work with route_localnet on its bridge and a
// masquerade, as here (setRouteLocalnet). Each
// rule carries whose it is (the network's bridge, or the container's ID)
// in its user data: a container's end removes exactly its own.
var table = &nftables.Table{Family: nftables.TableFamilyIPv4, Name: "mydocker"}

var (
	prerouting  = &nftables.Chain{Name: "prerouting", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest}
	output      = &nftables.Chain{Name: "output", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest}
	postrouting = &nftables.Chain{Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource}
	forward     = &nftables.Chain{Name: "forward", Table: table, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter}
)

func networkTag(n *Network) []byte  { return []byte("network:" + n.Bridge) }
func containerTag(id string) []byte { return []byte("container:" + id) }

// ensureNetworkRules makes the table, its chains and the network's own
// rules where they are missing: a second call adds nothing.
func ensureNetworkRules(n *Network) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	c.AddTable(table)
	for _, ch := range []*nftables.Chain{prerouting, output, postrouting, forward} {
		c.AddChain(ch)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: table %s: %w", table.Name, err)
	}
	rules, err := c.GetRules(table, postrouting)
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tagged := 0
	for _, r := range rules {
		if string(r.UserData) == string(networkTag(n)) {
			tagged++
		}
	}
	if tagged == 2 {
		return nil
	}
	if tagged > 0 {
		// A network made before its loopback rule existed: made anew.
		if err := removeNetworkRules(n); err != nil {
			return err
		}
	}
	subnet := n.Subnet.IPNet
	c.AddRule(&nftables.Rule{Table: table, Chain: postrouting, UserData: networkTag(n), Exprs: []expr.Any{
		// ip saddr SUBNET
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: subnet.Mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: subnet.IP.To4()},
		// oifname != BRIDGE
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname(n.Bridge)},
		&expr.Masq{},
	}})
	c.AddRule(&nftables.Rule{Table: table, Chain: postrouting, UserData: networkTag(n), Exprs: []expr.Any{
		// ip saddr 127.0.0.0/8 oifname BRIDGE: the host's own connection
		// to localhost:PORT, sent to a container by the output chain's
		// DNAT, leaves from the gateway's address, which the container
		// can answer (see setRouteLocalnet).
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{127}},
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(n.Bridge)},
		&expr.Masq{},
	}})
	c.AddRule(&nftables.Rule{Table: table, Chain: forward, UserData: networkTag(n), Exprs: []expr.Any{
		// iifname BRIDGE oifname != BRIDGE oifname "mdbr*"
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(n.Bridge)},
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname(n.Bridge)},
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("mdbr")}, // a prefix: nft's "mdbr*"
		&expr.Verdict{Kind: expr.VerdictDrop},
	}})
	err = c.Flush()
	trace.Step("6.5", "nftables, in mydocker's own table", err, "nft add rule ip mydocker postrouting ip saddr %s oifname != %s masquerade", &subnet, n.Bridge)
	if err != nil {
		return fmt.Errorf("nftables: rules of network %s: %w", n.Name, err)
	}
	return nil
}

// ifname is an interface name as the kernel compares it: 16 bytes, NUL
// padded.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// addPortRules publishes the endpoint's ports: a DNAT rule for each in
// prerouting (other machines) and output (the host itself).
func addPortRules(ep *Endpoint) error {
	if len(ep.Ports) == 0 {
		return nil
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	for _, p := range ep.Ports {
		proto := byte(unix.IPPROTO_TCP)
		if p.Proto == "udp" {
			proto = unix.IPPROTO_UDP
		}
		dnat := []expr.Any{
			// tcp dport HOST_PORT
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
			// dnat to IP:CONTAINER_PORT
			&expr.Immediate{Register: 1, Data: ep.IP.To4()},
			&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
		}
		var dest []expr.Any
		if p.HostIP != nil {
			// ip daddr HOST_IP
			dest = []expr.Any{
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.HostIP.To4()},
			}
		} else {
			// fib daddr type local: any address of the host's
			dest = []expr.Any{
				&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
			}
		}
		// From the host itself too, localhost included (127.0.0.0/8 is
		// "local" to fib): the bridge routes loopback sources
		// (setRouteLocalnet), and postrouting masquerades them.
		c.AddRule(&nftables.Rule{Table: table, Chain: prerouting, UserData: containerTag(ep.ID), Exprs: concat(dest, dnat)})
		c.AddRule(&nftables.Rule{Table: table, Chain: output, UserData: containerTag(ep.ID), Exprs: concat(dest, dnat)})
	}
	err = c.Flush()
	for _, p := range ep.Ports {
		trace.Step("6.5", "nftables, in mydocker's own table; output too, so the host itself reaches the port", err,
			"nft add rule ip mydocker prerouting,output %s dport %d dnat to %s:%d", p.Proto, p.HostPort, ep.IP, p.ContainerPort)
	}
	if err != nil {
		return fmt.Errorf("nftables: publish ports: %w", err)
	}
	return nil
}

func concat(lists ...[]expr.Any) []expr.Any {
	var all []expr.Any
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

// removePortRules removes the container id's rules, if any.
func removePortRules(id string) error {
	if id == "" {
		return nil
	}
	return removeTagged(containerTag(id), prerouting, output)
}

// removeNetworkRules removes the network's own rules.
func removeNetworkRules(n *Network) error {
	return removeTagged(networkTag(n), postrouting, forward)
}

func removeTagged(tag []byte, chains ...*nftables.Chain) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	found := false
	for _, ch := range chains {
		rules, err := c.GetRules(table, ch)
		if err != nil {
			if isNotFound(err) {
				return nil // no table: nothing to remove
			}
			return fmt.Errorf("nftables: %w", err)
		}
		for _, r := range rules {
			if string(r.UserData) == string(tag) {
				if err := c.DelRule(r); err != nil {
					return fmt.Errorf("nftables: %w", err)
				}
				found = true
			}
		}
	}
	if !found {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: remove rules: %w", err)
	}
	return nil
}

// removeTable deletes mydocker's table, with the last network.
func removeTable() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	c.DelTable(table)
	if err := c.Flush(); err != nil && !isNotFound(err) {
		return fmt.Errorf("nftables: delete table %s: %w", table.Name, err)
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, unix.ENOENT) }

// setRouteLocalnet lets the network's bridge carry packets from 127.0.0.0/8
// (route_localnet, a setting of this bridge alone, gone with it): the
// host's connections to localhost:PORT, sent to a container by the output
// chain's DNAT, which the kernel would otherwise drop as martians.
func setRouteLocalnet(bridge string) error {
	path := "/proc/sys/net/ipv4/conf/" + bridge + "/route_localnet"
	err := os.WriteFile(path, []byte("1"), 0o644)
	trace.Step("6.5", "on mydocker's own bridge only, so that localhost reaches published ports", err, "sysctl net.ipv4.conf.%s.route_localnet=1", bridge)
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	return nil
}
