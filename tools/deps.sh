#!/bin/sh
# Make sure the Debian packages the build and its tests need are installed
# (redis-tools: redis-cli and redis-benchmark, the clients of the Redis boot
# tests; the build never needs a redis-server), and that
# lz4's source (for the kernel's freestanding decompressor) is unpacked in
# build/deps/lz4. As root this installs what is missing; otherwise it prints
# the exact command to run and fails.
#
# usage: tools/deps.sh BUILD_DIR
set -eu
BUILD=${1:-build}
PKGS="nasm gcc binutils make qemu-system-x86 grub-pc-bin grub-efi-amd64-bin grub-common
xorriso mtools ovmf libcmocka-dev liblz4-dev clang-format dpkg-dev clang-14 libclang-rt-14-dev
redis-tools"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	else
		echo "deps: run this as root, then retry:" >&2
		echo "  sudo $*" >&2
		exit 1
	fi
}

if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	as_root apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
fi

# lz4 source: Debian's source package, via apt-get source. That needs deb-src
# entries; if the machine has none, add them mirroring its deb entries.
if [ ! -f "$BUILD/deps/lz4/lib/lz4.c" ]; then
	if ! grep -rqs '^\(Types:.*deb-src\|deb-src \)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		src=/etc/apt/sources.list.d/vesta-deb-src.sources
		if [ -f /etc/apt/sources.list.d/debian.sources ]; then
			as_root sh -c "sed 's/^Types: deb\$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > $src"
		else
			as_root sh -c "grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > ${src%.sources}.list"
		fi
		as_root apt-get update -q
	fi
	rm -rf "$BUILD/deps/lz4-src"
	mkdir -p "$BUILD/deps/lz4-src"
	(cd "$BUILD/deps/lz4-src" && apt-get source -q lz4 >/dev/null 2>&1 ||
		{ echo "deps: 'apt-get source lz4' failed" >&2; exit 1; })
	dir=$(find "$BUILD/deps/lz4-src" -mindepth 1 -maxdepth 1 -type d -name 'lz4-*' | head -1)
	[ -f "$dir/lib/lz4.c" ] || { echo "deps: lz4 source has no lib/lz4.c" >&2; exit 1; }
	rm -rf "$BUILD/deps/lz4"
	mv "$dir" "$BUILD/deps/lz4"
	rm -rf "$BUILD/deps/lz4-src"
	echo "deps: lz4 source unpacked in $BUILD/deps/lz4"
fi

# lwIP source (for svc/net, the TCP/IP service, compiled freestanding):
# Debian's source package, the same way as lz4 (the deb-src entries are
# there by now if lz4 needed them; this adds them otherwise).
if [ ! -f "$BUILD/deps/lwip/src/core/tcp.c" ]; then
	if ! grep -rqs '^\(Types:.*deb-src\|deb-src \)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		echo "deps: no deb-src entries for 'apt-get source lwip'; remove $BUILD/deps/lz4 and retry" >&2
		exit 1
	fi
	rm -rf "$BUILD/deps/lwip-src"
	mkdir -p "$BUILD/deps/lwip-src"
	(cd "$BUILD/deps/lwip-src" && apt-get source -q lwip >/dev/null 2>&1 ||
		{ echo "deps: 'apt-get source lwip' failed" >&2; exit 1; })
	dir=$(find "$BUILD/deps/lwip-src" -mindepth 1 -maxdepth 1 -type d -name 'lwip-*' | head -1)
	[ -f "$dir/src/core/tcp.c" ] || { echo "deps: lwip source has no src/core/tcp.c" >&2; exit 1; }
	rm -rf "$BUILD/deps/lwip"
	mv "$dir" "$BUILD/deps/lwip"
	rm -rf "$BUILD/deps/lwip-src"
	echo "deps: lwip source unpacked in $BUILD/deps/lwip"
fi
