#!/bin/sh
# rs_compare.sh: kv's Redis engine against a real redis-server, byte for
# byte. Starts Debian's redis-server (no persistence) and tools/rs_serve
# on free loopback ports, runs tools/rs_compare over the command lists
# (tests/compare/*.cmds unless FILEs are given), stops both, and exits
# with rs_compare's status: 0 when every reply matched. Without
# redis-server installed it says so and exits 0 (it is not a dependency:
# apt-get install redis-server to run it).
#
# usage: tools/rs_compare.sh [-v] [FILE...]     (make compare)
# environment: BUILD (build), RS_COMPARE_PORT (first port tried, 21379)
set -u
BUILD=${BUILD:-build}
VERBOSE=
[ "${1:-}" = -v ] && { VERBOSE=-v; shift; }
[ $# -gt 0 ] || set -- tests/compare/*.cmds
PIDS=

command -v redis-server >/dev/null 2>&1 || {
	echo "rs_compare: redis-server is not installed (apt-get install redis-server): skipped"
	exit 0
}
command -v redis-cli >/dev/null 2>&1 || {
	echo "rs_compare: redis-cli missing (apt-get install redis-tools)" >&2
	exit 2
}
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done' EXIT INT TERM

# start_on NAME CMD...: run CMD with "$port" on the first port from $port
# that it gets for itself (answers PING and is still running); sets PORT.
port=${RS_COMPARE_PORT:-21379}
start_on() {
	name=$1
	shift
	tries=0
	while [ $tries -lt 20 ]; do
		"$@" "$port" >"$BUILD/rs_compare.$name.log" 2>&1 &
		pid=$!
		i=0
		while [ $i -lt 50 ]; do
			if ! kill -0 "$pid" 2>/dev/null; then
				break # it could not listen there
			fi
			if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
				PIDS="$PIDS $pid"
				PORT=$port
				port=$((port + 1))
				return 0
			fi
			sleep 0.1
			i=$((i + 1))
		done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		port=$((port + 1))
		tries=$((tries + 1))
	done
	echo "rs_compare: cannot start $name (see $BUILD/rs_compare.$name.log)" >&2
	exit 2
}

redis_server() {
	exec redis-server --bind 127.0.0.1 --save '' --appendonly no --port "$1"
}

mkdir -p "$BUILD"
start_on redis redis_server
REF=$PORT
start_on rs_serve "$BUILD/tools/rs_serve"
TEST=$PORT
echo "rs_compare: $(redis-server --version | cut -d' ' -f1-3) on $REF, rs_serve on $TEST"
"$BUILD/tools/rs_compare" $VERBOSE "$REF" "$TEST" "$@"
