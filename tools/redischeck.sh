#!/bin/sh
# redischeck: the host side of the Redis boot test (tests/boot/scenarios/
# redis.scn). It waits for a RESP2 server on HOST:PORT (a Vesta guest's kv,
# reached through QEMU's hostfwd) to answer PING, then checks, with
# redis-cli, exact answers of Redis 7.0 to a set of commands (types, wrong
# types, unknown commands, arity), runs redis-benchmark over the commands it
# covers (which must exit 0: it stops at the first error reply), a short
# tools/respcheck run (every answer of 16 connections checked), and writes
# past maxmemory (Redis' -OOM, and kv carries on). Each
# failure says which check, the command, and what differed; exit 1 if any
# failed, 0 if all passed.
#
# usage: tools/redischeck.sh [PORT [relay]]   (default $VESTA_PORT)
# With `relay`, redis-benchmark and respcheck go through tools/tcprelay
# (on a free port): QEMU's user networking listens with a backlog of 1, so
# a burst of connects (redis-benchmark opens its 20 clients at the start
# of each test) otherwise waits out SYN retransmissions of many seconds.
# environment: REDISCHECK_HOST (127.0.0.1), REDISCHECK_WAIT (seconds for the
# first PONG, 120), REDISCHECK_N (requests per benchmark test, 20000),
# REDISCHECK_RESPCHECK (seconds of respcheck, 5; 0: none), RESPCHECK (its
# path, build/tools/respcheck).
set -u
PORT=${1:-${VESTA_PORT:-}}
RELAY=${2:-}
TCPRELAY=${TCPRELAY:-build/tools/tcprelay}
. "$(dirname "$0")/relay.sh" # wait_pong, relay_start, relay_stop
HOST=${REDISCHECK_HOST:-127.0.0.1}
WAIT=${REDISCHECK_WAIT:-120}
N=${REDISCHECK_N:-20000}
RC_SECONDS=${REDISCHECK_RESPCHECK:-5}
RESPCHECK=${RESPCHECK:-build/tools/respcheck}
TESTS=ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange,mset
# What redis-benchmark -q prints a result line for, given TESTS.
RESULTS="PING_INLINE PING_MBULK SET GET INCR LPUSH RPUSH LPOP RPOP SADD HSET SPOP ZADD ZPOPMIN
LRANGE_100 LRANGE_300 LRANGE_500 LRANGE_600 MSET"
K="redischeck:$$:$(date +%s)" # keys no earlier run used
fails=0

[ -n "$PORT" ] || { echo "usage: redischeck.sh PORT (or set VESTA_PORT)" >&2; exit 2; }
command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null ||
	{ echo "redischeck: redis-cli and redis-benchmark missing (apt-get install redis-tools)" >&2; exit 1; }

# Every call is bounded: a connection QEMU accepted for a guest that is not
# listening can hang until TCP gives up.
cli() { timeout "${CALL_S:-30}" redis-cli -h "$HOST" -p "$PORT" "$@" 2>&1; }

fail() { echo "redischeck: FAIL: $*"; fails=$((fails + 1)); }

# expect WHAT WANT ARGS...: redis-cli ARGS must print exactly WANT.
expect() {
	what=$1 want=$2
	shift 2
	got=$(cli "$@")
	if [ "$got" = "$want" ]; then
		echo "redischeck: ok: $what"
	else
		fail "$what: redis-cli $*: expected '$want', got '$got'"
	fi
}

# The server may still be starting (QEMU accepts for the guest before it
# listens, then closes): PING until it answers.
wait_up() {
	start=$(date +%s)
	until last=$(CALL_S=5 cli ping) && [ "$last" = PONG ]; do
		if [ $(($(date +%s) - start)) -ge "$WAIT" ]; then
			fail "no PONG from $HOST:$PORT within ${WAIT}s (last: $(echo "${last:-no answer within 5 s}" | head -1))"
			exit 1
		fi
		sleep 1
	done
	echo "redischeck: $HOST:$PORT answers PING after $(($(date +%s) - start))s"
}

basics() {
	expect "PING" PONG ping
	expect "PING with a message" hello ping hello
	expect "SET" OK set "$K:s" v1
	expect "GET" v1 get "$K:s"
	expect "GET of a missing key" "" get "$K:missing"
	expect "INCR of a new key" 1 incr "$K:n"
	expect "INCR" 2 incr "$K:n"
	expect "INCRBY" 12 incrby "$K:n" 10
	expect "INCR of a non-integer" "ERR value is not an integer or out of range" incr "$K:s"
	expect "LPUSH" 1 lpush "$K:l" a
	expect "GET of a list (wrong type)" \
		"WRONGTYPE Operation against a key holding the wrong kind of value" get "$K:l"
	expect "unknown command" "ERR unknown command 'nosuchcmd', with args beginning with: 'x' " \
		nosuchcmd x
	expect "wrong number of arguments" "ERR wrong number of arguments for 'get' command" get
	expect "DEL" 3 del "$K:s" "$K:n" "$K:l"
	expect "GET after DEL" "" get "$K:s"
}

# One exact answer for each command the benchmark runs.
bench_commands() {
	expect "RPUSH" 2 rpush "$K:l" a b
	expect "LRANGE" "$(printf 'a\nb')" lrange "$K:l" 0 -1
	expect "LPOP" a lpop "$K:l"
	expect "RPOP" b rpop "$K:l"
	expect "LPOP of an empty list" "" lpop "$K:l"
	expect "SADD" 2 sadd "$K:set" x y
	expect "SADD of a member it has" 0 sadd "$K:set" x
	expect "SADD of one" 1 sadd "$K:one" m
	expect "SPOP" m spop "$K:one"
	expect "HSET" 2 hset "$K:h" f1 v1 f2 v2
	expect "HGET" v2 hget "$K:h" f2
	expect "ZADD" 2 zadd "$K:z" 2 b 1 a
	expect "ZPOPMIN" "$(printf 'a\n1')" zpopmin "$K:z"
	expect "MSET" OK mset "$K:m1" 1 "$K:m2" 2
	expect "MGET" "$(printf '1\n2')" mget "$K:m1" "$K:m2"
	expect "DEL of the rest" 5 del "$K:set" "$K:h" "$K:z" "$K:m1" "$K:m2"
}

benchmark() {
	out=$(mktemp)
	timeout 1800 redis-benchmark -h "$HOST" -p "$BPORT" -q -n "$N" -c 20 -t "$TESTS" >"$out" 2>&1
	rc=$?
	tr '\r' '\n' <"$out" | grep -v 'rps=' | grep -v '^[[:space:]]*$' >"$out.lines"
	sed 's/^/redischeck: benchmark: /' "$out.lines"
	[ "$rc" = 0 ] || fail "redis-benchmark -n $N -c 20 -t $TESTS exited $rc"
	for t in $RESULTS; do
		grep -q "^$t.*requests per second" "$out.lines" || fail "redis-benchmark printed no result for $t"
	done
	rm -f "$out" "$out.lines"
}

respcheck() {
	[ "$RC_SECONDS" != 0 ] || return 0
	if [ ! -x "$RESPCHECK" ]; then
		fail "$RESPCHECK is not built"
		return
	fi
	line=$("$RESPCHECK" --host "$HOST" --port "$BPORT" --seconds "$RC_SECONDS")
	rc=$?
	echo "redischeck: respcheck: $line"
	[ "$rc" = 0 ] || fail "respcheck found answers lost or wrong (exit $rc): $line"
}

# Writes past maxmemory (what kv's log can keep) get Redis' -OOM, and kv
# carries on: it answers, and the memory comes back with DEL.
memory_bound() {
	big=$(head -c 600000 /dev/zero | tr '\0' x)
	got=""
	n=0
	while [ $n -lt 8 ]; do
		got=$(printf %s "$big" | cli -x set "$K:big$n")
		[ "$got" = OK ] || break
		n=$((n + 1))
	done
	if [ "$got" = "OOM command not allowed when used memory > 'maxmemory'." ]; then
		echo "redischeck: ok: -OOM after $n values of 600 kB"
	else
		fail "SET of 600 kB values: expected OK until -OOM, got '$got' after $n"
	fi
	expect "PING after -OOM" PONG ping
	expect "DEL of the 600 kB values" "$n" del "$K:big0" "$K:big1" "$K:big2" "$K:big3" \
		"$K:big4" "$K:big5" "$K:big6" "$K:big7"
	expect "SET after the DEL" OK set "$K:after" v
	expect "DEL" 1 del "$K:after"
}

wait_up
basics
bench_commands
BPORT=$PORT
if [ "$RELAY" = relay ]; then
	relay_start "$PORT"
	trap relay_stop EXIT
	[ -n "$BPORT" ] || { fail "$TCPRELAY did not start"; BPORT=$PORT; }
	echo "redischeck: through $TCPRELAY on $BPORT"
fi
benchmark
respcheck
memory_bound
if [ "$fails" = 0 ]; then
	echo "redischeck: PASS ($HOST:$PORT)"
	exit 0
fi
echo "redischeck: FAIL: $fails checks failed ($HOST:$PORT)"
exit 1
