#!/bin/sh
# netdiscard: the host side of netdiscard.scn, where the guest's TCP/IP
# service `net` crashes early enough times that the supervisor discards
# its stash, and with it every TCP connection it held. Through
# tools/tcprelay (QEMU's forwarded port listens with a backlog of 1) it
# runs respcheck with 8 busy connections and 4 idle ones (--idle: one
# PING, then only waiting) until the guest's shell has taken TEXT (typed
# once the stash is discarded); respcheck then waits its drain (10 s) for
# the replies still due. The busy connections must be *reset* (resets >
# 0) and none may be left waiting on a half-open one (timeouts = 0;
# respcheck exits 0, its read-back on a fresh connection agreeing); every
# idle one must have been ended too; and redis-cli PING must answer PONG
# afterwards.
# Prints what respcheck said; exit 0 if all held, 1 if not, 2 bad usage.
#
# usage: tools/netdiscard.sh PORT TEXT   (VESTA_BOOT_DIR: the boot's folder)
# environment: TCPRELAY, RESPCHECK (their paths).
set -u
PORT=${1:-} TEXT=${2:-}
DIR=${VESTA_BOOT_DIR:-}
[ -n "$PORT" ] && [ -n "$TEXT" ] && [ -n "$DIR" ] ||
	{ echo "usage: tools/netdiscard.sh PORT TEXT (with VESTA_BOOT_DIR)" >&2; exit 2; }
TCPRELAY=${TCPRELAY:-build/tools/tcprelay}
. "$(dirname "$0")/relay.sh" # wait_pong, relay_start, relay_stop
RESPCHECK=${RESPCHECK:-build/tools/respcheck}
fails=0

fail() { echo "netdiscard: FAIL: $*"; fails=$((fails + 1)); }

wait_pong "$PORT" 120 || { fail "no PONG within 120 s"; exit 1; }
relay_start "$PORT"
trap relay_stop EXIT
[ -n "$BPORT" ] || { fail "$TCPRELAY did not start"; exit 1; }

rc_out=$(mktemp)
"$RESPCHECK" --host 127.0.0.1 --port "$BPORT" --conns 8 --idle 4 --until-event "$TEXT" \
	--dir "$DIR" --max-seconds 300 --log "$DIR/respcheck.log" >"$rc_out" 2>&1
rc=$?
line=$(tail -1 "$rc_out")
rm -f "$rc_out"
echo "netdiscard: respcheck: $line"
[ "$rc" = 0 ] || fail "respcheck exited $rc"
echo "$line" | grep -q '"timeouts":0,' || fail "a client was left waiting (half-open connection)"
echo "$line" | grep -q '"resets":0,' && fail "no connection was reset"
echo "$line" | grep -q '"final":"ok"' || fail "respcheck's read-back disagreed"
echo "$line" | grep -q '"idle_open":4,"idle_ended":4,' ||
	fail "an idle connection was not ended (half-open), or did not open"
pong=$(timeout 10 redis-cli -p "$PORT" ping 2>&1)
echo "netdiscard: redis-cli ping after the discard: $pong"
[ "$pong" = PONG ] || fail "no PONG after the discard"
[ "$fails" = 0 ] && { echo "netdiscard: PASS"; exit 0; }
exit 1
