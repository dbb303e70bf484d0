#!/bin/sh
# redisbench: the host side of `make bench-redis`. It runs the benchmark of
# issue 13,
#
#   redis-benchmark -q -n 20000 -c 20 -t ping,set,get,incr,lpush,rpush,lpop,
#                   rpop,sadd,hset,spop,zadd,zpopmin,lrange,mset
#
# against Vesta's kv (ISO booted as `make run` does: tools/faultinj --boot,
# TCG, -m 256M, virtio-net-pci on QEMU's user networking) and then against
# Debian's redis-server in a Debian Linux guest (the kernel of `make bench`,
# the initramfs of tools/linuxredis.sh) in the same QEMU settings, one after
# the other. Each guest gets a free host port forwarded to its port 6379;
# the clients go through tools/tcprelay, as in the Redis boot test, because
# QEMU's forwarded port listens with a backlog of 1. It waits (bounded) for
# each server to answer PING, stops each QEMU afterwards and checks that
# none is left. It prints one table (test, Vesta rps, Linux rps, ratio) and
# writes OUT/redis.json; the logs are in OUT/redis-vesta and OUT/redis-linux.
#
# The figures are wall-clock requests per second under TCG on whatever host
# runs it (ours: 2 cores shared with other jobs): compare the two columns
# of one run, not runs on different hosts or days.
#
# usage: tools/redisbench.sh ISO LINUXDIR OUT
# environment: REDISBENCH_N (requests per test, 20000), REDISBENCH_WAIT
# (seconds for the first PONG, 180), BUILD (build).
# Exit status: 0 both columns complete, 1 a guest failed (the table still
# shows what was measured, and says why), 2 bad usage.
set -u
ISO=${1:-} LINUX=${2:-} OUT=${3:-}
[ -n "$ISO" ] && [ -n "$LINUX" ] && [ -n "$OUT" ] ||
	{ echo "usage: tools/redisbench.sh ISO LINUXDIR OUT" >&2; exit 2; }
BUILD=${BUILD:-build}
N=${REDISBENCH_N:-20000}
WAIT=${REDISBENCH_WAIT:-180}
TESTS=ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange,mset
CMD="redis-benchmark -q -n $N -c 20 -t $TESTS"
QEMU=${VESTA_QEMU:-qemu-system-x86_64}
# The machine both guests get: what tools/faultinj --boot (make run) gives
# Vesta, less its ISO and serial ports.
MACHINE="-accel tcg -m 256M -display none -no-reboot"
mkdir -p "$OUT"

fifo="" fpid="" qpid="" rpid="" down=""
cleanup() {
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	[ -n "$fpid" ] && kill "$fpid" 2>/dev/null
	[ -n "$fifo" ] && rm -f "$fifo"
	rpid="" qpid="" fpid=""
}
trap 'cleanup; exit 1' INT TERM HUP
trap cleanup EXIT

# A host port nothing listens on (the guest's forward and the relay's).
free_port() {
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

# wait_up PORT PID: PING until PONG, at most WAIT seconds and while PID
# (the guest's QEMU or faultinj) lives (QEMU accepts for the guest before
# its server listens, and then closes the connection).
# On failure `down` says why.
wait_up() {
	start=$(date +%s)
	until [ "$(timeout 5 redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; do
		down="no PONG within ${WAIT}s"
		[ $(($(date +%s) - start)) -ge "$WAIT" ] && return 1
		down="QEMU exited before it answered PING"
		kill -0 "$2" 2>/dev/null || return 1
		sleep 1
	done
	echo "redisbench:   PONG after $(($(date +%s) - start)) s"
}

# bench PORT FILE: the benchmark through a relay to PORT; FILE gets one
# "TEST<tab>RPS" line per result. Returns redis-benchmark's status.
bench() {
	rlog=$(dirname "$2")/tcprelay.log
	"$BUILD/tools/tcprelay" 0 "$1" >"$rlog" 2>&1 &
	rpid=$!
	bport=""
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		bport=$(sed -n 's/^listening //p' "$rlog")
		[ -n "$bport" ] && break
		sleep 0.2
	done
	[ -n "$bport" ] || { echo "tcprelay did not start" >"$2.why"; return 1; }
	timeout 1800 redis-benchmark -p "$bport" -q -n "$N" -c 20 -t "$TESTS" >"$2.raw" 2>&1
	rc=$?
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	rpid=""
	# -q prints progress lines ending in \r, then "TEST: R requests per second, ..."
	tr '\r' '\n' <"$2.raw" | sed -n 's/^\([^:]*\): \([0-9.]*\) requests per second.*/\1\t\2/p' >"$2"
	[ "$rc" = 0 ] || echo "redis-benchmark exited $rc: $(tr '\r' '\n' <"$2.raw" |
		grep -v 'rps=' | grep -v requests | grep . | tail -n 1)" >"$2.why"
	return "$rc"
}

# The Vesta side: faultinj --boot, as `make run`, its console on a FIFO so
# that Ctrl-A X stops it (it then stops QEMU and waits for it).
run_vesta() {
	d=$OUT/redis-vesta
	rm -rf "$d" && mkdir -p "$d"
	port=$(free_port)
	echo "redisbench: Vesta ($ISO), host port $port"
	fifo=$d/console.in
	mkfifo "$fifo"
	"$BUILD/tools/faultinj" --boot "$ISO" --dir "$d" --accel tcg --redis-port "$port" \
		<"$fifo" >"$d/console.log" 2>&1 &
	fpid=$!
	exec 3>"$fifo"
	sleep 1
	qpid=$(pgrep -P "$fpid" | head -n 1) # faultinj's QEMU, for the trap
	if wait_up "$port" "$fpid"; then
		bench "$port" "$d/results"
	else
		echo "$down (see $d/console.log, $d/events.log, $d/qemu.log)" >"$d/results.why"
	fi
	# Ctrl-A X; a faultinj already gone must not take this script (SIGPIPE).
	(
		trap '' PIPE
		printf '\001x' >&3
	) 2>/dev/null
	exec 3>&-
	for _ in $(seq 1 100); do
		kill -0 "$fpid" 2>/dev/null || break
		sleep 0.2
	done
	wait "$fpid" 2>/dev/null
	# faultinj stops QEMU itself; only a QEMU it left behind gets killed.
	[ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null && kill -- "-$qpid"
	qpid="" fpid=""
	rm -f "$fifo"
	fifo=""
}

# The Linux side: the same machine booting the Debian kernel and the
# redis-server initramfs; SIGTERM stops QEMU.
run_linux() {
	d=$OUT/redis-linux
	rm -rf "$d" && mkdir -p "$d"
	if [ -s "$LINUX/redis-missing" ] || [ ! -s "$LINUX/redis-initramfs.cpio" ]; then
		why=$(cat "$LINUX/missing" "$LINUX/redis-missing" 2>/dev/null | head -n 1)
		echo "no Linux guest: ${why:-no $LINUX/redis-initramfs.cpio (tools/linuxredis.sh)}" \
			>"$d/results.why"
		return
	fi
	port=$(free_port)
	echo "redisbench: Linux $(cat "$LINUX/kernel-version") with Debian's redis-server," \
		"host port $port"
	# shellcheck disable=SC2086 # MACHINE is a list of arguments
	"$QEMU" $MACHINE -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:6379" \
		-device virtio-net-pci,netdev=n0 -serial "file:$d/console.log" \
		-kernel "$LINUX/vmlinuz" -initrd "$LINUX/redis-initramfs.cpio" \
		-append "console=ttyS0 quiet" >"$d/qemu.log" 2>&1 </dev/null &
	qpid=$!
	if wait_up "$port" "$qpid"; then
		bench "$port" "$d/results"
	else
		echo "$down (see $d/console.log, $d/qemu.log)" >"$d/results.why"
	fi
	kill "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	qpid=""
}

# The table and the JSON from the two result files (either may be missing).
report() {
	v=$OUT/redis-vesta/results l=$OUT/redis-linux/results
	touch "$v" "$l"
	when=$(date -u '+%Y-%m-%d %H:%M UTC')
	kver=$(cat "$LINUX/kernel-version" 2>/dev/null)
	rver=$(dpkg-query -W -f='${Version}' redis-tools 2>/dev/null)
	echo
	echo "redis-benchmark, $when: $CMD"
	echo "TCG wall clock on a shared host ($(nproc) cores); both guests ran back to back in the same"
	echo "QEMU settings ($MACHINE, virtio-net-pci on -netdev user,hostfwd), clients through tools/tcprelay."
	echo "Linux: Debian kernel $kver, Debian redis-server $rver (--save '' --appendonly no)."
	for side in vesta linux; do
		[ -s "$OUT/redis-$side/results.why" ] &&
			echo "$side: $(cat "$OUT/redis-$side/results.why")"
	done
	awk -F'\t' -v json="$OUT/redis.json" -v when="$when" -v cmd="$CMD" -v kver="$kver" \
		-v rver="$rver" -v machine="$MACHINE" -v vwhy="$(cat "$v.why" 2>/dev/null)" \
		-v lwhy="$(cat "$l.why" 2>/dev/null)" -v vfile="$v" '
	function num(x) { return x == "" ? "null" : x }
	function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return s }
	FNR == 1 { side = FILENAME == vfile ? 1 : 2 } # either file may be empty
	side == 1 { if (!($1 in vr)) order[n++] = $1; vr[$1] = $2 }
	side == 2 { if (!($1 in vr) && !($1 in lr)) order[n++] = $1; lr[$1] = $2 }
	END {
		printf "%-38s %12s %12s %8s\n", "test", "Vesta rps", "Linux rps", "Vesta/Linux"
		printf "{\n  \"date\": \"%s\",\n  \"command\": \"%s\",\n", when, esc(cmd) >json
		printf "  \"clock\": \"TCG wall clock on a shared host, both guests back to back\",\n" >json
		printf "  \"qemu\": \"%s, virtio-net-pci, -netdev user,hostfwd, tools/tcprelay\",\n", machine >json
		printf "  \"linux_kernel\": \"%s\",\n  \"redis_server\": \"%s\",\n", kver, rver >json
		printf "  \"vesta_error\": \"%s\",\n  \"linux_error\": \"%s\",\n", esc(vwhy), esc(lwhy) >json
		printf "  \"tests\": [" >json
		for (i = 0; i < n; i++) {
			t = order[i]; a = vr[t]; b = lr[t]
			r = (a != "" && b != "" && b + 0 > 0) ? sprintf("%.2f", a / b) : ""
			printf "%-38s %12s %12s %8s\n", t, a == "" ? "-" : a, b == "" ? "-" : b, r == "" ? "-" : r
			if (r != "") { logsum += log(a / b); nr++ }
			printf "%s\n    {\"test\": \"%s\", \"vesta_rps\": %s, \"linux_rps\": %s, \"ratio\": %s}",
				i ? "," : "", esc(t), num(a), num(b), num(r) >json
		}
		g = nr ? sprintf("%.2f", exp(logsum / nr)) : ""
		if (nr)
			printf "%-38s %12s %12s %8s\n", "geometric mean of the ratios", "", "", g
		printf "\n  ],\n  \"ratio_geomean\": %s\n}\n", num(g) >json
	}' "$v" "$l"
	echo "(written to $OUT/redis.json; logs in $OUT/redis-vesta, $OUT/redis-linux)"
}

command -v redis-benchmark >/dev/null && command -v redis-cli >/dev/null ||
	{ echo "redisbench: redis-tools missing (make deps)" >&2; exit 1; }
run_vesta
run_linux
report
# No QEMU of ours may outlive the run.
left=$(pgrep -f "hostfwd=tcp:127.0.0.1:[0-9]*-:6379" -a | grep -F -- "$OUT" | head -n 1)
[ -z "$left" ] || echo "redisbench: a QEMU is still running: $left"
[ ! -s "$OUT/redis-vesta/results.why" ] && [ ! -s "$OUT/redis-linux/results.why" ] &&
	[ -s "$OUT/redis-vesta/results" ] && [ -s "$OUT/redis-linux/results" ]
