#!/bin/sh
# Install every Debian 12 package that building and testing gatewayctl needs.
# Quiet and quick when all are present already.
set -eu
PKGS="build-essential pkg-config libmnl-dev libnftnl-dev libiniparser-dev libcmocka-dev libc-ares-dev dnsmasq-base
      clang libclang-rt-14-dev cppcheck
      iproute2 nftables net-tools iputils-ping socat tcpdump strace python3 procps psmisc
      qemu-system-x86 linux-image-amd64 busybox-static kmod cpio gzip xz-utils
      systemd libcap2-bin groff-base util-linux valgrind
      libssl-dev openssl strongswan-charon strongswan-swanctl strongswan-pki libstrongswan-standard-plugins
      debhelper devscripts lintian prometheus bash-completion man-db
      libcharon-extra-plugins iperf3 wireguard-tools ansible-core"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "make deps: missing packages:$missing" >&2
	echo "make deps: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "make deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
