#!/bin/bash
# tests/kernel/rtnl.sh - the rtnetlink unit tests (build/test/test_rtnl) on a kernel
# with ipip, so that their ipip cases run too (on this host's kernel they skip).
#   tests/vm/run -- tests/kernel/rtnl.sh
set -eu
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "SKIP - rtnl: needs root"; exit 77; }
[ -x build/test/test_rtnl ] || { echo "SKIP - rtnl: make test-build first"; exit 77; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=99}
exec build/test/test_rtnl
