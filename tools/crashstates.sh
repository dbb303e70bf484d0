#!/bin/bash
# crashstates: what a power cut does to the writes kv's disk had not yet
# flushed (issue 15). Killing QEMU (tools/powercut.sh) keeps what the host
# cached; here the appliance boots once with its disk behind QEMU's
# blklogwrites filter, which logs every write and flush the guest's disk
# completes, in order, while a checked sequential load runs: for
# i = 1..N, "MSET k<i> <i> cnt <i>", one at a time (one atomic command,
# two keys; its OK means kv flushed it). After each OK the script notes how
# many flushes the log holds (F_i: the flush that made MSET i durable is
# one of those, since QEMU logs a flush before the guest sees it end and
# kv answers only after). Then build/tools/crashstates builds crash disks
# from the log: the disk exactly at flush k ("flush k"), and that disk
# plus a seeded random subset of the writes between flush k and k+1, one
# write possibly torn at sector boundaries ("sub k"/"torn k"). Each one
# boots the appliance on a fresh copy, and must show:
#   - kv's disk state "ok" (a crash state never reads as corrupt or
#     unusable) and kv listening;
#   - a prefix: GET cnt = c, k<i> = i for every i <= c, no k<i> past c
#     (each MSET whole or absent, none applied out of order);
#   - durability: c at flush k >= every i with F_i <= k (an MSET answered
#     when only k flushes were logged was on the disk at flush k); c at
#     the flush states nondecreasing in k, c = N at the last flush; and a
#     state of interval k between the c of flush k and flush k+1 (N
#     after the last flush). A power cut in interval k comes after flush k
#     ended: whatever was durable there must still be read.
#
# usage: tools/crashstates.sh [--states M] [--seed S] [--n N] [--dir DIR] [--iso ISO]
#   M crash states (default 40; the plan always holds the last flush and,
#   for each interval it draws from, the flush states around it), N MSETs
#   (default 30). DIR (default build/crashstates) keeps the log, each
#   boot's COM logs, results.txt (one line a state: kind k seed c) and
#   summary.json, whose last line is the verdict.
# The summary counts the states booted, the intervals they cover (an
# interval is covered by a drawn state or by both its flush states), and
# the log's writes and flushes.
# Exit 0 if every state passed, 1 if not, 2 on bad usage.
set -u
STATES=40 SEED=1 N=30 DIR=build/crashstates ISO=build/vesta.iso
BOOT_S=${CRASHSTATES_BOOT_S:-120} # a boot must bring kv to its disk within this
TOOL=${CRASHSTATES:-build/tools/crashstates}
QEMU=${VESTA_QEMU:-qemu-system-x86_64}
SIZE=$((64 << 20))
while [ $# -gt 0 ]; do
	case $1 in
	--states) STATES=$2 ;;
	--seed) SEED=$2 ;;
	--n) N=$2 ;;
	--dir) DIR=$2 ;;
	--iso) ISO=$2 ;;
	*) echo "usage: crashstates.sh [--states M] [--seed S] [--n N] [--dir DIR] [--iso ISO]" >&2; exit 2 ;;
	esac
	shift 2
done
[ -x "$TOOL" ] || { echo "crashstates: $TOOL not built" >&2; exit 2; }
mkdir -p "$DIR" && rm -f "$DIR"/com*.log "$DIR"/qemu-*.log "$DIR"/results.txt "$DIR"/summary.json "$DIR"/acks.txt
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
qpid=
. "$(dirname "$0")/appliance.sh"

say() { echo "crashstates: $*"; }
cleanup() { [ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null; }
trap cleanup EXIT

stop() {
	[ -n "$qpid" ] && kill -TERM "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	qpid=
}

rcli() { timeout 30 redis-cli -p "$PORT" --raw "$@"; }

# record: the one boot behind blklogwrites, and the checked load.
record() {
	rm -f "$DIR/base.img" "$DIR/log.img"
	truncate -s "$SIZE" "$DIR/base.img" && truncate -s 0 "$DIR/log.img" || return 1
	appliance_boot record -blockdev "driver=file,filename=$DIR/base.img,node-name=base" \
		-blockdev "driver=file,filename=$DIR/log.img,node-name=logf" \
		-blockdev driver=blklogwrites,file=base,log=logf,node-name=lw,log-append=off \
		-device virtio-blk-pci,drive=lw
	appliance_wait_kv record || { say "record: kv did not come up (see $DIR/com2-record.log)"; return 1; }
	grep -q '"ev":"kv_disk".*"state":"ok"' "$DIR/com2-record.log" ||
		{ say "record: kv's disk is not ok"; return 1; }
	for i in $(seq 1 "$N"); do
		r=$(rcli MSET "k$i" "$i" cnt "$i")
		[ "$r" = OK ] || { say "record: MSET $i answered '$r'"; return 1; }
		echo "$i $("$TOOL" flushes "$DIR/log.img")" >>"$DIR/acks.txt"
	done
	stop
}

# check NAME: kv's disk ok, and the keyspace a prefix; prints c, or fails.
check() {
	local disk keys i
	disk=$(grep -m1 '"ev":"kv_disk"' "$DIR/com2-$1.log")
	case $disk in
	*'"state":"ok"'*) ;;
	*) say "$1: kv's disk is not ok: $disk" >&2; return 1 ;;
	esac
	keys=cnt
	for i in $(seq 1 $((N + 1))); do keys="$keys k$i"; done
	# One round trip; to a file, since $(...) would drop the trailing
	# empty lines that are the nils past c.
	for i in 1 2 3 4 5; do
		# shellcheck disable=SC2086
		rcli MGET $keys >"$DIR/mget.txt" && [ -s "$DIR/mget.txt" ] && break
		sleep 1
	done
	awk -v n="$N" -v name="$1" '
		NR == 1 { c = ($0 == "") ? 0 : $0; if (c !~ /^[0-9]+$/ || c > n) bad = "cnt is \"" $0 "\"" ; next }
		{ i = NR - 1; want = (i <= c) ? i : ""; if ($0 != want && !bad) bad = "k" i " is \"" $0 "\", want \"" want "\"" }
		END {
			if (NR != n + 2 && !bad) bad = "MGET gave " NR " lines"
			if (bad) { print "crashstates: " name ": " bad > "/dev/stderr"; exit 1 }
			print c
		}' "$DIR/mget.txt"
}

t0=$(date +%s)
record || exit 1
info=$("$TOOL" info "$DIR/log.img") || exit 1
say "log: $info"
"$TOOL" plan "$DIR/log.img" --states "$STATES" --seed "$SEED" >"$DIR/plan.txt" || exit 1
t1=$(date +%s)
fails=0 n=0
while read -r kind k r; do
	name="$kind-$k${r:+-$r}"
	n=$((n + 1))
	# shellcheck disable=SC2086
	"$TOOL" image "$DIR/log.img" --size "$SIZE" --out "$DIR/state.img" $kind $k $r || exit 1
	appliance_boot "$name" -drive "file=$DIR/state.img,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0
	if appliance_wait_kv "$name" && c=$(check "$name"); then
		echo "$kind $k ${r:-0} $c" >>"$DIR/results.txt"
		rm -f "$DIR/com1-$name.log" "$DIR/qemu-$name.log"
	else
		say "state $n ($kind $k $r) failed (see $DIR/com2-$name.log)"
		echo "$kind $k ${r:-0} FAIL" >>"$DIR/results.txt"
		fails=$((fails + 1))
	fi
	stop
done <"$DIR/plan.txt"
t2=$(date +%s)
rm -f "$DIR/state.img"
# The durability rules, over every state that booted.
flushes=$(echo "$info" | sed 's/.*"flushes":\([0-9]*\).*/\1/')
judged=$(awk -v n="$N" -v last="$flushes" '
	FILENAME ~ /acks/ { if ($2 in need) { if ($1 > need[$2]) need[$2] = $1 } else need[$2] = $1; next }
	$4 == "FAIL" { next }
	$1 == "flush" { cf[$2] = $4; order[++nf] = $2; next }
	{ sk[++ns] = $2; sc[ns] = $4 }
	function bad(s) { print s; nbad++ }
	END {
		prev = -1
		for (j = 1; j <= nf; j++) {
			k = order[j]
			if (cf[k] < prev) bad("c at flush " k " is " cf[k] ", below " prev " at an earlier flush")
			prev = cf[k]
			for (f in need) if (f + 0 <= k + 0 && need[f] > cf[k])
				bad("MSET " need[f] " was answered with " f " flushes logged, but flush " k " reads c=" cf[k])
		}
		if (!(last in cf)) bad("the last flush was not checked")
		else if (cf[last] != n) bad("the last flush reads c=" cf[last] ", not " n)
		for (j = 1; j <= ns; j++) {
			k = sk[j]; lo = cf[k]; hi = (k + 0 < last + 0) ? cf[k + 1] : n
			if (lo == "" || hi == "") continue # its flush state failed: counted already
			if (sc[j] < lo || sc[j] > hi) bad("a state of interval " k " reads c=" sc[j] ", not in " lo ".." hi)
		}
		exit nbad > 0
	}' "$DIR/acks.txt" "$DIR/results.txt")
jrc=$?
[ -n "$judged" ] && echo "$judged" | sed 's/^/crashstates: /'
[ $jrc = 0 ] || fails=$((fails + 1))
# An interval is covered by a drawn state, or by its two flush states
# (its empty and its full subset).
covered=$(awk '$1 != "flush" { print $2; next } { f[$2] = 1 } END { for (k in f) if ((k + 1) in f) print k }' \
	"$DIR/results.txt" | sort -u | wc -l)
per=$(awk -v s=$((t2 - t1)) -v n="$n" 'BEGIN { printf "%.1f", n ? s / n : 0 }')
writes=$(echo "$info" | sed 's/.*"writes":\([0-9]*\).*/\1/')
printf '{"crashstates":"%s","states":%d,"failed":%d,"intervals":%d,"writes":%d,"flushes":%d,"n":%d,"seed":%s,"log":%s,"record_s":%d,"s_per_state":%s}\n' \
	"$([ $fails = 0 ] && echo PASS || echo FAIL)" "$n" "$fails" "$covered" "$writes" "$flushes" "$N" "$SEED" \
	"$info" $((t1 - t0)) "$per" | tee "$DIR/summary.json"
[ $fails = 0 ]
