package e2e

import (
	"archive/tar"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The registry tests run a real registry: Debian's docker-registry (the
// CNCF distribution registry that most private registries run), its
// binary taken from the package (downloaded with apt-get and unpacked into
// .cache/, never installed: no service of it starts on the host), serving
// on 127.0.0.1:5000 inside a network namespace of the test's own, its
// storage in a temporary directory. mydocker and skopeo run inside that
// namespace to reach it.

type testRegistry struct {
	t       *testing.T
	ns      string
	storage string
}

var registries atomic.Int32

// registryBinary is docker-registry, from .cache/ or unpacked there from
// Debian's package.
func registryBinary(t *testing.T) string {
	t.Helper()
	cache, _ := filepath.Abs("../../.cache/docker-registry")
	bin := filepath.Join(cache, "usr", "bin", "docker-registry")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	dir := t.TempDir()
	get := exec.Command("sh", "-c", "apt-get update -qq >/dev/null && apt-get download docker-registry && dpkg-deb -x docker-registry_*.deb unpacked")
	get.Dir = dir
	if out, err := get.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but docker-registry could not be had: %v\n%s", err, out)
		}
		t.Skipf("docker-registry could not be had (apt-get download docker-registry): %v", err)
	}
	os.MkdirAll(filepath.Dir(cache), 0o755)
	os.RemoveAll(cache)
	if err := os.Rename(filepath.Join(dir, "unpacked"), cache); err != nil {
		t.Fatal(err)
	}
	return bin
}

// startRegistry starts a registry in a network namespace of its own;
// users (name -> password), when given, must log in (htpasswd).
func startRegistry(t *testing.T, users map[string]string) *testRegistry {
	t.Helper()
	bin := registryBinary(t)
	reg := &testRegistry{t: t, ns: fmt.Sprintf("mdreg-%d-%d", os.Getpid(), registries.Add(1)), storage: t.TempDir()}
	if out, err := exec.Command("ip", "netns", "add", reg.ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", reg.ns).Run() })
	if out, err := exec.Command("ip", "-n", reg.ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:5000\n", reg.storage)
	if len(users) > 0 {
		var lines []string
		for user, password := range users {
			hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, user+":"+string(hash))
		}
		htpasswd := filepath.Join(t.TempDir(), "htpasswd")
		os.WriteFile(htpasswd, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
		config += fmt.Sprintf("auth:\n  htpasswd:\n    realm: mydocker-tests\n    path: %s\n", htpasswd)
	}
	reg.serve(bin, config, "127.0.0.1")
	return reg
}

// serve starts the registry bin with config in the namespace, stopped
// when the test ends, and waits (boundedly) until it listens on addr:5000.
func (reg *testRegistry) serve(bin, config, addr string) {
	t := reg.t
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.yml")
	os.WriteFile(cfg, []byte(config), 0o644)
	serve := exec.Command("ip", "netns", "exec", reg.ns, bin, "serve", cfg)
	var logs strings.Builder
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if exec.Command("ip", "netns", "exec", reg.ns, "bash", "-c", "echo > /dev/tcp/"+addr+"/5000").Run() == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry never listened: %s", logs.String())
		}
	}
}

// in is the command line that runs argv in the registry's network
// namespace, and nothing else of it (ip netns exec would also mount a /sys
// of its own, without the cgroup hierarchies a container needs).
func (reg *testRegistry) in(argv ...string) []string {
	return append([]string{"nsenter", "--net=/run/netns/" + reg.ns, "--"}, argv...)
}

// md runs mydocker in the registry's network namespace.
func (reg *testRegistry) md(env []string, args ...string) result {
	reg.t.Helper()
	argv := reg.in(append([]string{mydocker}, args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return result{stdout: out.String(), stderr: errOut.String(), status: statusOf(reg.t, cmd, err)}
}

func (reg *testRegistry) mustMd(args ...string) string {
	reg.t.Helper()
	r := reg.md(nil, args...)
	if r.status != 0 {
		reg.t.Fatalf("mydocker %q: status %d\n%s%s", args, r.status, r.stdout, r.stderr)
	}
	return r.stdout
}

// skopeo runs skopeo in the registry's network namespace, plain http.
func (reg *testRegistry) skopeo(args ...string) string {
	reg.t.Helper()
	bin := needDebianPackage(reg.t, "skopeo", "skopeo")
	policy := filepath.Join(reg.t.TempDir(), "policy.json")
	os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644)
	argv := reg.in(append([]string{bin, "--policy", policy}, args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		reg.t.Fatalf("skopeo %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestPushAndPull: push sends a three-layer image to a real registry, pull
// brings it into another store as the same image (same ID), each in
// docker's words; a second pull finds every layer there; the digest it
// came by names it (run NAME@sha256:..., images --digests).
func TestPushAndPull(t *testing.T) {
	reg := startRegistry(t, nil)
	outside := "/mydocker-e2e-nowhere-" + fmt.Sprint(time.Now().UnixNano())
	root := layerRoot(t)
	mustRun(t, "--root", root, "load", "-i", writeArchive(t, t.TempDir(), archiveOf(t, "oci", false, featureImage(t, "pushed:1", outside))))
	mustRun(t, "--root", root, "tag", "pushed:1", "localhost:5000/team/pushed:1")
	out := reg.mustMd("--root", root, "push", "localhost:5000/team/pushed:1")
	if !strings.HasPrefix(out, "The push refers to repository [localhost:5000/team/pushed]\n") || strings.Count(out, ": Pushed\n") != 3 ||
		!regexp.MustCompile(`\n1: digest: sha256:[0-9a-f]{64} size: [0-9]+\n$`).MatchString(out) || strings.Contains(out, "\x1b") {
		t.Errorf("push's output:\n%s", out)
	}
	digest := regexp.MustCompile(`sha256:[0-9a-f]{64}`).FindString(out[strings.LastIndex(out, "digest:"):])
	// Again: every layer is there.
	if out := reg.mustMd("--root", root, "push", "localhost:5000/team/pushed:1"); strings.Count(out, ": Layer already exists\n") != 3 {
		t.Errorf("a second push's output:\n%s", out)
	}
	other := layerRoot(t)
	out = reg.mustMd("--root", other, "pull", "localhost:5000/team/pushed:1")
	want := regexp.MustCompile(`^1: Pulling from team/pushed\n([0-9a-f]{12}: Pulling fs layer\n){3}([0-9a-f]{12}: Pull complete\n){3}Digest: ` + digest + `\nStatus: Downloaded newer image for localhost:5000/team/pushed:1\nlocalhost:5000/team/pushed:1\n$`)
	if !want.MatchString(out) {
		t.Errorf("pull's output (in a pipe, a line per state):\n%s", out)
	}
	id := func(root, ref string) string {
		return strings.TrimSpace(mustRun(t, "--root", root, "images", "-q", "--no-trunc", ref))
	}
	if a, b := id(root, "pushed:1"), id(other, "localhost:5000/team/pushed:1"); a == "" || a != b {
		t.Errorf("pushed and pulled, the image's ID changed: %q, %q", a, b)
	}
	check := strings.ReplaceAll(featureCheck, "OUTSIDE", outside)
	if out := mustRun(t, "--root", other, "run", "localhost:5000/team/pushed@"+digest, "sh", "-c", check); out != featureWant(outside) {
		t.Errorf("the pulled image's files:\n%s", out)
	}
	out = reg.mustMd("--root", other, "pull", "localhost:5000/team/pushed:1")
	if strings.Count(out, ": Already exists\n") != 3 || !strings.Contains(out, "Status: Image is up to date for localhost:5000/team/pushed:1\n") {
		t.Errorf("a second pull's output:\n%s", out)
	}
	if out := reg.mustMd("--root", other, "pull", "-q", "localhost:5000/team/pushed:1"); out != "localhost:5000/team/pushed:1\n" {
		t.Errorf("pull -q: %q", out)
	}
	if out := mustRun(t, "--root", other, "images", "--digests", "localhost:5000/team/pushed"); !strings.Contains(out, " 1 ") || !strings.Contains(out, digest) {
		t.Errorf("images --digests:\n%s", out)
	}
	checkStoreClean(t, other)
}

// TestRegistryAndSkopeo: what skopeo (containers/image) puts into the
// registry, gzip layers and all, mydocker pulls; what mydocker pushes,
// skopeo reads back, checking every digest.
func TestRegistryAndSkopeo(t *testing.T) {
	reg := startRegistry(t, nil)
	img := testImage{layers: [][]byte{busyboxLayer(t), makeLayer(t, []layerEntry{{name: "from-skopeo", typ: tar.TypeReg, body: "yes\n"}})}, tag: "sk:1"}
	archive := writeArchive(t, t.TempDir(), archiveOf(t, "docker24", false, img))
	reg.skopeo("copy", "--dest-tls-verify=false", "--dest-compress-format", "gzip", "docker-archive:"+archive, "docker://localhost:5000/skopeo/img:1")
	root := layerRoot(t)
	reg.mustMd("--root", root, "pull", "localhost:5000/skopeo/img:1")
	if out := mustRun(t, "--root", root, "run", "localhost:5000/skopeo/img:1", "cat", "/from-skopeo"); out != "yes\n" {
		t.Errorf("the image skopeo pushed, pulled: %q", out)
	}
	mustRun(t, "--root", root, "tag", "localhost:5000/skopeo/img:1", "localhost:5000/mydocker/img:2")
	// Both layers came from skopeo/img: mounted from there, not sent.
	if out := reg.mustMd("--root", root, "push", "localhost:5000/mydocker/img:2"); strings.Count(out, ": Mounted from skopeo/img\n") != 2 {
		t.Errorf("push of a pulled image to another repository of its registry:\n%s", out)
	}
	again := layerRoot(t)
	reg.mustMd("--root", again, "pull", "localhost:5000/mydocker/img:2")
	if a, b := mustRun(t, "--root", root, "images", "-q", "--no-trunc", "localhost:5000/skopeo/img:1"), mustRun(t, "--root", again, "images", "-q", "--no-trunc"); a != b {
		t.Errorf("the image pushed by mounts, pulled again, is another: %q, %q", a, b)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	reg.skopeo("copy", "--src-tls-verify=false", "docker://localhost:5000/mydocker/img:2", "oci:"+dir+":2")
	var index struct{ Manifests []struct{ Digest string } }
	data, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if err := json.Unmarshal(data, &index); err != nil || len(index.Manifests) != 1 {
		t.Errorf("skopeo's copy of what mydocker pushed: %v %s", err, data)
	}
}

// TestPullAnIndex: a multi-platform index (skopeo copies an OCI layout
// with one) gives the host's image; --platform another; a platform it
// lacks is refused, naming those it has.
func TestPullAnIndex(t *testing.T) {
	reg := startRegistry(t, nil)
	base := busyboxLayer(t)
	amd := testImage{layers: [][]byte{base, makeLayer(t, []layerEntry{{name: "arch", typ: tar.TypeReg, body: "amd64\n"}})}}
	arm := testImage{layers: [][]byte{base, makeLayer(t, []layerEntry{{name: "arch", typ: tar.TypeReg, body: "arm64\n"}})}}
	dir := t.TempDir()
	writeBlob := func(data []byte) string {
		d := sha256hex(data)
		os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755)
		os.WriteFile(filepath.Join(dir, "blobs", "sha256", d), data, 0o644)
		return "sha256:" + d
	}
	var manifests []map[string]any
	for _, v := range []struct {
		img  testImage
		arch string
	}{{amd, "amd64"}, {arm, "arm64"}} {
		cfg := v.img.configJSON()
		cfg = []byte(strings.Replace(string(cfg), `"architecture":"amd64"`, `"architecture":"`+v.arch+`"`, 1))
		var layers []map[string]any
		for _, l := range v.img.layers {
			layers = append(layers, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": writeBlob(l), "size": len(l)})
		}
		m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": writeBlob(cfg), "size": len(cfg)}, "layers": layers})
		manifests = append(manifests, map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": writeBlob(m), "size": len(m),
			"platform": map[string]string{"os": "linux", "architecture": v.arch}})
	}
	inner, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})
	top, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []map[string]any{{"mediaType": "application/vnd.oci.image.index.v1+json",
		"digest": writeBlob(inner), "size": len(inner), "annotations": map[string]string{"org.opencontainers.image.ref.name": "1"}}}})
	os.WriteFile(filepath.Join(dir, "index.json"), top, 0o644)
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	reg.skopeo("copy", "--all", "--dest-tls-verify=false", "oci:"+dir+":1", "docker://localhost:5000/multi/img:1")
	root := layerRoot(t)
	reg.mustMd("--root", root, "pull", "localhost:5000/multi/img:1")
	if out := mustRun(t, "--root", root, "run", "localhost:5000/multi/img:1", "cat", "/arch"); out != "amd64\n" {
		t.Errorf("this host's platform from the index: %q", out)
	}
	reg.mustMd("--root", root, "pull", "--platform", "linux/arm64", "localhost:5000/multi/img:1")
	if out := mustRun(t, "--root", root, "inspect", "--type", "image", "localhost:5000/multi/img:1"); !strings.Contains(out, `"Architecture": "arm64"`) {
		t.Errorf("--platform linux/arm64 did not bring the arm64 image:\n%s", out)
	}
	r := reg.md(nil, "--root", root, "pull", "--platform", "linux/s390x", "localhost:5000/multi/img:1")
	if r.status != 1 || !strings.Contains(r.stderr, "no image for linux/s390x in the index: it has linux/amd64, linux/arm64") {
		t.Errorf("a platform the index lacks: %d %q", r.status, r.stderr)
	}
}

// TestPullRefusals: what a pull cannot do is one line, status 1, and
// leaves nothing: an unknown repository or tag, a registry that does not
// answer, a blob whose content is not its digest (the registry's storage
// edited on disk), a bad reference.
func TestPullRefusals(t *testing.T) {
	reg := startRegistry(t, nil)
	root := layerRoot(t)
	// The top layer is big and corrupted near its end: the two small ones
	// below are whole by then, and must go too.
	big := bigImage(t, "good:1", 1, 6<<20)
	img := testImage{tag: "good:1", layers: [][]byte{
		makeLayer(t, []layerEntry{{name: "a", typ: tar.TypeReg, body: "a"}}),
		makeLayer(t, []layerEntry{{name: "b", typ: tar.TypeReg, body: "b"}}), big.layers[1]}}
	mustRun(t, "--root", root, "load", "-i", writeArchive(t, t.TempDir(), archiveOf(t, "oci", false, img)))
	mustRun(t, "--root", root, "tag", "good:1", "localhost:5000/team/good:1")
	reg.mustMd("--root", root, "push", "localhost:5000/team/good:1")
	// The top layer's blob, corrupted where the registry keeps it.
	blob := filepath.Join(reg.storage, "docker", "registry", "v2", "blobs", "sha256", sha256hex(img.layers[2])[:2], sha256hex(img.layers[2]), "data")
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	copy(data[len(data)-2000:], "corrupted!")
	os.WriteFile(blob, data, 0o644)
	for _, tc := range []struct {
		name, ref, want string
	}{
		{"unknown tag", "localhost:5000/team/good:2", "not found"},
		{"unknown repository", "localhost:5000/team/nosuch:1", "not found"},
		{"no registry there", "localhost:5001/team/good:1", "cannot reach the registry localhost:5001"},
		{"a corrupt blob", "localhost:5000/team/good:1", sha256hex(img.layers[2])[:12]},
		{"a bad reference", "localhost:5000/Team/good:1", "invalid reference format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := layerRoot(t)
			r := reg.md(nil, "--root", fresh, "pull", tc.ref)
			if r.status != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("pull %s: status %d, stderr %q; want 1 and one line with %q", tc.ref, r.status, r.stderr, tc.want)
			}
			if out := mustRun(t, "--root", fresh, "images", "-q"); out != "" {
				t.Errorf("a refused pull left an image: %q", out)
			}
			checkStoreClean(t, fresh)
			if n := len(storeLayers(t, fresh)); n != 0 {
				t.Errorf("a refused pull left %d layers", n)
			}
		})
	}
}

// TestLogin: a registry that wants a login refuses a pull without one in a
// line that says so; login checks the password, keeps it where docker
// does (DOCKER_CONFIG/config.json, 0600), and never prints it; pull and
// push then work; logout takes it away.
func TestLogin(t *testing.T) {
	reg := startRegistry(t, map[string]string{"student": "s3cret-pass"})
	config := t.TempDir()
	env := []string{"DOCKER_CONFIG=" + config}
	root := layerRoot(t)
	needImage(t)
	mustRun(t, "--root", root, "import", imageTarball(), "localhost:5000/private/bb:1")
	r := reg.md(env, "--root", root, "push", "localhost:5000/private/bb:1")
	if r.status != 1 || !strings.Contains(r.stderr, "mydocker login localhost:5000") {
		t.Errorf("push without a login: %d %q", r.status, r.stderr)
	}
	login := func(password string) result {
		argv := reg.in(mydocker, "login", "-u", "student", "--password-stdin", "localhost:5000")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdin = strings.NewReader(password + "\n")
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return result{stdout: out.String(), stderr: errOut.String(), status: statusOf(t, cmd, err)}
	}
	if r := login("wrong-pass"); r.status != 1 || !strings.Contains(r.stderr, "unauthorized") || strings.Contains(r.stderr, "wrong-pass") {
		t.Errorf("login with a wrong password: %d %q", r.status, r.stderr)
	}
	if r := login("s3cret-pass"); r.status != 0 || r.stdout != "Login Succeeded\n" {
		t.Fatalf("login: %d %q %q", r.status, r.stdout, r.stderr)
	}
	fi, err := os.Stat(filepath.Join(config, "config.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("docker's config.json: %v, mode %v; want 0600", err, fi.Mode())
	}
	saved, _ := os.ReadFile(filepath.Join(config, "config.json"))
	if !strings.Contains(string(saved), `"localhost:5000"`) || !strings.Contains(string(saved), `"auth"`) {
		t.Errorf("config.json has no auth for localhost:5000:\n%s", saved)
	}
	if r := reg.md(env, "--root", root, "push", "localhost:5000/private/bb:1"); r.status != 0 {
		t.Errorf("push after login: %d %q", r.status, r.stderr)
	}
	if r := reg.md(env, "--root", layerRoot(t), "pull", "localhost:5000/private/bb:1"); r.status != 0 {
		t.Errorf("pull after login: %d %q", r.status, r.stderr)
	}
	if r := reg.md(env, "logout", "localhost:5000"); r.status != 0 || r.stdout != "Removing login credentials for localhost:5000\n" {
		t.Errorf("logout: %d %q %q", r.status, r.stdout, r.stderr)
	}
	if r := reg.md(env, "--root", layerRoot(t), "pull", "localhost:5000/private/bb:1"); r.status != 1 || !strings.Contains(r.stderr, "login") {
		t.Errorf("pull after logout: %d %q", r.status, r.stderr)
	}
	if saved, _ := os.ReadFile(filepath.Join(config, "config.json")); strings.Contains(string(saved), `"auth"`) {
		t.Errorf("logout left the credentials:\n%s", saved)
	}
}

// TestRunPullsAMissingImage: run pulls an image the store lacks, as
// docker does (saying so on stderr: stdout is the command's); --pull never
// keeps the store's answer; --pull always asks the registry again.
func TestRunPullsAMissingImage(t *testing.T) {
	reg := startRegistry(t, nil)
	root := layerRoot(t)
	needImage(t)
	mustRun(t, "--root", root, "import", imageTarball(), "localhost:5000/run/bb:1")
	reg.mustMd("--root", root, "push", "localhost:5000/run/bb:1")
	fresh := layerRoot(t)
	if r := reg.md(nil, "--root", fresh, "run", "--pull", "never", "localhost:5000/run/bb:1", "echo", "x"); r.status != 125 || !strings.Contains(r.stderr, "no image") {
		t.Errorf("run --pull never of a missing image: %d %q", r.status, r.stderr)
	}
	r := reg.md(nil, "--root", fresh, "run", "localhost:5000/run/bb:1", "echo", "from the registry")
	if r.status != 0 || r.stdout != "from the registry\n" || !strings.HasPrefix(r.stderr, "Unable to find image 'localhost:5000/run/bb:1' locally\n") || !strings.Contains(r.stderr, "Pull complete") {
		t.Errorf("run of a missing image: %d, stdout %q, stderr %q", r.status, r.stdout, r.stderr)
	}
	if r := reg.md(nil, "--root", fresh, "run", "--pull", "always", "localhost:5000/run/bb:1", "true"); r.status != 0 || !strings.Contains(r.stderr, "Image is up to date") {
		t.Errorf("run --pull always: %d %q", r.status, r.stderr)
	}
	if r := reg.md(nil, "--root", fresh, "run", "localhost:5000/run/nosuch:1", "true"); r.status != 125 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("run of an image no registry has: %d %q", r.status, r.stderr)
	}
}

// bigImage is busybox and n layers of size bytes of random data.
func bigImage(t *testing.T, tag string, n, size int) testImage {
	img := testImage{layers: [][]byte{busyboxLayer(t)}, tag: tag}
	for i := 0; i < n; i++ {
		data := make([]byte, size)
		rand.Read(data)
		img.layers = append(img.layers, makeLayer(t, []layerEntry{{name: fmt.Sprintf("big%d", i), typ: tar.TypeReg, body: string(data)}}))
	}
	return img
}

// pushed loads img into a store of its own and pushes it as ref.
func (reg *testRegistry) pushed(img testImage, ref string) {
	reg.t.Helper()
	root := layerRoot(reg.t)
	mustRun(reg.t, "--root", root, "load", "-i", writeArchive(reg.t, reg.t.TempDir(), archiveOf(reg.t, "oci", false, img)))
	mustRun(reg.t, "--root", root, "tag", img.tag, ref)
	reg.mustMd("--root", root, "push", "-q", ref)
}

// TestPullKilledAtAnyMoment: a pull killed with SIGKILL at random moments
// never leaves a half image visible; the next pull brings the image whole
// and leaves the store clean.
func TestPullKilledAtAnyMoment(t *testing.T) {
	reg := startRegistry(t, nil)
	reg.pushed(bigImage(t, "big:1", 3, 8<<20), "localhost:5000/team/big:1")
	root := layerRoot(t)
	for round := 0; round < 10; round++ {
		argv := reg.in(mydocker, "--root", root, "pull", "-q", "localhost:5000/team/big:1")
		cmd := exec.Command(argv[0], argv[1:]...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.Intn(150)) * time.Millisecond)
		// nsenter execs mydocker: the PID is mydocker's.
		cmd.Process.Kill()
		cmd.Wait()
		if out := strings.Fields(mustRun(t, "--root", root, "images", "-q")); len(out) > 0 {
			mustRun(t, "--root", root, "run", out[0], "sh", "-c", "test -s /big2")
			mustRun(t, "--root", root, "rmi", out[0])
		}
	}
	reg.mustMd("--root", root, "pull", "localhost:5000/team/big:1")
	if out := mustRun(t, "--root", root, "run", "--pull", "never", "localhost:5000/team/big:1", "sh", "-c", "ls /big*"); out != "/big0\n/big1\n/big2\n" {
		t.Errorf("the image pulled after the killed pulls: %q", out)
	}
	checkStoreClean(t, root)
}

// TestPullOnATerminal: on a terminal the layers' lines are rewritten in
// place (escape codes); in a pipe there are none (TestPushAndPull).
func TestPullOnATerminal(t *testing.T) {
	reg := startRegistry(t, nil)
	reg.pushed(bigImage(t, "tty:1", 2, 4<<20), "localhost:5000/team/tty:1")
	root := layerRoot(t)
	s := startSessionOf(t, 24, 80, reg.in(mydocker, "--root", root, "pull", "localhost:5000/team/tty:1"))
	if status := s.wait(); status != 0 {
		t.Fatalf("pull on a terminal: status %d: %q", status, s.output())
	}
	out := s.output()
	if !strings.Contains(out, "\x1b[") || !strings.Contains(out, "Pull complete") || !strings.Contains(out, "localhost:5000/team/tty:1\r\n") {
		t.Errorf("pull on a terminal, its lines not rewritten in place: %q", out)
	}
}

// TestPullOntoAFullDisk: a disk that fills up during a pull ends it with
// one line, and gives the space back: nothing of the image is left. The
// store is on a small tmpfs, mounted in a mount namespace of the test's
// own (the host's mounts are not touched).
func TestPullOntoAFullDisk(t *testing.T) {
	reg := startRegistry(t, nil)
	reg.pushed(bigImage(t, "full:1", 2, 6<<20), "localhost:5000/team/full:1")
	dir := t.TempDir()
	script := `set -e
mount -t tmpfs -o size=8m tmpfs "$1"
set +e
nsenter --net=/run/netns/$3 -- "$2" --root "$1/root" pull localhost:5000/team/full:1 >"$1/out" 2>"$1/err"
echo "status=$?"
echo "stderr=$(cat "$1/err")"
echo "left=$(ls -A "$1/root/image/tmp" "$1/root/image/layers" 2>/dev/null | grep -v ':$' | grep -c .)"
echo "used=$(du -sk "$1/root" | cut -f1)"
`
	out, err := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir, mydocker, reg.ns).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := string(out)
	if !strings.Contains(got, "status=1\n") || !strings.Contains(got, "no space left on device") || strings.Count(got[strings.Index(got, "stderr="):strings.Index(got, "left=")], "\n") != 1 {
		t.Errorf("a pull onto a full disk: want status 1 and one line saying the disk is full:\n%s", got)
	}
	if !strings.Contains(got, "left=0\n") {
		t.Errorf("a pull onto a full disk left layers or staging directories:\n%s", got)
	}
}

// TestRegistryOverTLS: a registry that is not on loopback is reached by
// https with a trusted certificate only: its self-signed one is refused in
// one line that names --insecure-registry, which then lets the pull
// through (and MYDOCKER_INSECURE_REGISTRIES too). The registry listens on
// an address of its own network namespace, 198.18.0.1 (the benchmarking range: not a
// private one, which go-containerregistry reaches by http).
func TestRegistryOverTLS(t *testing.T) {
	reg := startRegistryTLS(t)
	root := layerRoot(t)
	needImage(t)
	mustRun(t, "--root", root, "import", imageTarball(), "198.18.0.1:5000/tls/bb:1")
	r := reg.md(nil, "--root", root, "push", "198.18.0.1:5000/tls/bb:1")
	if r.status != 1 || !strings.Contains(r.stderr, "--insecure-registry 198.18.0.1:5000") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("push to a registry with a self-signed certificate: %d %q; want 1 and one line naming --insecure-registry", r.status, r.stderr)
	}
	reg.mustMd("--root", root, "push", "--insecure-registry", "198.18.0.1:5000", "198.18.0.1:5000/tls/bb:1")
	fresh := layerRoot(t)
	if r := reg.md(nil, "--root", fresh, "pull", "198.18.0.1:5000/tls/bb:1"); r.status != 1 || !strings.Contains(r.stderr, "insecure-registry") {
		t.Errorf("pull from it: %d %q", r.status, r.stderr)
	}
	if r := reg.md([]string{"MYDOCKER_INSECURE_REGISTRIES=198.18.0.1:5000"}, "--root", fresh, "pull", "198.18.0.1:5000/tls/bb:1"); r.status != 0 {
		t.Errorf("pull with MYDOCKER_INSECURE_REGISTRIES: %d %q", r.status, r.stderr)
	}
}

// startRegistryTLS starts a registry on https://198.18.0.1:5000 with a
// self-signed certificate, in a network namespace of its own.
func startRegistryTLS(t *testing.T) *testRegistry {
	t.Helper()
	bin := registryBinary(t)
	reg := &testRegistry{t: t, ns: fmt.Sprintf("mdreg-%d-%d", os.Getpid(), registries.Add(1)), storage: t.TempDir()}
	for _, argv := range [][]string{{"ip", "netns", "add", reg.ns}, {"ip", "-n", reg.ns, "link", "set", "lo", "up"},
		{"ip", "-n", reg.ns, "addr", "add", "198.18.0.1/32", "dev", "lo"}} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%q: %v: %s", argv, err, out)
		}
		if argv[2] == "add" && argv[1] == "netns" {
			t.Cleanup(func() { exec.Command("ip", "netns", "del", reg.ns).Run() })
		}
	}
	dir := t.TempDir()
	certFile, keyFile := selfSignedCertificate(t, dir, "198.18.0.1")
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 198.18.0.1:5000\n  tls:\n    certificate: %s\n    key: %s\n", reg.storage, certFile, keyFile)
	reg.serve(bin, config, "198.18.0.1")
	return reg
}

// selfSignedCertificate writes a certificate for ip, signed by itself, and
// its key.
func selfSignedCertificate(t *testing.T, dir, ip string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), cryptorand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: ip},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP(ip)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(cryptorand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile
}

// TestCredentialHelpers: credentials docker keeps with a credential helper
// (credHelpers for one registry, credsStore for all) are mydocker's too:
// login stores them through the helper, pull reads them back from it, and
// config.json holds no password.
func TestCredentialHelpers(t *testing.T) {
	reg := startRegistry(t, map[string]string{"helped": "helper-pass"})
	bin := t.TempDir()
	secrets := filepath.Join(t.TempDir(), "secrets")
	// docker-credential-filestore: docker's helper protocol (store, get,
	// erase on stdin and stdout), kept in one file.
	helper := `#!/bin/sh
store="` + secrets + `"
case "$1" in
store) cat > "$store" ;;
get) read server; if [ -s "$store" ]; then cat "$store"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) read server; rm -f "$store" ;;
list) echo '{}' ;;
esac
`
	os.WriteFile(filepath.Join(bin, "docker-credential-filestore"), []byte(helper), 0o755)
	env := []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
	root := layerRoot(t)
	needImage(t)
	mustRun(t, "--root", root, "import", imageTarball(), "localhost:5000/helped/bb:1")
	for _, key := range []string{"credsStore", "credHelpers"} {
		t.Run(key, func(t *testing.T) {
			config := t.TempDir()
			doc := `{"credsStore": "filestore"}`
			if key == "credHelpers" {
				doc = `{"credHelpers": {"localhost:5000": "filestore"}}`
			}
			os.WriteFile(filepath.Join(config, "config.json"), []byte(doc), 0o600)
			env := append(env, "DOCKER_CONFIG="+config)
			argv := reg.in(mydocker, "login", "-u", "helped", "--password-stdin", "localhost:5000")
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env, cmd.Stdin = append(os.Environ(), env...), strings.NewReader("helper-pass\n")
			if out, err := cmd.CombinedOutput(); err != nil || string(out) != "Login Succeeded\n" {
				t.Fatalf("login through the helper: %v %q", err, out)
			}
			if kept, _ := os.ReadFile(secrets); !strings.Contains(string(kept), "helper-pass") {
				t.Errorf("the helper was not given the credentials: %q", kept)
			}
			if saved, _ := os.ReadFile(filepath.Join(config, "config.json")); strings.Contains(string(saved), "helper-pass") || strings.Contains(string(saved), `"auth"`) {
				t.Errorf("config.json holds the password although a helper keeps it:\n%s", saved)
			}
			if r := reg.md(env, "--root", root, "push", "localhost:5000/helped/bb:1"); r.status != 0 {
				t.Errorf("push with the helper's credentials: %d %q", r.status, r.stderr)
			}
			if r := reg.md(env, "logout", "localhost:5000"); r.status != 0 {
				t.Errorf("logout: %d %q", r.status, r.stderr)
			}
			if _, err := os.Stat(secrets); err == nil {
				t.Error("logout did not erase the credentials from the helper")
			}
		})
	}
}

// TestPullInterrupted: Ctrl-C (SIGINT) or SIGTERM during a pull ends it
// with 128+N and one line, and nothing of the image is left.
func TestPullInterrupted(t *testing.T) {
	reg := startRegistry(t, nil)
	reg.pushed(bigImage(t, "slow:1", 3, 24<<20), "localhost:5000/team/slow:1")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		interrupted := false
		for try := 0; try < 5 && !interrupted; try++ {
			root := layerRoot(t)
			argv := reg.in(mydocker, "--root", root, "pull", "localhost:5000/team/slow:1")
			cmd := exec.Command(argv[0], argv[1:]...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Once its first layer is on its way (a staging directory).
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
				if found, _ := filepath.Glob(filepath.Join(root, "image", "tmp", "layer-*")); len(found) > 0 {
					break
				}
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			status := statusOf(t, cmd, err)
			if status == 0 {
				mustRun(t, "--root", root, "rmi", "localhost:5000/team/slow:1")
				continue // done before the signal: again
			}
			interrupted = true
			if status != 128+int(sig) || !strings.Contains(stderr.String(), "interrupted") || strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("pull stopped by %v: status %d, stderr %q; want %d and one line", sig, status, stderr.String(), 128+int(sig))
			}
			if out := mustRun(t, "--root", root, "images", "-q"); out != "" {
				t.Errorf("an interrupted pull left an image: %q", out)
			}
			checkStoreClean(t, root)
		}
		if !interrupted {
			t.Errorf("every pull ended before %v reached it", sig)
		}
	}
}
