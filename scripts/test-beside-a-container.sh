#!/usr/bin/env bash
# The suite beside containers of the host's own: a detached container in
# the default runtime directory (/run/mydocker), as a user's would be, and
# an OCI container in mydocker-runc's (/run/mydocker-runc), then the part of
# the suite that lists, stops, removes and cleans containers.
# Both must hold: the tests pass, and the container still runs, untouched.
# As root (CI=true makes a non-root run a failure). Run from the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    if [ "${CI:-}" = true ]; then echo "test-beside-a-container: CI=true but not root" >&2; exit 1; fi
    echo "test-beside-a-container: skipped: needs root (sudo)"; exit 0
fi
[ -x ./mydocker ] || make build
root=$(mktemp -d /tmp/mydocker-beside.XXXXXX)
id=""
oci=""
cleanup() {
    [ -n "$id" ] && env -u MYDOCKER_RUNTIME_DIR ./mydocker --root "$root" rm -f "$id" >/dev/null 2>&1 || true
    [ -n "$oci" ] && ./mydocker-runc delete --force "$oci" >/dev/null 2>&1 || true
    rm -rf "$root"
    # The runtime directory goes too if this script made it (only if empty).
    if [ "$made_run_dir" = 1 ]; then
        rm -f /run/mydocker/.lock; rmdir /run/mydocker/.names /run/mydocker/.work /run/mydocker 2>/dev/null || true
    fi
    if [ "$made_oci_dir" = 1 ]; then
        rm -f /run/mydocker-runc/cgroup-parents; rmdir /run/mydocker-runc 2>/dev/null || true
    fi
}
made_run_dir=0; [ -d /run/mydocker ] || made_run_dir=1
made_oci_dir=0; [ -d /run/mydocker-runc ] || made_oci_dir=1
trap cleanup EXIT
id=$(env -u MYDOCKER_RUNTIME_DIR ./mydocker --root "$root" run -d --name users-own /bin/sleep 100000)
state_before=$(ls -l --time-style=+%s.%N "/run/mydocker/$id")
echo "the host's container: $id"
# An OCI bundle of busybox's one static binary (Debian's busybox-static,
# installed when missing), running sleep.
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
fi
mkdir -p "$root/bundle/rootfs/bin" "$root/bundle/rootfs/proc" "$root/bundle/rootfs/dev"
cp "$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')" "$root/bundle/rootfs/bin/busybox"
cat > "$root/bundle/config.json" <<'JSON'
{"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": true},
 "process": {"args": ["/bin/busybox", "sleep", "100000"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}]}}
JSON
oci=users-own-oci-$$
./mydocker-runc run -d --bundle "$root/bundle" "$oci" </dev/null >/dev/null 2>&1
oci_before=$(ls -l --time-style=+%s.%N "/run/mydocker-runc/$oci/state.json")
echo "the host's OCI container: $oci"

go test -count=1 -run 'TestPs|TestImageRootIsTheImage|TestImagesAndRmi|TestRmiWhileContainersStart|TestStopKillRm|TestContainerNames|TestCgroupStale|TestKilledMydocker|TestKilledMonitor|TestTwentyDetached|TestDefaultRuntimeDir|TestRunDetached|TestOCILifecycle|TestOCISigkill|TestOCIBadInput|TestContainerd' ./tests/e2e/

status=$(env -u MYDOCKER_RUNTIME_DIR ./mydocker --root "$root" ps --all | awk -v id="$id" '$1 == id')
case "$status" in
*" Up "*) ;;
*) echo "test-beside-a-container: the host's container $id is no longer running after the suite: '$status'" >&2; exit 1 ;;
esac
if [ "$(ls -l --time-style=+%s.%N "/run/mydocker/$id")" != "$state_before" ]; then
    echo "test-beside-a-container: the suite touched the host's container's state file /run/mydocker/$id" >&2; exit 1
fi
if ! ./mydocker-runc state "$oci" | grep -q '"status": "running"'; then
    echo "test-beside-a-container: the host's OCI container $oci is no longer running after the suite" >&2; exit 1
fi
if [ "$(ls -l --time-style=+%s.%N "/run/mydocker-runc/$oci/state.json")" != "$oci_before" ]; then
    echo "test-beside-a-container: the suite touched the host's OCI container's state" >&2; exit 1
fi
echo "test-beside-a-container: the suite passed beside running containers of the host's, untouched"
