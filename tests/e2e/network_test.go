package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
)

// The network tests never touch the host's network: each builds a small
// lab of two network namespaces of its own, each held by a sleep the test
// started (and kills: the namespaces, with every link, address, rule and
// sysctl in them, go with it):
//
//	"host" namespace (mydocker runs here)      "remote" namespace (another machine)
//	  vh 10.99.0.1/24  ─────── veth ─────────    vr 10.99.0.2/24
//	  mydocker's bridges, veths, rules
//
// Traffic goes only to addresses inside these namespaces. Each lab has a
// store of its own (--root), so that its networks are its alone.
type netLab struct {
	t            *testing.T
	host, remote *exec.Cmd // the sleeps that hold the namespaces
	root         string
}

func newNetLab(t *testing.T) *netLab {
	t.Helper()
	needImage(t)
	for _, tool := range []string{"ip", "nsenter", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the network tests need %s (iproute2, util-linux): %v", tool, err)
		}
	}
	lab := &netLab{t: t, root: t.TempDir()}
	lab.host = holdNetns(t)
	lab.remote = holdNetns(t)
	steps := [][]string{
		{"ip", "link", "add", "vh", "netns", pidOf(lab.host), "type", "veth", "peer", "name", "vr", "netns", pidOf(lab.remote)},
	}
	for _, step := range steps {
		if out, err := exec.Command(step[0], step[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%q: %v\n%s", step, err, out)
		}
	}
	lab.inHost("sh", "-c", "ip link set lo up && ip addr add 10.99.0.1/24 dev vh && ip link set vh up")
	lab.inRemote("sh", "-c", "ip link set lo up && ip addr add 10.99.0.2/24 dev vr && ip link set vr up")
	out, err := exec.Command(mydocker, "--root", lab.root, "import", "--change", `CMD ["sh"]`, imageTarball(), "busybox").CombinedOutput()
	if err != nil {
		t.Fatalf("import busybox into the lab's store: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		// Containers first (they hold addresses and state), then the
		// namespaces.
		ids := strings.Fields(lab.md("ps", "-aq").stdout)
		if len(ids) > 0 {
			lab.md(append([]string{"rm", "-f"}, ids...)...)
		}
	})
	return lab
}

// holdNetns starts a sleep in a new network namespace; the test's end
// kills it, and the namespace goes with it.
func holdNetns(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("unshare", "--net", "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// unshare execs sleep once the namespace exists.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid)); strings.TrimSpace(string(comm)) == "sleep" {
			return cmd
		}
	}
	t.Fatal("unshare --net did not start sleep")
	return nil
}

func pidOf(cmd *exec.Cmd) string { return strconv.Itoa(cmd.Process.Pid) }

func (lab *netLab) netns(holder *exec.Cmd) string {
	return fmt.Sprintf("--net=/proc/%d/ns/net", holder.Process.Pid)
}

// md runs mydocker in the lab's host namespace, on the lab's store.
func (lab *netLab) md(args ...string) result {
	lab.t.Helper()
	cmd := exec.Command("nsenter", append([]string{lab.netns(lab.host), mydocker, "--root", lab.root}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return result{stdout: out.String(), stderr: errOut.String(), status: statusOf(lab.t, cmd, err)}
}

func (lab *netLab) mustMd(args ...string) string {
	lab.t.Helper()
	r := lab.md(args...)
	if r.status != 0 {
		lab.t.Fatalf("mydocker %q: status %d, stderr:\n%s", args, r.status, r.stderr)
	}
	return r.stdout
}

func (lab *netLab) in(holder *exec.Cmd, args ...string) (string, error) {
	out, err := exec.Command("nsenter", append([]string{lab.netns(holder)}, args...)...).CombinedOutput()
	return string(out), err
}

func (lab *netLab) inHost(args ...string) string {
	lab.t.Helper()
	out, err := lab.in(lab.host, args...)
	if err != nil {
		lab.t.Fatalf("in the lab's host namespace, %q: %v\n%s", args, err, out)
	}
	return out
}

func (lab *netLab) inRemote(args ...string) string {
	lab.t.Helper()
	out, err := lab.in(lab.remote, args...)
	if err != nil {
		lab.t.Fatalf("in the lab's remote namespace, %q: %v\n%s", args, err, out)
	}
	return out
}

// busybox is the image's busybox, for the lab's host and remote sides
// (wget, nc): the same binary the containers have.
func (lab *netLab) busybox() string {
	return filepath.Join(imageLayerDir(lab.t, lab.root, "busybox"), "bin", "busybox")
}

// links lists the link names of the lab's host namespace.
func (lab *netLab) links() []string {
	lab.t.Helper()
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(lab.inHost("ip", "-o", "link")), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			names = append(names, name)
		}
	}
	return names
}

// rules returns mydocker's nftables rules in the lab's host namespace, as
// "chain:user data" (nil when its table is gone).
func (lab *netLab) rules() []string {
	lab.t.Helper()
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", lab.host.Process.Pid))
	if err != nil {
		lab.t.Fatal(err)
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns.Fd())))
	if err != nil {
		lab.t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		lab.t.Fatal(err)
	}
	var rules []string
	for _, table := range tables {
		if table.Name != "mydocker" {
			continue
		}
		rules = append(rules, "table")
		chains, _ := c.ListChains()
		for _, ch := range chains {
			if ch.Table.Name != "mydocker" {
				continue
			}
			rs, _ := c.GetRules(table, ch)
			for _, r := range rs {
				rules = append(rules, ch.Name+":"+string(r.UserData))
			}
		}
	}
	return rules
}

func (lab *netLab) ipForward() string {
	lab.t.Helper()
	return strings.TrimSpace(lab.inHost("cat", "/proc/sys/net/ipv4/ip_forward"))
}

// checkNothingLeft checks that the lab's host namespace holds only its own
// links, and no rule, table or address file of mydocker's.
func (lab *netLab) checkNothingLeft() {
	lab.t.Helper()
	if links := lab.links(); strings.Join(links, " ") != "lo vh" {
		lab.t.Errorf("links left in the host namespace: %q, want only lo and vh", links)
	}
	if rules := lab.rules(); rules != nil {
		lab.t.Errorf("nftables left: %q", rules)
	}
	if lab.ipForward() != "0" {
		lab.t.Errorf("ip_forward left on")
	}
	entries, _ := os.ReadDir(filepath.Join(lab.root, "networks"))
	for _, e := range entries {
		if e.Name() != ".lock" {
			lab.t.Errorf("network file left: %s", e.Name())
		}
	}
}

// ipOf is a running container's address on its network, from inspect.
func (lab *netLab) ipOf(ref string) string {
	lab.t.Helper()
	var out []struct {
		NetworkSettings struct {
			Networks map[string]struct{ IPAddress string }
			Ports    map[string][]struct{ HostIp, HostPort string }
		}
	}
	if err := json.Unmarshal([]byte(lab.mustMd("inspect", ref)), &out); err != nil || len(out) != 1 {
		lab.t.Fatalf("inspect %s: %v", ref, err)
	}
	for _, n := range out[0].NetworkSettings.Networks {
		return n.IPAddress
	}
	lab.t.Fatalf("inspect %s: no network", ref)
	return ""
}

func TestNetworkCreateListInspectRemove(t *testing.T) {
	lab := newNetLab(t)
	// The book's command: a host address with its prefix.
	if out := lab.mustMd("network", "create", "--driver", "bridge", "--subnet", "192.168.10.1/24", "testnet"); out != "testnet\n" {
		t.Errorf("network create printed %q", out)
	}
	for _, ls := range []string{"ls", "list"} {
		out := lab.mustMd("network", ls)
		if !regexp.MustCompile(`(?m)^NAME +DRIVER +SUBNET +GATEWAY +BRIDGE\ntestnet +bridge +192\.168\.10\.0/24 +192\.168\.10\.1 +mdbr[0-9a-f]{8}$`).MatchString(strings.TrimSpace(out)) {
			t.Errorf("network %s:\n%s", ls, out)
		}
	}
	var inspected []struct {
		Name string
		IPAM struct {
			Config []struct{ Subnet, Gateway string }
		}
	}
	if err := json.Unmarshal([]byte(lab.mustMd("network", "inspect", "testnet")), &inspected); err != nil ||
		len(inspected) != 1 || inspected[0].Name != "testnet" || inspected[0].IPAM.Config[0].Subnet != "192.168.10.0/24" || inspected[0].IPAM.Config[0].Gateway != "192.168.10.1" {
		t.Errorf("network inspect: %+v (%v)", inspected, err)
	}
	// The bridge holds the gateway, forwarding is on, and the table is
	// there with the network's masquerade and isolation rules.
	if addrs := lab.inHost("ip", "-o", "-4", "addr"); !regexp.MustCompile(`mdbr[0-9a-f]{8} +inet 192\.168\.10\.1/24`).MatchString(addrs) {
		t.Errorf("no bridge with the gateway 192.168.10.1/24:\n%s", addrs)
	}
	if lab.ipForward() != "1" {
		t.Errorf("ip_forward is not on with a network")
	}
	if rules := strings.Join(lab.rules(), " "); !strings.Contains(rules, "postrouting:network:mdbr") || !strings.Contains(rules, "forward:network:mdbr") {
		t.Errorf("nftables: %q, want the network's postrouting and forward rules", rules)
	}
	// A network named like a link of the host's never touches that link.
	lab.mustMd("network", "create", "--subnet", "192.168.11.0/24", "vh")
	lab.mustMd("network", "remove", "vh")
	if addrs := lab.inHost("ip", "-o", "-4", "addr", "show", "dev", "vh"); !strings.Contains(addrs, "10.99.0.1/24") {
		t.Errorf("network vh touched the link vh: %q", addrs)
	}
	if out := lab.mustMd("network", "rm", "testnet"); out != "testnet\n" {
		t.Errorf("network rm printed %q", out)
	}
	if out := lab.mustMd("network", "ls"); strings.Contains(out, "testnet") {
		t.Errorf("network ls after rm:\n%s", out)
	}
	lab.checkNothingLeft()
}

func TestNetworkContainersTalkPublishAndGoOut(t *testing.T) {
	lab := newNetLab(t)
	lab.mustMd("network", "create", "--subnet", "192.168.10.0/24", "testnet")
	lab.mustMd("network", "create", "--subnet", "172.30.0.0/16", "othernet")
	web := strings.TrimSpace(lab.mustMd("run", "-d", "--name", "web", "-net", "testnet", "-p", "8080:80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"))
	other := strings.TrimSpace(lab.mustMd("run", "-d", "--network", "othernet", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"))
	webIP, otherIP := lab.ipOf("web"), lab.ipOf(other)
	if webIP != "192.168.10.2" || otherIP != "172.30.0.2" {
		t.Errorf("addresses %s and %s, want the first after each gateway", webIP, otherIP)
	}
	// web's /etc/hostname is its ID: what httpd serves.
	wget := func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Errorf("wget: %v: %s", err, out)
		}
		return strings.TrimSpace(out)
	}
	// Container to container, by address.
	if got := strings.TrimSpace(lab.mustMd("run", "--rm", "--net", "testnet", "busybox", "wget", "-qO-", "http://"+webIP+"/hostname")); got != web {
		t.Errorf("container to container: %q, want %q", got, web)
	}
	// The published port, from the host itself and from another machine.
	if got := wget(lab.in(lab.host, lab.busybox(), "wget", "-qO-", "http://10.99.0.1:8080/hostname")); got != web {
		t.Errorf("published port from the host itself: %q, want %q", got, web)
	}
	if got := wget(lab.in(lab.remote, lab.busybox(), "wget", "-qO-", "http://10.99.0.1:8080/hostname")); got != web {
		t.Errorf("published port from another machine: %q, want %q", got, web)
	}
	// localhost too, as docker users try first; and a port published on
	// 127.0.0.1 alone answers there, and not to another machine.
	for _, url := range []string{"http://127.0.0.1:8080/hostname", "http://localhost:8080/hostname"} {
		if got := wget(lab.in(lab.host, lab.busybox(), "wget", "-qO-", url)); got != web {
			t.Errorf("published port from the host itself at %s: %q, want %q", url, got, web)
		}
	}
	local := strings.TrimSpace(lab.mustMd("run", "-d", "--net", "testnet", "-p", "127.0.0.1:8081:80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc"))
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(lab.md("exec", local, "netstat", "-ltn").stdout, ":80 "); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("httpd never listened")
		}
	}
	if got := wget(lab.in(lab.host, lab.busybox(), "wget", "-qO-", "http://127.0.0.1:8081/hostname")); got != local {
		t.Errorf("-p 127.0.0.1:8081:80 from the host at 127.0.0.1:8081: %q, want %q", got, local)
	}
	if out, err := lab.in(lab.remote, lab.busybox(), "timeout", "3", lab.busybox(), "wget", "-qO-", "http://10.99.0.1:8081/hostname"); err == nil {
		t.Errorf("-p 127.0.0.1:8081:80 answered another machine: %q", out)
	}
	lab.mustMd("rm", "-f", local)
	// ps and inspect show the port.
	if ps := lab.mustMd("ps"); !regexp.MustCompile(`Up .* +0\.0\.0\.0:8080->80/tcp +\d+ +web\n`).MatchString(ps) {
		t.Errorf("ps shows no PORTS for web:\n%s", ps)
	}
	if out := lab.mustMd("inspect", "web"); !strings.Contains(strings.Join(strings.Fields(out), ""), `"Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}`) {
		t.Errorf("inspect shows no NetworkSettings.Ports:\n%s", out)
	}
	// Inside: eth0 with the address, a default route via the gateway, lo
	// up, and /etc/hosts with the container's own address and hostname.
	inside := lab.mustMd("run", "--rm", "--net", "testnet", "--hostname", "probe", "busybox", "sh", "-c",
		"ip -o -4 addr show eth0; ip route; ping -c1 -W2 127.0.0.1 >/dev/null && echo lo-up; cat /etc/hosts")
	for _, want := range []string{"inet 192.168.10.3/24", "default via 192.168.10.1 dev eth0", "lo-up", "192.168.10.3\tprobe"} {
		if !strings.Contains(inside, want) {
			t.Errorf("inside a networked container, no %q in:\n%s", want, inside)
		}
	}
	// Outbound: what the host reaches, the container reaches, under the
	// host's address (masquerade). The remote side answers with what it
	// sees of the connection (nc -e: the program talks to the socket).
	listener := exec.Command("nsenter", lab.netns(lab.remote), lab.busybox(), "nc", "-l", "-p", "9000", "-e", "sh", "-c", "netstat -tn | grep ':9000 '")
	if err := listener.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, listener)
	waitListening(t, lab, lab.remote, "9000")
	out := lab.md("run", "--rm", "--net", "testnet", "busybox", "sh", "-c", "nc -w 5 10.99.0.2 9000 </dev/null")
	listener.Process.Kill() // served its one connection, or never will
	listener.Wait()
	if out.status != 0 || !strings.Contains(out.stdout, " ::ffff:10.99.0.1:") && !strings.Contains(out.stdout, " 10.99.0.1:") {
		t.Errorf("the remote machine saw the connection as %q (status %d, %s), want from the host's address 10.99.0.1 (masquerade)", out.stdout, out.status, out.stderr)
	}
	// Networks are isolated from each other.
	if out := lab.md("run", "--rm", "--net", "testnet", "busybox", "nc", "-w", "1", otherIP, "80"); out.status == 0 {
		t.Errorf("a container of testnet reached %s on othernet: networks are not isolated", otherIP)
	}
	// Everything goes with the containers and the networks.
	lab.mustMd("rm", "-f", "web", other)
	if rules := strings.Join(lab.rules(), " "); strings.Contains(rules, "container:") {
		t.Errorf("port rules left after rm: %q", rules)
	}
	if r := lab.md("network", "rm", "testnet", "othernet"); r.status != 0 {
		t.Fatalf("network rm: %d %s", r.status, r.stderr)
	}
	lab.checkNothingLeft()
}

// waitListening waits until something in the namespace holder holds
// (the lab's host or remote) listens on port.
func waitListening(t *testing.T, lab *netLab, holder *exec.Cmd, port string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if out, _ := lab.in(holder, lab.busybox(), "netstat", "-tln"); strings.Contains(out, ":"+port+" ") {
			return
		}
	}
	t.Fatalf("nothing listens on %s", port)
}

func TestNetworkAddressManagement(t *testing.T) {
	lab := newNetLab(t)
	// A /30 has room for the gateway and one container.
	lab.mustMd("network", "create", "--subnet", "10.50.0.0/30", "tiny")
	lab.mustMd("run", "-d", "--name", "only", "--net", "tiny", "-p", "9090:80", "busybox", "sleep", "1000")
	if ip := lab.ipOf("only"); ip != "10.50.0.2" {
		t.Errorf("the one address of a /30: %s, want 10.50.0.2", ip)
	}
	r := lab.md("run", "--net", "tiny", "busybox", "true")
	expectFailure(t, r, 125, "network tiny is full")
	// The address comes back when the container ends, however it ends:
	// stop, a killed monitor, a killed foreground mydocker.
	lab.mustMd("stop", "-t", "0", "only")
	if rules := strings.Join(lab.rules(), " "); strings.Contains(rules, "container:") {
		t.Errorf("a stopped container's port rules are still there: %q", rules)
	}
	lab.mustMd("run", "--rm", "--net", "tiny", "busybox", "true")
	lab.mustMd("start", "only")
	if ip := lab.ipOf("only"); ip != "10.50.0.2" {
		t.Errorf("address after start: %s", ip)
	}
	killMonitorOf(t, lab, "only")
	lab.mustMd("run", "--rm", "--net", "tiny", "busybox", "true")
	lab.mustMd("rm", "only")

	fg := exec.Command("nsenter", lab.netns(lab.host), mydocker, "--root", lab.root, "run", "--net", "tiny", "busybox", "sleep", "1000")
	if err := fg.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, fg)
	waitForDescendant(t, fg.Process.Pid, "sleep")
	fg.Process.Signal(syscall.SIGKILL)
	fg.Wait()
	lab.mustMd("run", "--rm", "--net", "tiny", "busybox", "true")

	// Twenty containers started at once get twenty different addresses,
	// none of them the network's, the broadcast or the gateway.
	lab.mustMd("network", "create", "--subnet", "10.60.0.0/27", "many")
	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = strings.TrimSpace(lab.mustMd("run", "-d", "--net", "many", "busybox", "sleep", "1000"))
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		ip := lab.ipOf(id)
		n, _ := strconv.Atoi(strings.TrimPrefix(ip, "10.60.0."))
		if seen[ip] || !strings.HasPrefix(ip, "10.60.0.") || n < 2 || n > 30 {
			t.Errorf("address %s given twice or outside 10.60.0.2-30", ip)
		}
		seen[ip] = true
	}
	lab.mustMd(append([]string{"rm", "-f"}, ids...)...)
	lab.mustMd("network", "rm", "tiny", "many")
	lab.checkNothingLeft()
}

// killMonitorOf SIGKILLs the monitor of the detached container ref (its
// PID 1's parent), and waits until ps calls it Dead.
func killMonitorOf(t *testing.T, lab *netLab, ref string) {
	t.Helper()
	var out []struct{ State struct{ Pid int } }
	json.Unmarshal([]byte(lab.mustMd("inspect", ref)), &out)
	if len(out) != 1 || out[0].State.Pid == 0 {
		t.Fatalf("inspect %s: no PID", ref)
	}
	syscall.Kill(monitorOf(t, out[0].State.Pid), syscall.SIGKILL)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(lab.mustMd("ps", "-a"), "Dead") {
			return
		}
	}
	t.Fatalf("%s not Dead after its monitor was killed", ref)
}

func TestNetworkBadInput(t *testing.T) {
	lab := newNetLab(t)
	lab.mustMd("network", "create", "--subnet", "192.168.10.0/24", "testnet")
	lab.mustMd("run", "-d", "--name", "pub", "--net", "testnet", "-p", "8080:80", "busybox", "sleep", "1000")
	// A program of the host's listening on a port: publishing it would
	// steal its traffic.
	listener := exec.Command("nsenter", lab.netns(lab.host), lab.busybox(), "nc", "-l", "-p", "8095")
	if err := listener.Start(); err != nil {
		t.Fatal(err)
	}
	killOnFailure(t, listener)
	waitListening(t, lab, lab.host, "8095")
	before := lab.links()
	for _, c := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"network", "create", "--subnet", "192.168.10.0/33", "bad"}, 1, "invalid subnet"},
		{[]string{"network", "create", "--subnet", "10.0.0.0/31", "bad"}, 1, "/8 to /30"},
		{[]string{"network", "create", "--subnet", "fd00::/64", "bad"}, 1, "IPv4"},
		{[]string{"network", "create", "--subnet", "192.168.10.128/25", "bad"}, 1, "overlaps network testnet"},
		{[]string{"network", "create", "--subnet", "10.99.0.0/16", "bad"}, 1, "an address of the host's (vh)"},
		{[]string{"network", "create", "--subnet", "192.168.20.0/24", "testnet"}, 1, `network "testnet" already exists`},
		{[]string{"network", "create", "--driver", "overlay", "--subnet", "192.168.20.0/24", "bad"}, 1, `unknown network driver "overlay"`},
		{[]string{"network", "create", "--subnet", "192.168.20.0/24", "bad/name"}, 1, "invalid network name"},
		{[]string{"network", "rm", "testnet"}, 1, "in use by container"},
		{[]string{"network", "rm", "nonet"}, 1, "no such network: nonet"},
		{[]string{"run", "--net", "nonet", "busybox", "true"}, 125, "no such network: nonet"},
		{[]string{"run", "-p", "8081:80", "busybox", "true"}, 125, "-p needs a network"},
		{[]string{"run", "--net", "testnet", "-p", "0:80", "busybox", "true"}, 125, "not a port number"},
		{[]string{"run", "--net", "testnet", "-p", "8081:65536", "busybox", "true"}, 125, "not a port number"},
		{[]string{"run", "--net", "testnet", "-p", "8081:80/sctp", "busybox", "true"}, 125, `unknown protocol "sctp"`},
		{[]string{"run", "--net", "testnet", "-p", "8081:80", "-p", "8081:81", "busybox", "true"}, 125, "already published"},
		{[]string{"run", "--net", "testnet", "-p", "8080:80", "busybox", "true"}, 125, "port 8080/tcp is already published by container"},
		{[]string{"run", "--net", "testnet", "-p", "8095:80", "busybox", "true"}, 125, "port 8095/tcp is in use on the host"},
		{[]string{"run", "--net", "testnet", "-p", "10.99.0.77:8096:80", "busybox", "true"}, 125, "10.99.0.77 is not an address of the host's"},
	} {
		expectFailure(t, lab.md(c.args...), c.status, c.want)
	}
	if got := lab.links(); strings.Join(got, " ") != strings.Join(before, " ") {
		t.Errorf("links after bad input: %q, before %q", got, before)
	}
	if out := lab.mustMd("network", "ls"); strings.Count(out, "\n") != 2 {
		t.Errorf("networks after bad input:\n%s", out)
	}
	if out := lab.mustMd("ps", "-aq"); strings.Count(out, "\n") != 1 {
		t.Errorf("containers after bad input:\n%s", out)
	}
	addrs, _ := os.ReadDir(filepath.Join(lab.root, "networks", "testnet", "addresses"))
	if len(addrs) != 1 {
		t.Errorf("%d addresses in use after bad input, want pub's only", len(addrs))
	}
	lab.mustMd("rm", "-f", "pub")
	// A network removed under an exited container: start says so.
	kept := strings.TrimSpace(lab.mustMd("run", "-d", "--name", "kept", "--net", "testnet", "busybox", "true"))
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(lab.mustMd("ps", "-a"), "Exited (0)"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("container %s never exited", kept)
		}
	}
	lab.mustMd("network", "rm", "testnet")
	expectFailure(t, lab.md("start", "kept"), 125, "container kept: network testnet no longer exists")
	lab.mustMd("rm", "kept")
	lab.checkNothingLeft()
}

// TestNetworkRestartedContainerReachableAtOnce: a container that gets its
// address again (stop and start, or rm and the same run) answers on the
// first try: from the host (ping, and its published port from another
// machine) and from another container, whose ARP entries for the address
// are still fresh. Its MAC comes from its address, as docker's does.
func TestNetworkRestartedContainerReachableAtOnce(t *testing.T) {
	lab := newNetLab(t)
	lab.mustMd("network", "create", "--subnet", "192.168.40.0/24", "arpnet")
	client := strings.TrimSpace(lab.mustMd("run", "-d", "--net", "arpnet", "busybox", "sleep", "1000"))
	runWeb := func() {
		lab.mustMd("run", "-d", "--name", "web", "--net", "arpnet", "-p", "8085:80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc")
	}
	// reachable checks each way in once, with a timeout well below the
	// kernel's ARP expiry.
	reachable := func(when string) {
		t.Helper()
		ip := lab.ipOf("web")
		if out, err := lab.in(lab.host, lab.busybox(), "ping", "-c1", "-W2", ip); err != nil {
			t.Errorf("%s: the host cannot ping web (%s) on the first try: %v %s", when, ip, err, out)
		}
		if r := lab.md("exec", client, "ping", "-c1", "-W2", ip); r.status != 0 {
			t.Errorf("%s: another container cannot ping web (%s) on the first try: %s %s", when, ip, r.stdout, r.stderr)
		}
		// httpd listens a moment after it starts: wait for that inside.
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(lab.md("exec", "web", "netstat", "-ltn").stdout, ":80 "); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: httpd never listened in web", when)
			}
		}
		// timeout, not wget -T, which crashes in Debian's busybox.
		if out, err := lab.in(lab.remote, lab.busybox(), "timeout", "3", lab.busybox(), "wget", "-qO-", "http://10.99.0.1:8085/hostname"); err != nil {
			t.Errorf("%s: web's published port does not answer another machine on the first try: %v %s", when, err, out)
		}
		if mac := lab.md("exec", "web", "cat", "/sys/class/net/eth0/address").stdout; mac != "02:42:c0:a8:28:03\n" {
			t.Errorf("%s: web's eth0 has MAC %q, want 02:42 and its address 192.168.40.3", when, mac)
		}
	}
	runWeb()
	reachable("first run")
	lab.mustMd("stop", "-t", "0", "web")
	lab.mustMd("start", "web")
	reachable("after stop and start")
	lab.mustMd("rm", "-f", "web")
	runWeb()
	reachable("after rm and the same run")
	lab.mustMd("rm", "-f", "web", client)
	lab.mustMd("network", "rm", "arpnet")
	lab.checkNothingLeft()
}

// TestNetworkKilledAtRandomMoments SIGKILLs `network create`, `network rm`
// and a networked `run` at random moments, many times: every next command
// must find a usable state, the /30's one address must come back, and in
// the end nothing may be left.
func TestNetworkKilledAtRandomMoments(t *testing.T) {
	lab := newNetLab(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	killAt := func(delay time.Duration, args ...string) {
		t.Helper()
		cmd := exec.Command("nsenter", append([]string{lab.netns(lab.host), mydocker, "--root", lab.root}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killOnFailure(t, cmd)
		time.Sleep(delay)
		// nsenter execs mydocker: the PID is mydocker's.
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	for i := 0; i < 15; i++ {
		killAt(time.Duration(rng.IntN(8000))*time.Microsecond, "network", "create", "--subnet", "10.70.0.0/30", "k")
		if r := lab.md("network", "create", "--subnet", "10.70.0.0/30", "k"); r.status != 0 && !strings.Contains(r.stderr, "already exists") {
			t.Fatalf("network create after a killed one: %d %s", r.status, r.stderr)
		}
		killAt(time.Duration(rng.IntN(30000))*time.Microsecond, "run", "--net", "k", "-p", "7000:80", "busybox", "sleep", "1000")
		// The one address of the /30 and the port are free again.
		lab.mustMd("run", "--rm", "--net", "k", "-p", "7000:80", "busybox", "true")
		killAt(time.Duration(rng.IntN(8000))*time.Microsecond, "network", "rm", "k")
		if r := lab.md("network", "rm", "k"); r.status != 0 && !strings.Contains(r.stderr, "no such network") {
			t.Fatalf("network rm after a killed one: %d %s", r.status, r.stderr)
		}
	}
	lab.checkNothingLeft()
}
