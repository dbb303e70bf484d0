#!/bin/sh
# Make sure the Debian packages the build and its tests need are installed
# (redis-tools: redis-cli and redis-benchmark, the clients of the Redis boot
# tests; the build never needs a redis-server), and that the sources built
# freestanding are unpacked in BUILD/deps: lz4 (the kernel's decompressor)
# and lwip (svc/net). As root this installs what is missing; otherwise it
# prints the exact command to run and fails.
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

# Make sure apt has deb-src entries (apt-get source needs them): if the
# machine has none, add them mirroring its deb entries.
deb_src() {
	grep -rqs '^\(Types:.*deb-src\|deb-src \)' /etc/apt/sources.list /etc/apt/sources.list.d/ &&
		return 0
	src=/etc/apt/sources.list.d/vesta-deb-src.sources
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		as_root sh -c "sed 's/^Types: deb\$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > $src"
	else
		as_root sh -c "grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > ${src%.sources}.list"
	fi
	as_root apt-get update -q
}

# Unpack Debian's source package PKG in $BUILD/deps/PKG (apt-get source),
# unless it is there already, as FILE (a path inside it) shows.
unpack_source() {
	pkg=$1 file=$2
	[ -f "$BUILD/deps/$pkg/$file" ] && return 0
	deb_src
	rm -rf "$BUILD/deps/$pkg-src"
	mkdir -p "$BUILD/deps/$pkg-src"
	(cd "$BUILD/deps/$pkg-src" && apt-get source -q "$pkg" >/dev/null 2>&1) ||
		{ echo "deps: 'apt-get source $pkg' failed" >&2; exit 1; }
	dir=$(find "$BUILD/deps/$pkg-src" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" | head -1)
	[ -f "$dir/$file" ] || { echo "deps: $pkg source has no $file" >&2; exit 1; }
	rm -rf "$BUILD/deps/$pkg"
	mv "$dir" "$BUILD/deps/$pkg"
	rm -rf "$BUILD/deps/$pkg-src"
	echo "deps: $pkg source unpacked in $BUILD/deps/$pkg"
}

# lz4 for the kernel's freestanding decompressor; lwIP for svc/net, the
# TCP/IP service, compiled freestanding too.
unpack_source lz4 lib/lz4.c
unpack_source lwip src/core/tcp.c
