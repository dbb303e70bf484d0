#!/bin/sh
# latency.sh: restart latency from a Vesta event log (COM2, one JSON object
# a line), as the time from a service's death to its next incarnation being
# back at work.
#
# usage: tools/latency.sh COM2.LOG [NAME...]
#
# Each `exit` of a process is paired with the first event after it that
# shows a later incarnation (same name, another pid) back:
#   - for a process that served channels (a `chan_serve` by a process of
#     that name came before the exit): the next `chan_serve` by a later
#     incarnation of it;
#   - for one that serves nothing: the next `spawn` of the same name.
# If an incarnation dies before it is back, the pair still runs from the
# first exit: the figure is how long the service was away. An exit that is
# never followed by a return (a service stopped for good) is not counted.
# With NAMEs, only those processes count.
#
# Prints one line per process name and one for all, each with the count,
# the median and the worst latency in milliseconds:
#   kv        restarts 3  median 11.823 ms  worst 12.410 ms
#   all       restarts 6  median ...
# Exit status: 0, or 1 if the log cannot be read, 2 for a usage error.
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 COM2.LOG [NAME...]" >&2
	exit 2
fi
log=$1
shift
if [ ! -r "$log" ]; then
	echo "latency: cannot read $log" >&2
	exit 1
fi

awk -v only="$*" '
# The value of key in the current event (a string without its quotes, or a
# number), or "" if the event lacks it.
function get(key,    re, v) {
	re = "\"" key "\":(\"[^\"]*\"|-?[0-9]+)"
	if (!match(ev_line, re))
		return ""
	v = substr(ev_line, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
	if (v ~ /^"/)
		v = substr(v, 2, length(v) - 2)
	return v
}

function wanted(name) {
	return only == "" || ((" " only " ") ~ (" " name " "))
}

function record(name, ns) {
	n[name]++
	lat[name, n[name]] = ns
	names[name] = 1
	n_all++
	lat["", n_all] = ns
}

# Sort lat[key, 1..cnt] in place (insertion sort: the counts are small).
function sort_key(key, cnt,    i, j, v) {
	for (i = 2; i <= cnt; i++) {
		v = lat[key, i]
		for (j = i - 1; j >= 1 && lat[key, j] > v; j--)
			lat[key, j + 1] = lat[key, j]
		lat[key, j + 1] = v
	}
}

function report(label, key, cnt,    med) {
	sort_key(key, cnt)
	if (cnt % 2)
		med = lat[key, (cnt + 1) / 2]
	else
		med = (lat[key, cnt / 2] + lat[key, cnt / 2 + 1]) / 2
	printf "%-12s restarts %d  median %.3f ms  worst %.3f ms\n", label, cnt,
	       med / 1e6, lat[key, cnt] / 1e6
}

{
	# Firmware may put text before the first event on a line.
	i = index($0, "{\"ev\":")
	if (i == 0)
		next
	ev_line = substr($0, i)
	ev = get("ev")
	t = get("t_ns")
	pid = get("pid")
	if (ev == "spawn") {
		name = get("name")
		pid_name[pid] = name
		if ((name in down) && !(name in serves)) {
			record(name, t - down[name])
			delete down[name]
		}
	} else if (ev == "chan_serve") {
		name = (pid in pid_name) ? pid_name[pid] : ""
		if (name == "")
			next
		if ((name in down) && pid != down_pid[name]) {
			record(name, t - down[name])
			delete down[name]
		}
		serves[name] = 1
	} else if (ev == "exit") {
		name = get("name")
		if (name == "" || !wanted(name) || (name in down))
			next
		down[name] = t
		down_pid[name] = pid
	}
}

END {
	if (n_all == 0) {
		print "no restarts in the log"
		exit 0
	}
	for (name in names)
		report(name, name, n[name])
	report("all", "", n_all)
}
' "$log"
