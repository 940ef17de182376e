#!/bin/bash
# tests/kernel/rtnl.sh - the rtnetlink unit tests (build/test/test_rtnl) on a kernel
# with ipip, sit and ip6tnl, so that their tunnel cases run too (on this host's
# kernel they skip; here a missing sit or ip6tnl is a failure).
#   tests/vm/run -- tests/kernel/rtnl.sh
set -eu
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "SKIP - rtnl: needs root"; exit 77; }
[ -x build/test/test_rtnl ] || { echo "SKIP - rtnl: make test-build first"; exit 77; }
export GATEWAYCTL_REQUIRE_TUN=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=99}
exec build/test/test_rtnl
