#!/usr/bin/env bash
# Replays the book's chapter 3.1 session: a shell that is PID 1, ps that
# sees only the container, then ls on the host's files (no chroot yet).
set -eu
cd "$(dirname "$0")/.."
[ -x ./mydocker ] || make build
echo '$ ./mydocker --log-level info run -ti /bin/sh -c "ps -ef"'
./mydocker --log-level info run -ti /bin/sh -c 'ps -ef'
echo
echo '$ ./mydocker --log-level info run -ti /bin/ls'
./mydocker --log-level info run -ti /bin/ls
