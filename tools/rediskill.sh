#!/bin/sh
# rediskill: the host side of rediskill.scn, where the guest's TCP/IP
# service `net` is killed and crashed every few seconds (the scenario's
# `send`s type `fault net ...` on the shell) while Redis clients keep
# their connections open through it. Through tools/tcprelay (QEMU's
# forwarded port listens with a backlog of 1) it runs, side by side until
# the guest's shell has taken TEXT (the scenario's last line typed):
#   - redis-benchmark -c 50 again and again (each run holds its 50
#     connections to its end; it exits 1 at the first connection reset or
#     error), and every run must exit 0;
#   - respcheck with 8 connections, every answer checked against a model:
#     it must pass, with no connection reset or EOF (resets=0).
# Prints what each run said; exit 0 if all held, 1 if not, 2 bad usage.
#
# usage: tools/rediskill.sh PORT TEXT   (VESTA_BOOT_DIR: the boot's folder)
# environment: REDISKILL_N (requests per benchmark run, 5000), TCPRELAY,
# RESPCHECK (their paths).
set -u
PORT=${1:-} TEXT=${2:-}
DIR=${VESTA_BOOT_DIR:-}
[ -n "$PORT" ] && [ -n "$TEXT" ] && [ -n "$DIR" ] ||
	{ echo "usage: tools/rediskill.sh PORT TEXT (with VESTA_BOOT_DIR)" >&2; exit 2; }
TCPRELAY=${TCPRELAY:-build/tools/tcprelay}
. "$(dirname "$0")/relay.sh" # wait_pong, relay_start, relay_stop
RESPCHECK=${RESPCHECK:-build/tools/respcheck}
N=${REDISKILL_N:-5000}
fails=0

fail() { echo "rediskill: FAIL: $*"; fails=$((fails + 1)); }
done_yet() { grep -qF "$TEXT" "$DIR/com2.log"; }

wait_pong "$PORT" 120 || { fail "no PONG within 120 s"; exit 1; }
relay_start "$PORT"
trap relay_stop EXIT
[ -n "$BPORT" ] || { fail "$TCPRELAY did not start"; exit 1; }

rc_out=$(mktemp)
"$RESPCHECK" --host 127.0.0.1 --port "$BPORT" --conns 8 --until-event "$TEXT" \
	--dir "$DIR" --max-seconds 600 >"$rc_out" 2>&1 &
rc_pid=$!
runs=0
while :; do
	out=$(timeout 600 redis-benchmark -h 127.0.0.1 -p "$BPORT" -q -c 50 -n "$N" \
		-t set,get,incr,lpush,lpop 2>&1)
	rc=$?
	runs=$((runs + 1))
	echo "$out" | tr '\r' '\n' | grep -v 'rps=' | grep -v '^[[:space:]]*$' |
		sed "s/^/rediskill: benchmark $runs: /"
	[ "$rc" = 0 ] || fail "redis-benchmark run $runs exited $rc"
	done_yet && break
done
wait $rc_pid
rc=$?
line=$(tail -1 "$rc_out")
rm -f "$rc_out"
echo "rediskill: respcheck: $line"
[ "$rc" = 0 ] || fail "respcheck exited $rc"
echo "$line" | grep -q '"resets":0,' || fail "respcheck saw connections reset"
echo "rediskill: $runs benchmark runs of -c 50 -n $N"
[ "$fails" = 0 ] && { echo "rediskill: PASS"; exit 0; }
exit 1
