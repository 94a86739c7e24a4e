#!/usr/bin/env bash
# Time ratio of two benchmarks of one criterion bench group, robust to a noisy machine.
#
#   scripts/bench-ratio.sh translate internal [rounds]
#
# Each round runs the group's `otel_xray` benchmark and a baseline (default
# `opentelemetry_aws`; set BASELINE=serialise_only for plain serialisation) back
# to back as short criterion runs (OURS names another benchmark of ours, e.g.
# `otel_xray_nested` in the export bench's `udp_request` group), so both see the same load; the script prints
# every round's ratio and their median. One long run of each, minutes apart,
# can differ by 30 % on a shared VM; the median of alternating rounds does not.
#
# With MAX_RATIO set, exits 1 when the median is above it.
# CARGO_FLAGS (default --all-features) selects the package and features the bench is built with.
set -euo pipefail
bench=${1:?bench name, e.g. translate}
group=${2:?group, e.g. internal}
rounds=${3:-15}
baseline=${BASELINE:-opentelemetry_aws}
ours_name=${OURS:-otel_xray}
cd "$(dirname "$0")/.."

# shellcheck disable=SC2086 # CARGO_FLAGS is a list of cargo flags
bin=$(cargo bench -j2 ${CARGO_FLAGS:---all-features} --bench "$bench" --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
[ -x "$bin" ] || { echo "no bench binary for $bench" >&2; exit 1; }

nanos() { # criterion's point estimate in ns, for each benchmark in the output
    awk '/time:/ { v = $(NF-3); u = $(NF-2); if (u == "µs") v *= 1000; if (u == "ms") v *= 1e6; print v }'
}

ratios=()
for _ in $(seq "$rounds"); do
    ours=$("$bin" --bench --warm-up-time 0.3 --measurement-time 1 "^$group/$ours_name\$" 2>&1 | nanos)
    theirs=$("$bin" --bench --warm-up-time 0.3 --measurement-time 1 "^$group/$baseline\$" 2>&1 | nanos)
    r=$(awk -v o="$ours" -v t="$theirs" 'BEGIN { printf "%.3f", o / t }')
    printf '%s: ours %.0f ns, %s %.0f ns, ratio %s\n' "$group" "$ours" "$baseline" "$theirs" "$r"
    ratios+=("$r")
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
printf '%s\n' "${ratios[@]}" | sort -n |
    awk -v m="$median" '{ a[NR] = $1 } END { printf "median %s  min %s  max %s  (%d rounds)\n", m, a[1], a[NR], NR }'
if [ -n "${MAX_RATIO:-}" ] && awk -v m="$median" -v x="$MAX_RATIO" 'BEGIN { exit !(m > x) }'; then
    echo "$group: the translator takes ${median}x $baseline, over the allowed ${MAX_RATIO}x" >&2
    exit 1
fi
