#!/usr/bin/env bash
# The suite beside a container of the host's own: a detached container in
# the default runtime directory (/run/mydocker), as a user's would be, then
# the part of the suite that lists, stops, removes and cleans containers.
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
cleanup() {
    [ -n "$id" ] && env -u MYDOCKER_RUNTIME_DIR ./mydocker --root "$root" rm -f "$id" >/dev/null 2>&1 || true
    rm -rf "$root"
    # The runtime directory goes too if this script made it (only if empty).
    if [ "$made_run_dir" = 1 ]; then
        rm -f /run/mydocker/.lock; rmdir /run/mydocker/.names /run/mydocker/.work /run/mydocker 2>/dev/null || true
    fi
}
made_run_dir=0; [ -d /run/mydocker ] || made_run_dir=1
trap cleanup EXIT
id=$(env -u MYDOCKER_RUNTIME_DIR ./mydocker --root "$root" run -d --name users-own /bin/sleep 100000)
state_before=$(ls -l --time-style=+%s.%N "/run/mydocker/$id")
echo "the host's container: $id"

go test -count=1 -run 'TestPs|TestImageRootIsTheImage|TestImagesAndRmi|TestRmiWhileContainersStart|TestStopKillRm|TestContainerNames|TestCgroupStale|TestKilledMydocker|TestKilledMonitor|TestTwentyDetached|TestDefaultRuntimeDir|TestRunDetached' ./tests/e2e/

status=$(env -u MYDOCKER_RUNTIME_DIR ./mydocker --root "$root" ps --all | awk -v id="$id" '$1 == id')
case "$status" in
*" Up "*) ;;
*) echo "test-beside-a-container: the host's container $id is no longer running after the suite: '$status'" >&2; exit 1 ;;
esac
if [ "$(ls -l --time-style=+%s.%N "/run/mydocker/$id")" != "$state_before" ]; then
    echo "test-beside-a-container: the suite touched the host's container's state file /run/mydocker/$id" >&2; exit 1
fi
echo "test-beside-a-container: the suite passed beside a running container of the host's, untouched"
