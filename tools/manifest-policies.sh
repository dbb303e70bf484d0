#!/bin/sh
# Check, with polcheck, the policy files a manifest carries into its image
# (its `image NAME.policy PATH` lines), before mkbundle packs them: every
# policy is validated at build time, alone as the supervisor checks it at
# boot, then beside the manifest's processes (no channel, IRQ line or port
# both a process and a service claim). mkbundle checks the manifest itself. A manifest with the line
# "# polcheck: must fail" carries a policy broken on purpose (a boot test of
# the supervisor's refusal); for it, polcheck must fail.
#
# usage: tools/manifest-policies.sh POLCHECK MANIFEST
set -eu
polcheck=$1
manifest=$2
dir=$(dirname "$manifest")
files=$(awk '$1 == "image" && $2 ~ /\.policy$/ { print $3 }' "$manifest" |
	while read -r f; do case $f in /*) echo "$f" ;; *) echo "$dir/$f" ;; esac; done)
[ -n "$files" ] || exit 0
if grep -q '^# polcheck: must fail' "$manifest"; then
	if "$polcheck" -m "$manifest" $files >/dev/null 2>&1; then
		echo "$manifest: its policies were meant to be refused, but polcheck accepts them" >&2
		exit 1
	fi
	exit 0
fi
"$polcheck" -m "$manifest" $files
