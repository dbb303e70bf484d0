# relay.sh: sourced by the host sides of the Redis boot tests
# (redischeck.sh, rediskill.sh, netdiscard.sh), which reach the guest's
# port 6379 through QEMU's hostfwd. That forward listens with a backlog of
# 1, so a burst of connects waits out SYN retransmissions: clients go
# through tools/tcprelay (TCPRELAY) instead, on a free port it picks.

# wait_pong PORT SECONDS: until redis-cli PING on PORT answers PONG.
# Returns 1 if it has not within SECONDS.
wait_pong() {
	_wp_start=$(date +%s)
	until [ "$(timeout 5 redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; do
		[ $(($(date +%s) - _wp_start)) -lt "$2" ] || return 1
		sleep 1
	done
}

# relay_start PORT: start tcprelay from a free host port to PORT. Sets
# RELAY_PID, and BPORT to the port it listens on (empty if it did not
# say within 2 s). relay_stop ends it.
relay_start() {
	RELAY_LOG=$(mktemp)
	"${TCPRELAY:-build/tools/tcprelay}" 0 "$1" >"$RELAY_LOG" &
	RELAY_PID=$!
	BPORT=
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		BPORT=$(sed -n 's/^listening //p' "$RELAY_LOG")
		[ -n "$BPORT" ] && break
		sleep 0.2
	done
}

relay_stop() {
	[ -n "${RELAY_PID:-}" ] && kill "$RELAY_PID" 2>/dev/null
	rm -f "${RELAY_LOG:-}"
	RELAY_PID=
}
