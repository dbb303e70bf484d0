# appliance.sh: boot the default appliance in QEMU for a host-side test,
# sourced by tools/powercut.sh and tools/crashstates.sh. The caller sets
# QEMU, ISO, DIR, PORT (the host port forwarded to the guest's Redis
# 6379) and BOOT_S (how long kv may take to come up); qpid is the running
# QEMU's pid.

# appliance_boot NAME DRIVE-ARGS...: start it with kv's disk given by
# DRIVE-ARGS; COM1 in DIR/com1-NAME.log, COM2 (events) in DIR/com2-NAME.log.
appliance_boot() {
	local name=$1
	shift
	"$QEMU" -accel tcg -m 256M -display none -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:6379" -device virtio-net-pci,netdev=n0 \
		"$@" -serial "file:$DIR/com1-$name.log" -serial "file:$DIR/com2-$name.log" \
		-cdrom "$ISO" </dev/null >"$DIR/qemu-$name.log" 2>&1 &
	qpid=$!
}

# appliance_wait_kv NAME: until kv has read its disk back and listens (0),
# or QEMU ended or BOOT_S passed (1).
appliance_wait_kv() {
	local t=0
	while [ $t -lt $((BOOT_S * 10)) ]; do
		if grep -q '"ev":"kv_disk"' "$DIR/com2-$1.log" 2>/dev/null &&
			grep -q '"ev":"kv_listen"' "$DIR/com2-$1.log"; then
			return 0
		fi
		kill -0 "$qpid" 2>/dev/null || return 1
		sleep 0.1
		t=$((t + 1))
	done
	return 1
}
