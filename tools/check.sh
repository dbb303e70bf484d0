#!/bin/sh
# The body of `make check` (and of `make unit`, `make format-check`,
# `make boot`): runs the host unit tests with the exit-reason check, the
# format check, the QEMU boot scenarios and two bounded fault campaigns
# (the appliance's services; the network parts under Redis clients), and
# ends with one summary line "check: N passed, N failed" (unit suites +
# reasons + format + fuzzing + boot scenario runs + the two campaigns +
# the power cuts + the crash states).
#
# usage: BUILD=build tools/check.sh all|unit|format|boot|campaign|netcampaign|powercut|crashstates [SCENARIO.scn...]
set -u
BUILD=${BUILD:-build}
mode=$1
shift
passed=0
failed=0

run_unit() {
	# test_elf also parses a real image of ours when one is built.
	if [ -f "$BUILD/bin/uart.elf" ]; then
		VESTA_TEST_STATIC_ELF="$BUILD/bin/uart.elf"
		export VESTA_TEST_STATIC_ELF
	fi
	for t in "$BUILD"/unit/test_*; do
		[ -x "$t" ] || continue
		if "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $t"; fi
	done
}

# The exit reasons are one list: every VE_R_* of the ABI is given by some
# kernel code (a reason that nothing gives is a promise the ABI does not
# keep), and README.md and kernel/EVENTS.md name exactly the names of
# VE_REASON_NAMES.
run_reasons() {
	abi=kernel/uapi/vesta/abi.h
	bad=""
	for r in $(sed -n '/^enum ve_reason {/,/^};/p' "$abi" | grep -o '^[[:space:]]*VE_R_[A-Z_]*'); do
		grep -rqw --include='*.c' "$r" kernel || bad="$bad; $r is given by no kernel code"
	done
	want=$(sed -n '/define VE_REASON_NAMES/,/^[[:space:]]*}/p' "$abi" | grep -o '"[a-z_]*"' |
		tr -d '"' | sort | tr '\n' ' ')
	readme=$(sed -n '/It dies with a reason/,/ —$/p' README.md |
		grep -o '`[a-z_]*`' | tr -d '`' | sort | tr '\n' ' ')
	events=$(grep '^| `reason` |' kernel/EVENTS.md | sed 's/([^)]*)//g' | grep -o '`[a-z_]*`' |
		tr -d '`' | grep -vx reason | sort | tr '\n' ' ')
	[ "$readme" = "$want" ] || bad="$bad; README.md lists $readme"
	[ "$events" = "$want" ] || bad="$bad; kernel/EVENTS.md lists $events"
	if [ -z "$bad" ]; then
		echo "reasons: ${want}given by the kernel, listed in README.md and EVENTS.md"
		passed=$((passed + 1))
	else
		echo "reasons: FAILED (the ABI has ${want})$bad"
		failed=$((failed + 1))
	fi
}

run_format() {
	files=$(git ls-files '*.c' '*.h' 2>/dev/null)
	if [ -z "$files" ]; then
		echo "format: no tracked C files (not a git checkout?)"; failed=$((failed + 1)); return
	fi
	if clang-format --dry-run --Werror $files >"$BUILD/format.out" 2>&1; then
		echo "format: $(echo "$files" | wc -w) files clean"
		passed=$((passed + 1))
	else
		head -40 "$BUILD/format.out"
		echo "format: FAILED (run 'make format')"
		failed=$((failed + 1))
	fi
}

# A fuzzer for a bounded time ($2 seconds), seeded with real inputs; a
# crash, sanitizer report or failed check fails it.
# fuzz_one NAME SECONDS LABEL CORPUS SEEDS...
fuzz_one() {
	name=$1 secs=$2 label=$3 corpus=$4
	shift 4
	f="$BUILD/fuzz/$name"
	[ -x "$f" ] || { echo "fuzz: $f not built"; failed=$((failed + 1)); return; }
	mkdir -p "$corpus" "$BUILD/fuzz/$name-crash"
	if "$f" -max_total_time="$secs" -dict="tests/unit/$name.dict" \
		-artifact_prefix="$BUILD/fuzz/$name-crash/" "$corpus" "$@" \
		>"$BUILD/fuzz/$name.log" 2>&1; then
		echo "fuzz: $label, $(grep -o 'Done [0-9]* runs' "$BUILD/fuzz/$name.log" | tail -1), no crash"
		passed=$((passed + 1))
	else
		tail -30 "$BUILD/fuzz/$name.log"
		echo "fuzz: $label FAILED (inputs kept in $BUILD/fuzz/$name-crash/)"
		failed=$((failed + 1))
	fi
}

# The policy parser (seeded with the real policies), kv's RESP layer and
# kv's log on a disk (seeded with formatted disks).
run_fuzz() {
	fuzz_one fuzz_policy "${FUZZ_SECONDS:-20}" "policy parser" "$BUILD/fuzz/corpus" \
		tests/boot/images policies
	fuzz_one fuzz_resp "${FUZZ_RESP_SECONDS:-20}" "RESP parser and dispatch" \
		"$BUILD/fuzz/corpus-resp" tests/unit/fixtures/resp
	fuzz_one fuzz_dlog "${FUZZ_DLOG_SECONDS:-20}" "kv's log on a disk" \
		"$BUILD/fuzz/corpus-dlog" tests/unit/fixtures/dlog
}

run_boot() {
	"$BUILD/tools/runner" --isodir "$BUILD/img" --out "$BUILD/boot" -j 2 "$@" | tee "$BUILD/boot.out"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$BUILD/boot.out" | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1)); return
	fi
	passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
	failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
}

# campaign_check NAME OUT ARGS...: one bounded campaign into OUT (its
# output in $BUILD/NAME.out), counted as one check.
campaign_check() {
	name=$1 out=$2
	shift 2
	if "$BUILD/tools/campaign" --iso "$BUILD/vesta.iso" --jobs 2 --out "$out" "$@" \
		>"$BUILD/$name.out" 2>&1; then
		passed=$((passed + 1))
	else
		sed -n '/^FAIL/,$p' "$out/report.txt" 2>/dev/null || tail -20 "$BUILD/$name.out"
		failed=$((failed + 1))
	fi
	tail -1 "$BUILD/$name.out"
}

# A bounded fault campaign on the default appliance (tools/campaign): two
# guests side by side, CHECK_FAULTS faults of every kind into every
# service, from a fixed seed. The seed fixes which faults are injected and
# in what order (target, kind, argument and each fault's own seed), not
# when: the gaps between faults and every wait are host time, so where each
# fault lands in the guest's work, and so the run itself, differ from one
# run to the next. A failing fault is replayed alone from the report's
# `fault SVC KIND ARG SEED` line. Its verdict is one pass or fail; the
# report stays in $BUILD/check-campaign/.
run_campaign() {
	campaign_check campaign "$BUILD/check-campaign" --faults "${CHECK_FAULTS:-300}" \
		--seed "${CHECK_SEED:-20261121}"
}

# The bounded network campaign (issue 13): the same, with tools/respcheck's
# Redis clients on the guest's port 6379 the whole time, CHECK_NET_FAULTS
# faults of every kind into the NIC driver, the TCP/IP service and kv. It
# fails on any answer lost, wrong or duplicated (a reply overdue is only
# late until the run is over), a read-back that disagrees, or a dataset
# change the clients saw that kv did not announce.
run_netcampaign() {
	campaign_check netcampaign "$BUILD/check-netcampaign" --resp \
		--faults "${CHECK_NET_FAULTS:-100}" --seed "${CHECK_NET_SEED:-20261203}"
}

# One tool run as one check: its output in $BUILD/NAME.out, its last line
# printed when it passes, its tail when it fails.
run_tool() {
	tool=$1
	shift
	if "$@" >"$BUILD/$tool.out" 2>&1; then
		passed=$((passed + 1))
		echo "$tool: $(tail -1 "$BUILD/$tool.out" | cut -c1-160)"
	else
		failed=$((failed + 1))
		echo "FAIL: $tool (see $BUILD/$tool.out and $BUILD/check-$tool)"
		tail -5 "$BUILD/$tool.out"
	fi
}

# Power cuts: tools/powercut.sh kills the appliance's QEMU at random
# moments of a checked write load, CHECK_CUTS times on one disk (make
# powercut runs 200); no acknowledged write may be lost.
run_powercut() {
	run_tool powercut env RESPCHECK="$BUILD/tools/respcheck" bash tools/powercut.sh \
		--cuts "${CHECK_CUTS:-5}" --seed "${CHECK_CUT_SEED:-20261203}" \
		--dir "$BUILD/check-powercut" --iso "$BUILD/vesta.iso"
}

# Crash states: tools/crashstates.sh logs every write and flush of kv's
# disk under CHECK_CRASH_N sequential MSETs (2100: past kv's first
# checkpoint, at about 2050, whose writes are the ones a cut can reorder
# or tear) and boots kv on CHECK_CRASH_STATES disks a power cut could
# leave (make crashstates runs 200 states of 2500 MSETs); each must read
# as a prefix, and hold every MSET answered before its flush.
run_crashstates() {
	run_tool crashstates env CRASHSTATES="$BUILD/tools/crashstates" bash tools/crashstates.sh \
		--states "${CHECK_CRASH_STATES:-10}" --n "${CHECK_CRASH_N:-2100}" \
		--seed "${CHECK_CRASH_SEED:-20261203}" --dir "$BUILD/check-crashstates" \
		--iso "$BUILD/vesta.iso"
}

case $mode in
unit) run_unit; run_reasons ;;
format) run_format ;;
boot) run_boot "$@" ;;
campaign) run_campaign ;;
netcampaign) run_netcampaign ;;
powercut) run_powercut ;;
crashstates) run_crashstates ;;
fuzz) run_fuzz ;;
all) run_unit; run_reasons; run_format; run_fuzz; run_boot "$@"; run_campaign; run_netcampaign; run_powercut; run_crashstates ;;
*) echo "usage: $0 all|unit|format|fuzz|boot|campaign|netcampaign|powercut|crashstates [scenarios]" >&2; exit 2 ;;
esac
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
