#!/bin/sh
# Fetch the Linux kernel that `make bench` boots for its comparison: the
# current Debian 12 kernel package (what linux-image-amd64 depends on),
# downloaded with apt-get into DIR and cached there, and its vmlinuz taken
# out (dpkg-deb) as DIR/vmlinuz, with its version in DIR/kernel-version. A second run
# finds the package cached and downloads nothing. On failure it writes the
# reason to DIR/missing (tools/bench.c prints it and still reports Vesta's
# figures) and exits 1.
#
# usage: tools/linuxguest.sh DIR
set -u
DIR=${1:?usage: tools/linuxguest.sh DIR}
mkdir -p "$DIR"
rm -f "$DIR/missing"

fail() {
	echo "$*" >"$DIR/missing"
	echo "linuxguest: $*" >&2
	exit 1
}

# The versioned package, e.g. linux-image-6.1.0-57-amd64; offline, apt's
# local lists still answer, and failing that the newest cached package is used.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
if [ -n "$pkg" ]; then
	deb=$(ls "$DIR/${pkg}"_*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		echo "linuxguest: downloading $pkg"
		# As root, apt's _apt user cannot write here: let root fetch.
		sandbox=""
		[ "$(id -u)" = 0 ] && sandbox="-o APT::Sandbox::User=root"
		(cd "$DIR" && apt-get download -q $sandbox "$pkg" >download.log 2>&1) ||
			fail "apt-get download $pkg failed (see $DIR/download.log)"
		deb=$(ls "$DIR/${pkg}"_*.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] || fail "apt-get download $pkg left no .deb in $DIR"
		# Only the newest package is kept.
		for old in "$DIR"/linux-image-*.deb; do
			[ "$old" = "$deb" ] || rm -f "$old"
		done
	fi
else
	deb=$(ls -t "$DIR"/linux-image-*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || fail "apt-cache knows no linux-image-amd64 and no kernel package is cached"
fi

# The package's own name for its kernel: boot/vmlinuz-VERSION.
ver=$(basename "$deb" | sed 's/^linux-image-\([^_]*\)_.*/\1/')
if [ ! -s "$DIR/vmlinuz" ] || [ "$(cat "$DIR/kernel-version" 2>/dev/null)" != "$ver" ] ||
	[ "$deb" -nt "$DIR/vmlinuz" ]; then
	# Only the kernel image is taken out, not the package's 400 MB of modules.
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./boot/vmlinuz-$ver" >"$DIR/vmlinuz.tmp" &&
		[ -s "$DIR/vmlinuz.tmp" ] || fail "cannot take boot/vmlinuz-$ver out of $deb"
	mv "$DIR/vmlinuz.tmp" "$DIR/vmlinuz"
	echo "$ver" >"$DIR/kernel-version"
fi
exit 0
