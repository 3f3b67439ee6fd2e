#!/usr/bin/env bash
# Start-up benchmark: mydocker side by side with unshare(1), bubblewrap, crun
# and runc, in one run (this machine is shared and noisy: compare ratios,
# not absolute times). Run as root: make bench. Not part of the tests.
#
#   1. host filesystem: `mydocker run /bin/true` vs unshare and bwrap with the
#      same namespaces (UTS, PID, mount, net, IPC) and a fresh /proc;
#   2. image: `mydocker run busybox /bin/true` (overlay, pivot_root, /dev)
#      vs crun and runc on an OCI bundle of the same busybox rootfs, and the
#      same files as a 3-layer image;
#   3. image mode on a busy disk: 100 runs while a writer of the bench's
#      own dirties 16 MB every 100 ms, next to 100 on the quiet disk, and
#      crun's alike;
#   4. N containers started at once (N = 1, 10, 50, 100), wall time;
#   5. lifecycle: exec into a running container (next to nsenter -a and
#      runc exec), and run -d + rm -f (next to a foreground run); exec and
#      the foreground run again beside 50 running containers;
#   6. load of a 5-layer, 100 MB archive, next to tar -x of it;
#   7. pull of that image (gzip layers) from a registry on loopback, next to
#      skopeo's download alone and podman's pull, and a pull that finds
#      every layer there;
#   8. peak RSS (GNU time's %M: the largest of the process and its children),
#      and what one run costs beside its wall time: CPU time (user and
#      system), context switches and page faults of the whole process tree
#      (perf stat -r 50), for mydocker's rows and their references;
#   9. containerd: `ctr run --rm` of the same image through mydocker-runc,
#      crun and runc (the shim's BinaryName), on a containerd of the bench's
#      own.
#
# Row 2 also has `mydocker-runc run` on the bundle crun and runc run.
#
# Each comparison runs in ROUNDS rounds (hyperfine on all its commands, one
# after the other), merged: the machine's slower and faster minutes weigh on
# every command alike, and the ratios stay true when the times drift.
#
# Environment: RUNS (default 200), ROUNDS (default 5), OUT (default .bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-200}
rounds=${ROUNDS:-5}
out=$(realpath -m "${OUT:-.bench}")
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (containers need it)" >&2; exit 1; }

need=()
for pair in perf:linux-perf hyperfine:hyperfine bwrap:bubblewrap runc:runc crun:crun /usr/bin/time:time python3:python3 skopeo:skopeo podman:podman containerd:containerd; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

make -s build image >/dev/null
# Whatever the bench makes goes however it ends (a failed row stops it:
# set -e): the busy disk's file, the detached container, and the runtime
# directory if mydocker made it here.
rundir=${MYDOCKER_RUNTIME_DIR:-/run/mydocker}
rundir_was_there=; [ -e "$rundir" ] && rundir_was_there=1
cid= crowd=
regpid= regns= ctrdpid=
cleanup() {
  rm -f "$out/busy.bin"
  [ -n "$regpid" ] && { kill "$regpid"; wait "$regpid"; } 2>/dev/null || true
  [ -n "$regns" ] && ip netns del "$regns" 2>/dev/null || true
  [ -n "$cid$crowd" ] && "$md" --root "$root" rm -f $cid $crowd >/dev/null 2>&1
  [ -n "$ctrdpid" ] && { kill "$ctrdpid"; wait "$ctrdpid"; } 2>/dev/null
  if [ -z "$rundir_was_there" ]; then
    rm -f "$rundir/.lock"
    rmdir "$rundir/.names" "$rundir/.work" "$rundir" 2>/dev/null
  fi
  true
}
trap cleanup EXIT
rm -rf "$out" && mkdir -p "$out"
md=$PWD/mydocker
# The yardstick: a bare Go re-exec (scripts/barereexec), built as mydocker is.
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$out/barereexec" ./scripts/barereexec
bare="$out/barereexec /bin/true"
root=$out/root
"$md" --root "$root" import busybox.tar busybox >/dev/null
# busybox3: the same files as three layers (busybox and two commits of a
# container that changed nothing), to see what stacking layers costs.
layered() { # IMAGE NEW: a layer more, committed from a running container
  local id; id=$("$md" --root "$root" run -d "$1" sleep 100000)
  "$md" --root "$root" commit "$id" "$2" >/dev/null
  "$md" --root "$root" rm -f "$id" >/dev/null
}
layered busybox busybox2 && layered busybox2 busybox3
# An OCI bundle with the same rootfs, running /bin/true without a terminal.
mkdir -p "$out/bundle/rootfs"
tar -C "$out/bundle/rootfs" -xf busybox.tar
(cd "$out/bundle" && runc spec && sed -i -e 's/"terminal": true/"terminal": false/' -e 's|^\(\s*\)"sh"$|\1"/bin/true"|' config.json)

ns_unshare="unshare -fpmuin --mount-proc /bin/true"
ns_bwrap="bwrap --unshare-pid --unshare-uts --unshare-ipc --unshare-net --dev-bind / / --proc /proc /bin/true"
# hf OUT.json RUNS WARMUP [-N] hyperfine-arguments: RUNS runs of each
# command, in $rounds rounds, merged into OUT.json.
hf() {
  local json=$1 n=$2 warmup=$3; shift 3
  for k in $(seq "$rounds"); do
    hyperfine --warmup "$warmup" --style none --runs $(( (n + rounds - 1) / rounds )) \
      --export-json "$json.$k" "$@" >/dev/null
  done
  merge "$json"
}
# merge OUT.json: the rounds OUT.json.1, .2... as one hyperfine result.
merge() {
  python3 - "$1" "$rounds" <<'PY'
import json, statistics, sys
path, n = sys.argv[1], int(sys.argv[2])
times = {}
for k in range(1, n + 1):
    for r in json.load(open(f"{path}.{k}"))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
json.dump({"results": [{"command": c, "times": t, "median": statistics.median(t), "min": min(t), "max": max(t)}
                       for c, t in times.items()]}, open(path, "w"))
PY
  rm -f "$1".*
}

echo "bench: 1/9 host filesystem ($runs runs each)" >&2
hf "$out/host.json" "$runs" 4 -N \
  -n "mydocker run /bin/true" "$md run /bin/true" \
  -n "unshare -fpmuin --mount-proc" "$ns_unshare" \
  -n "bwrap (same namespaces)" "$ns_bwrap" \
  -n "bare Go re-exec (yardstick)" "$bare"

echo "bench: 2/9 image mode ($runs runs each)" >&2
# crun refuses this host's hybrid cgroup layout (v1 plus an empty cgroup2 at
# /sys/fs/cgroup/unified): all three run in a mount namespace of their own
# where that mount is gone, so they see the same host.
unshare -m --propagation private sh -c '
  umount /sys/fs/cgroup/unified 2>/dev/null || true
  for k in $(seq "$3"); do
    hyperfine -N --warmup 4 --style none --runs $(( ($0 + $3 - 1) / $3 )) --export-json "$1/image.json.$k" \
      -n "mydocker run busybox /bin/true" "$2 --root $1/root run busybox /bin/true" \
      -n "mydocker run busybox3 /bin/true (3 layers)" "$2 --root $1/root run busybox3 /bin/true" \
      -n "crun run (same rootfs)" "crun run -b $1/bundle bench-crun" \
      -n "runc run (same rootfs)" "runc run -b $1/bundle bench-runc" \
      -n "mydocker-runc run (same rootfs)" "$2-runc --root $1/runc-root run -b $1/bundle bench-md" || exit 1
  done' "$runs" "$out" "$md" "$rounds" >/dev/null
merge "$out/image.json"

echo "bench: 3/9 image mode on a busy disk (100 runs each)" >&2
# A container's layer is on the same disk as the writer's file. Without
# overlayfs's volatile option, each container's end would sync the whole
# file system, the writer's dirty pages included. Quiet and busy runs
# alternate in $rounds rounds, as the other rows do; crun runs beside
# mydocker, in the image rows' mount namespace (for the same reason).
unshare -m --propagation private sh -c '
  out=$1 md=$2 rounds=$3 writer=
  stop() { [ -n "$writer" ] && kill "$writer" 2>/dev/null; wait; writer=; rm -f "$out/busy.bin"; }
  trap stop EXIT
  umount /sys/fs/cgroup/unified 2>/dev/null || true
  for k in $(seq "$rounds"); do
    for disk in quiet busy; do
      if [ $disk = busy ]; then
        ( while :; do dd if=/dev/zero of="$out/busy.bin" bs=1M count=16 conv=notrunc status=none; sleep 0.1; done ) &
        writer=$!
      fi
      hyperfine -N --warmup 4 --style none --runs $(( (100 + rounds - 1) / rounds )) --export-json "$out/$disk.json.$k" \
        -n "mydocker run busybox /bin/true" "$md --root $out/root run busybox /bin/true" \
        -n "crun run (same rootfs)" "crun run -b $out/bundle bench-crun" || exit 1
      stop
    done
  done' sh "$out" "$md" "$rounds" >/dev/null
merge "$out/quiet.json"
merge "$out/busy.json"

echo "bench: 4/9 N at once" >&2
for n in 1 10 50 100; do
  r=$(( n >= 50 ? 20 : 50 ))
  many() { echo "sh -c 'for i in \$(seq $n); do $1 & done; wait'"; }
  hf "$out/many-$n.json" "$r" 1 \
    -n "mydocker x$n" "$(many "$md run /bin/true")" \
    -n "unshare x$n" "$(many "$ns_unshare")" \
    -n "bwrap x$n" "$(many "$ns_bwrap")" \
    -n "bare Go re-exec x$n" "$(many "$bare")" >/dev/null
done

echo "bench: 5/9 lifecycle: run -d + rm -f, exec" >&2
# exec into one running container, next to nsenter(1) entering the same
# namespaces (no cgroup, no confinement: the floor), and the foreground
# run for scale.
cid=$("$md" --root "$root" run -d busybox sleep 100000)
cpid=$("$md" --root "$root" ps | awk -v id="$cid" '$1 == id {print $(NF-1)}')
hf "$out/lifecycle.json" "$runs" 4 -N \
  -n "mydocker exec CONTAINER /bin/true" "$md --root $root exec $cid /bin/true" \
  -n "nsenter -t PID -a /bin/true" "nsenter -t $cpid -a /bin/true" \
  -n "mydocker run -d busybox true + rm -f" "sh -c 'exec $md --root $root rm -f \$($md --root $root run -d busybox true)'" \
  -n "mydocker run busybox true (foreground)" "$md --root $root run busybox true"
# The same beside 50 running containers: a command that names one reads
# its state alone, and a new container only tests the others' locks.
for i in $(seq 49); do crowd="$crowd $("$md" --root "$root" run -d busybox sleep 100000)"; done
hf "$out/crowd.json" "$runs" 4 -N \
  -n "mydocker exec CONTAINER /bin/true, 50 running" "$md --root $root exec $cid /bin/true" \
  -n "nsenter -t PID -a /bin/true, 50 running" "nsenter -t $cpid -a /bin/true" \
  -n "mydocker run busybox true (foreground), 50 running" "$md --root $root run busybox true"
"$md" --root "$root" rm -f $crowd "$cid" >/dev/null
cid= crowd=
# runc exec into a runc container of the same rootfs running sleep, in the
# image rows' mount namespace (for the same reason).
mkdir -p "$out/bundle-exec/rootfs"
tar -C "$out/bundle-exec/rootfs" -xf busybox.tar
(cd "$out/bundle-exec" && runc spec && sed -i -e 's/"terminal": true/"terminal": false/' -e 's|^\(\s*\)"sh"$|\1"sleep", "100000"|' config.json)
unshare -m --propagation private sh -c '
  umount /sys/fs/cgroup/unified 2>/dev/null || true
  runc run -d -b "$1/bundle-exec" bench-exec </dev/null >/dev/null 2>&1 || exit 1
  status=0
  for k in $(seq "$2"); do
    hyperfine -N --warmup 4 --style none --runs $(( ($0 + $2 - 1) / $2 )) --export-json "$1/runc-exec.json.$k" \
      -n "runc exec CONTAINER /bin/true" "runc exec bench-exec /bin/true" || { status=1; break; }
  done
  runc delete -f bench-exec >/dev/null 2>&1
  exit $status' "$runs" "$out" "$rounds" >/dev/null
merge "$out/runc-exec.json"

echo "bench: 6/9 load of a 5-layer, 100 MB archive (10 runs each)" >&2
# busybox and four layers of 25 MB each over it, saved; loaded into a store
# of its own that has none of it (each run removes the image first), next
# to tar -x of the same archive: the floor, since load hashes every layer
# and turns its whiteouts into overlayfs's while it unpacks.
big=busybox
for i in 1 2 3 4; do
  id=$("$md" --root "$root" run -d "$big" sh -c "head -c 25000000 /dev/urandom > /layer$i; sleep 100000")
  until "$md" --root "$root" exec "$id" sh -c "test \$(wc -c < /layer$i) = 25000000" 2>/dev/null; do sleep 0.1; done
  "$md" --root "$root" commit "$id" "big$i" >/dev/null
  "$md" --root "$root" rm -f "$id" >/dev/null
  big=big$i
done
"$md" --root "$root" save -o "$out/big.tar" big4
"$md" --root "$root" rmi big4 big3 big2 big1 >/dev/null
hf "$out/load.json" 10 1 \
  --prepare "$md --root $out/loadroot rmi big4 >/dev/null 2>&1; rm -rf $out/untar; mkdir -p $out/untar" \
  -n "mydocker load -i (5 layers, $(( $(stat -c %s "$out/big.tar") / 1000000 )) MB)" "$md --root $out/loadroot load -q -i $out/big.tar" \
  -n "tar -xf (the same archive)" "tar -xf $out/big.tar -C $out/untar"
rm -rf "$out/untar" "$out/loadroot"

echo "bench: 7/9 pull of the same image, gzip layers, from a registry on loopback (10 runs each)" >&2
# Debian's docker-registry (unpacked from its package into .cache/, as the
# tests do), in a network namespace of the bench's own; the image pushed
# into it by skopeo with gzip layers. mydocker pull (download, gunzip,
# hashing, unpacking) next to skopeo copy to an OCI layout (download
# only) and podman pull, and a second pull that finds every layer there.
reg=$PWD/.cache/docker-registry/usr/bin/docker-registry
if [ ! -x "$reg" ]; then
  (cd "$(mktemp -d)" && apt-get download -qq docker-registry >/dev/null && dpkg-deb -x docker-registry_*.deb "$PWD/unpacked" \
    && mkdir -p "$OLDPWD/.cache" && rm -rf "$OLDPWD/.cache/docker-registry" && mv unpacked "$OLDPWD/.cache/docker-registry")
fi
regns=mdbench-$$
ip netns add "$regns" && ip -n "$regns" link set lo up
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:5000\n' "$out/registry" > "$out/registry.yml"
ip netns exec "$regns" "$reg" serve "$out/registry.yml" >/dev/null 2>&1 & regpid=$!
until ip netns exec "$regns" bash -c 'echo > /dev/tcp/127.0.0.1/5000' 2>/dev/null; do sleep 0.1; done
in_ns="nsenter --net=/run/netns/$regns --"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$out/policy.json"
$in_ns skopeo --policy "$out/policy.json" copy -q --dest-tls-verify=false --dest-compress-format gzip \
  "docker-archive:$out/big.tar" docker://localhost:5000/bench/big:1 >/dev/null
rm -f "$out/big.tar"
# podman (Debian's 4.3) pulls into a store of the bench's own, in a mount
# namespace of its own (its overlay driver may mount), and unpacks as
# mydocker does.
podman="unshare -m --propagation private $in_ns podman --root $out/podman/storage --runroot $out/podman/run --storage-driver overlay --cgroup-manager cgroupfs --events-backend none"
hf "$out/pull.json" 10 1 \
  --prepare "$md --root $out/pullroot rmi localhost:5000/bench/big:1 >/dev/null 2>&1; rm -rf $out/layout $out/podman" \
  -n "mydocker pull (5 layers, gzip)" "$in_ns $md --root $out/pullroot pull -q localhost:5000/bench/big:1" \
  -n "skopeo copy docker://... oci:DIR (download only)" "$in_ns skopeo --policy $out/policy.json copy -q --src-tls-verify=false docker://localhost:5000/bench/big:1 oci:$out/layout:1" \
  -n "podman pull (download and unpack)" "$podman pull -q --tls-verify=false localhost:5000/bench/big:1"
$in_ns "$md" --root "$out/pullroot" pull -q localhost:5000/bench/big:1 >/dev/null
hf "$out/pull-again.json" 20 2 -N \
  -n "mydocker pull, every layer there" "$in_ns $md --root $out/pullroot pull -q localhost:5000/bench/big:1"
kill "$regpid"; wait "$regpid" 2>/dev/null || true; regpid=
ip netns del "$regns"; regns=
rm -rf "$out/pullroot" "$out/layout" "$out/registry" "$out/podman"

echo "bench: 8/9 what one run costs: CPU time, context switches, page faults (perf stat, 50 runs), and peak RSS" >&2
# cost NAME COMMAND...: perf's means over 50 runs (COST_RUNS), of the
# process and all it starts (the container's init and command included).
cost() {
  local name=$1; shift
  perf stat -x, -r "${COST_RUNS:-50}" -e task-clock,context-switches,page-faults -- "$@" 2>&1 >/dev/null |
    awk -F, -v n="$name" '$3=="task-clock"{c=$1} $3=="context-switches"{x=$1} $3=="page-faults"{f=$1} END{print n "|" c "|" x "|" f}'
}
cid=$("$md" --root "$root" run -d busybox sleep 100000)
{
  cost "mydocker run /bin/true" "$md" run /bin/true
  cost "unshare -fpmuin --mount-proc" $ns_unshare
  cost "bare Go re-exec (yardstick)" $bare
  cost "mydocker run busybox /bin/true" "$md" --root "$root" run busybox /bin/true
  cost "mydocker exec CONTAINER /bin/true" "$md" --root "$root" exec "$cid" /bin/true
  # 50 at once (row 4), 10 times: CPU for all 50 together.
  many50() { echo "for i in \$(seq 50); do $1 & done; wait"; }
  COST_RUNS=10 cost "mydocker x50" sh -c "$(many50 "$md run /bin/true")"
  COST_RUNS=10 cost "unshare x50" sh -c "$(many50 "$ns_unshare")"
  COST_RUNS=10 cost "bare Go re-exec x50" sh -c "$(many50 "$bare")"
  unshare -m --propagation private sh -c '
    umount /sys/fs/cgroup/unified 2>/dev/null
    '"$(declare -f cost)"'
    cost "crun run (same rootfs)" crun run -b "$0/bundle" bench-cost
    cost "mydocker-runc run (same rootfs)" "$1-runc" --root "$0/runc-root" run -b "$0/bundle" bench-cost' "$out" "$md"
} > "$out/counters.txt"
"$md" --root "$root" rm -f "$cid" >/dev/null
cid=

rss() { # median of 21 runs of GNU time's %M, in KiB
  for _ in $(seq 21); do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 11p
}
{
  echo "mydocker run /bin/true $(rss "$md" run /bin/true)"
  echo "unshare -fpmuin --mount-proc $(rss $ns_unshare)"
  echo "bwrap (same namespaces) $(rss $ns_bwrap)"
  echo "bare Go re-exec (yardstick) $(rss $bare)"
  echo "mydocker run busybox /bin/true $(rss "$md" --root "$root" run busybox /bin/true)"
  echo "crun run (same rootfs) $(unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; for i in $(seq 21); do /usr/bin/time -f %M crun run -b "$0/bundle" bench-rss 2>&1 >/dev/null | tail -1; done' "$out" | sort -n | sed -n 11p)"
} > "$out/rss.txt"

echo "bench: 9/9 containerd: ctr run through each runtime ($(( runs / 4 )) runs each)" >&2
# A containerd of the bench's own (root, state, socket in $out), in a mount
# namespace where crun accepts the host (as row 2); stopped by its PID.
printf '%s\n' 'version = 2' "root = \"$out/ctrd/root\"" "state = \"$out/ctrd/state\"" \
  'disabled_plugins = ["io.containerd.grpc.v1.cri"]' '[grpc]' "  address = \"$out/ctrd.sock\"" \
  '[ttrpc]' "  address = \"$out/ctrd.sock.ttrpc\"" > "$out/containerd.toml"
unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec containerd --config "$0"' "$out/containerd.toml" >"$out/containerd.log" 2>&1 &
ctrdpid=$!
for i in $(seq 100); do ctr -a "$out/ctrd.sock" version >/dev/null 2>&1 && break; sleep 0.1; done
"$md" --root "$root" save -o "$out/busybox-image.tar" busybox
ctr -a "$out/ctrd.sock" -n bench images import "$out/busybox-image.tar" >/dev/null
ctr_run() { echo "ctr -a $out/ctrd.sock -n bench run --rm --runc-binary $1 --runc-root $out/ctrd-$2 docker.io/library/busybox:latest bench-$2 /bin/true"; }
hf "$out/ctr.json" $(( runs / 4 )) 3 -N \
  -n "ctr run, crun" "$(ctr_run crun crun)" \
  -n "ctr run, runc" "$(ctr_run runc runc)" \
  -n "ctr run, mydocker-runc" "$(ctr_run "$md-runc" md)"
kill "$ctrdpid"; wait "$ctrdpid" 2>/dev/null || true
ctrdpid=

python3 - "$out" <<'PY' | tee "$out/table.md"
import json, sys
out = sys.argv[1]
rss = {}
for line in open(f"{out}/rss.txt"):
    name, _, kib = line.rstrip().rpartition(" ")
    rss[name] = kib
cost = {}
for line in open(f"{out}/counters.txt"):
    name, cpu, ctx, faults = line.rstrip("\n").split("|")
    cost[name] = f"{float(cpu):.2f} | {float(ctx):.0f} | {float(faults):.0f}"

def rows(path, base):
    res = json.load(open(path))["results"]
    ref = next(r["median"] for r in res if r["command"].startswith(base))
    for r in res:
        name = r["command"]
        mem = rss.get(name, "")
        mem = f"{int(mem)/1024:.1f} MiB" if mem else ""
        c = cost.get(name, " |  | ")
        print(f"| {name} | {r['median']*1e3:.2f} | {r['min']*1e3:.2f} | {r['max']*1e3:.2f} | {r['median']/ref:.2f}x | {mem} | {c} |")
print("| command | median ms | min ms | max ms | ratio | peak RSS | CPU ms | ctx switches | page faults |")
print("|---|---|---|---|---|---|---|---|---|")
rows(f"{out}/host.json", "unshare")
rows(f"{out}/image.json", "crun")
rows(f"{out}/lifecycle.json", "nsenter")
rows(f"{out}/crowd.json", "nsenter")
nsenter = next(r["median"] for r in json.load(open(f"{out}/lifecycle.json"))["results"] if r["command"].startswith("nsenter"))
for r in json.load(open(f"{out}/runc-exec.json"))["results"]:
    print(f"| {r['command']} | {r['median']*1e3:.2f} | {r['min']*1e3:.2f} | {r['max']*1e3:.2f} | {r['median']/nsenter:.2f}x |  |  |  |  |")
for n in (1, 10, 50, 100):
    rows(f"{out}/many-{n}.json", "unshare")
rows(f"{out}/load.json", "tar")
rows(f"{out}/pull.json", "skopeo")
rows(f"{out}/ctr.json", "ctr run, crun")
for r in json.load(open(f"{out}/pull-again.json"))["results"]:
    print(f"| {r['command']} | {r['median']*1e3:.2f} | {r['min']*1e3:.2f} | {r['max']*1e3:.2f} |  |  |  |  |  |")
print()
print("ratio: to unshare (host filesystem and N-at-once rows), to crun (image rows), to nsenter (lifecycle rows), to tar (load), to skopeo (pull), to crun (ctr rows).")
print("CPU ms, ctx switches, page faults: per run, of the whole process tree (perf stat -r 50), where measured.")
print()
# The start-up goals (docs/performance.md), as ratios of this run.
def med(path, prefix):
    return next(r["median"] for r in json.load(open(path))["results"] if r["command"].startswith(prefix))
def cpu(name):
    return float(cost[name].split("|")[0])
print("| goal | ratio |")
print("|---|---|")
print(f"| host files: mydocker / bare Go re-exec (wall) | {med(f'{out}/host.json', 'mydocker')/med(f'{out}/host.json', 'bare'):.2f}x |")
print(f"| image: mydocker / crun (wall) | {med(f'{out}/image.json', 'mydocker run busybox ')/med(f'{out}/image.json', 'crun'):.2f}x |")
print(f"| exec: mydocker / nsenter -a (wall) | {med(f'{out}/lifecycle.json', 'mydocker exec')/med(f'{out}/lifecycle.json', 'nsenter'):.2f}x |")
print(f"| 50 at once: mydocker / bare Go re-exec (CPU) | {cpu('mydocker x50')/cpu('bare Go re-exec x50'):.2f}x |")
print(f"| exec beside 50 running / beside 1 (wall) | {med(f'{out}/crowd.json', 'mydocker exec')/med(f'{out}/lifecycle.json', 'mydocker exec'):.2f}x |")
print(f"| foreground run beside 50 running / beside 1 (wall) | {med(f'{out}/crowd.json', 'mydocker run')/med(f'{out}/lifecycle.json', 'mydocker run busybox true (fore'):.2f}x |")
print()
def pct(times, p):
    times = sorted(times)
    return times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))]
quiet = {r["command"]: r for r in json.load(open(f"{out}/quiet.json"))["results"]}
busy = {r["command"]: r for r in json.load(open(f"{out}/busy.json"))["results"]}
print("| 100 runs each | median ms | p95 ms | max ms | p95 / quiet median |")
print("|---|---|---|---|---|")
for command in quiet:
    ref = quiet[command]["median"]
    for disk, r in (("quiet disk", quiet[command]), ("busy disk (16 MB written every 100 ms)", busy[command])):
        print(f"| {command}, {disk} | {r['median']*1e3:.2f} | {pct(r['times'], 95)*1e3:.2f} | {max(r['times'])*1e3:.2f} | {pct(r['times'], 95)/ref:.2f}x |")
PY
echo "bench: results in $out (table.md, *.json)" >&2
