#!/bin/sh
# kvdiskcheck: the host side of tests/boot/scenarios/kvdiskerr.scn. kv's
# disk fails every write of one sector of its log (QEMU's blkdebug), so
# now and then a group commit fails: kv must answer nothing it could not
# make durable (those replies wait), refuse writes (and PING) with Redis'
# MISCONF until a checkpoint commits, serve reads meanwhile, and then take
# writes again. W writers SET unique values one at a time with redis-cli,
# side by side (a writer whose reply waits cannot see the refusal: the
# others do), and it checks: some SET was refused with MISCONF, some was
# answered OK after a refusal (kv came back), every key answered OK reads
# back its value, and no answer was anything else.
#
# usage: tools/kvdiskcheck.sh PORT [N [W]]   (N SETs per writer, default
# 150; W writers, default 4)
set -u
PORT=$1 N=${2:-150} W=${3:-4}
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
cli() { timeout 60 redis-cli -p "$PORT" "$@" 2>&1; }
MISCONF="MISCONF Errors writing to the AOF file: Input/output error"
i=0
until [ "$(cli ping)" = PONG ]; do
	i=$((i + 1))
	[ $i -lt 240 ] || { echo "kvdiskcheck: FAIL: no PONG"; exit 1; }
	sleep 0.5
done
# writer W: one line per SET in $TMP/W: "ok I", "misconf I" or "bad I ANSWER"
writer() {
	for i in $(seq 1 "$N"); do
		r=$(cli set "dk:$1:$i" "v$1:$i")
		case $r in
		OK) echo "ok $i" ;;
		"$MISCONF") echo "misconf $i" ;;
		*) echo "bad $i $r" ;;
		esac
	done >"$TMP/$1"
}
for w in $(seq 1 "$W"); do writer "$w" & done
wait
bad=0 ok=0 misconf=0 after=0
for w in $(seq 1 "$W"); do
	seen=0
	while read -r what i rest; do
		case $what in
		ok)
			ok=$((ok + 1))
			[ $seen = 1 ] && after=$((after + 1))
			g=$(cli get "dk:$w:$i")
			[ "$g" = "v$w:$i" ] || { echo "kvdiskcheck: FAIL: get dk:$w:$i: '$g'"; bad=$((bad + 1)); }
			;;
		misconf) misconf=$((misconf + 1)) seen=1 ;;
		*) echo "kvdiskcheck: FAIL: set dk:$w:$i: '$rest'"; bad=$((bad + 1)) ;;
		esac
	done <"$TMP/$w"
done
echo "kvdiskcheck: $ok OK ($after after a refusal), $misconf MISCONF, $bad bad"
[ $misconf -gt 0 ] || { echo "kvdiskcheck: FAIL: no write was refused"; bad=$((bad + 1)); }
[ $after -gt 0 ] || { echo "kvdiskcheck: FAIL: kv took no write after a refusal"; bad=$((bad + 1)); }
[ $bad = 0 ]
