#!/bin/sh
# Pack the initramfs of the Linux guest that `make bench-redis` boots: our
# /init (tools/linuxredis.c), Debian's redis-server with the shared libraries
# ldd finds for it (at the paths ldd names), and the virtio-net modules of
# the kernel tools/linuxguest.sh fetched into DIR (Debian builds virtio,
# virtio_pci and virtio_net as modules), taken out of the cached kernel
# package. Writes DIR/redis-initramfs.cpio; on failure writes the reason
# to DIR/redis-missing and exits 1.
#
# redis-server: Debian's redis-server package makes /usr/bin/redis-server a
# symlink to /usr/bin/redis-check-rdb of redis-tools (one executable that
# acts by its name), which tools/deps.sh installs; that executable is taken,
# as /usr/bin/redis-server. REDIS_SERVER=path overrides it.
#
# usage: tools/linuxredis.sh DIR INIT MKINITRAMFS
set -u
DIR=${1:?usage: tools/linuxredis.sh DIR INIT MKINITRAMFS}
INIT=${2:?usage}
MKINITRAMFS=${3:?usage}
OUT=$DIR/redis-initramfs.cpio
rm -f "$DIR/redis-missing"

fail() {
	echo "$*" >"$DIR/redis-missing"
	echo "linuxredis: $*" >&2
	exit 1
}

# The modules that give a Debian kernel its virtio-net NIC (the init loads
# them in whatever order works).
MODULES="drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko
drivers/virtio/virtio_pci.ko drivers/virtio/virtio_pci_legacy_dev.ko
drivers/virtio/virtio_pci_modern_dev.ko net/core/failover.ko
drivers/net/net_failover.ko drivers/net/virtio_net.ko"

ver=$(cat "$DIR/kernel-version" 2>/dev/null) || fail "no kernel in $DIR (tools/linuxguest.sh fetches it)"
deb=$(ls "$DIR/linux-image-${ver}"_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "the kernel package of $ver is not cached in $DIR"

server=${REDIS_SERVER:-$(readlink -f /usr/bin/redis-check-rdb 2>/dev/null)}
[ -x "$server" ] || fail "no redis-server executable (/usr/bin/redis-check-rdb: apt-get install redis-tools)"

# The kernel's own config says whether virtio-net is a module at all.
cfg=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO "./boot/config-$ver" 2>/dev/null)
echo "$cfg" | grep -q '^CONFIG_VIRTIO_NET=[ym]$' || fail "kernel $ver has no virtio-net driver"

moddir=$DIR/redis-modules
rm -rf "$moddir" && mkdir -p "$moddir"
if echo "$cfg" | grep -q '^CONFIG_VIRTIO_NET=m$'; then
	paths=""
	for m in $MODULES; do
		paths="$paths ./lib/modules/$ver/kernel/$m"
	done
	# shellcheck disable=SC2086 # one argument per module path
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$moddir" $paths ||
		fail "cannot take the virtio-net modules out of $deb"
fi

set -- "/usr/bin/redis-server=$server"
for m in $(find "$moddir" -name '*.ko' | sort); do
	set -- "$@" "/lib/modules/$(basename "$m")=$m"
done
# ldd's lines: "libx.so.1 => /lib/.../libx.so.1 (0x..)" and the loader's
# "/lib64/ld-linux-x86-64.so.2 (0x..)"; each at the path the binary asks for.
libs=$(ldd "$server" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
ldd "$server" | grep -q 'not found' && fail "ldd $server: $(ldd "$server" | grep 'not found' | head -n 1)"
for l in $libs; do
	set -- "$@" "$l=$(readlink -f "$l")"
done
"$MKINITRAMFS" "$OUT.tmp" "$INIT" "$@" || fail "mkinitramfs failed"
mv "$OUT.tmp" "$OUT"
echo "linuxredis: $OUT: redis-server $(dpkg-query -W -f='${Version}' redis-tools 2>/dev/null)," \
	"$(echo "$libs" | wc -w) libraries, $(($# - 1 - $(echo "$libs" | wc -w))) modules"
exit 0
