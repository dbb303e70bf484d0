#!/bin/bash
# powercut: cut the power of a Vesta appliance (SIGKILL its QEMU) at random
# moments of a checked write load, over and over on the same disk image,
# and check that no write kv acknowledged is ever lost and nothing it did
# not acknowledge is half there (issue 15).
#
# One tools/respcheck runs through all the cuts: its connections keep a
# model of what each one was told (INCR counters, SET/GET registers with
# unique values, RPUSH/LPOP lists), a request in flight at a cut is
# ambiguous (either outcome is right, and only those), and every reply
# after a reboot is checked against what was acknowledged before. kv must
# come back on its own from the disk every time with the same dataset
# (INFO run_id): respcheck may excuse nothing. At the end the machine
# boots once more and respcheck reads every key back.
#
# usage: tools/powercut.sh [--cuts N] [--seed S] [--dir DIR] [--iso ISO]
#                          [--conns C] [--min-ms A] [--max-ms B]
#   N cuts (default 10), each after A..B ms (default 300..4000, seeded by
#   S) of load counted from kv's first answer of the boot. DIR (default
#   build/powercut) keeps disk.img, each boot's com1/com2 logs and
#   respcheck's log; the last line of DIR/summary.json is the verdict.
# Exit 0 if every boot brought kv back with its disk whole and respcheck
# passed with nothing lost, wrong, excused or timed out; 1 if not.
set -u
CUTS=10 SEED=1 DIR=build/powercut ISO=build/vesta.iso CONNS=8 MIN_MS=300 MAX_MS=4000
BOOT_S=${POWERCUT_BOOT_S:-180} # a boot must bring kv to its disk within this
RESPCHECK=${RESPCHECK:-build/tools/respcheck}
QEMU=${VESTA_QEMU:-qemu-system-x86_64}
while [ $# -gt 0 ]; do
	case $1 in
	--cuts) CUTS=$2 ;;
	--seed) SEED=$2 ;;
	--dir) DIR=$2 ;;
	--iso) ISO=$2 ;;
	--conns) CONNS=$2 ;;
	--min-ms) MIN_MS=$2 ;;
	--max-ms) MAX_MS=$2 ;;
	*) echo "usage: powercut.sh [--cuts N] [--seed S] [--dir DIR] [--iso ISO] [--conns C] [--min-ms A] [--max-ms B]" >&2; exit 2 ;;
	esac
	shift 2
done
mkdir -p "$DIR" && rm -f "$DIR"/com2-*.log "$DIR"/com1-*.log "$DIR"/qemu-*.log "$DIR/summary.json"
DISK=$DIR/disk.img
rm -f "$DISK" && truncate -s 64M "$DISK" || exit 1
RANDOM=$SEED
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
qpid= rpid=
. "$(dirname "$0")/appliance.sh"

say() { echo "powercut: $*"; }

cleanup() {
	[ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null
	[ -n "$rpid" ] && kill -9 "$rpid" 2>/dev/null
}
trap cleanup EXIT

fails=0 cuts=0
"$RESPCHECK" --port "$PORT" --conns "$CONNS" --seconds 9000000 --timeout-ms 600000 \
	--drain-ms 120000 --log "$DIR/respcheck.log" >"$DIR/respcheck.out" 2>&1 &
rpid=$!
for i in $(seq 0 "$CUTS"); do
	appliance_boot "$i" -drive "file=$DISK,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0
	if ! appliance_wait_kv "$i"; then
		say "boot $i: kv did not come up with its disk within ${BOOT_S}s (see $DIR/com2-$i.log)"
		fails=$((fails + 1))
		break
	fi
	disk=$(grep -m1 '"ev":"kv_disk"' "$DIR/com2-$i.log")
	case $disk in
	*'"state":"ok"'*) ;;
	*) say "boot $i: kv's disk is not ok: $disk"; fails=$((fails + 1)); break ;;
	esac
	[ "$i" = "$CUTS" ] && break
	ms=$((MIN_MS + (RANDOM * 32768 + RANDOM) % (MAX_MS - MIN_MS + 1)))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 "$qpid"
	wait "$qpid" 2>/dev/null
	qpid=
	cuts=$((cuts + 1))
	say "cut $cuts after ${ms} ms of load: $disk"
done
# The last boot: let respcheck read everything back, then stop.
if [ $fails = 0 ]; then
	sleep 2
fi
kill -TERM "$rpid" 2>/dev/null
wait "$rpid"
rc=$?
rpid=
kill -9 "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
qpid=
verdict=$(grep '"respcheck"' "$DIR/respcheck.out" | tail -1)
say "respcheck: $verdict"
case $verdict in
*'"respcheck":"PASS"'*'"state_resets":0,"excused":0,'*) ;;
*) fails=$((fails + 1)) ;;
esac
[ $rc = 0 ] || fails=$((fails + 1))
printf '{"powercut":"%s","cuts":%d,"asked":%d,"seed":%s,"respcheck":%s}\n' \
	"$([ $fails = 0 ] && echo PASS || echo FAIL)" "$cuts" "$CUTS" "$SEED" "${verdict:-null}" |
	tee "$DIR/summary.json"
[ $fails = 0 ]
