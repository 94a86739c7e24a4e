#!/usr/bin/env bash
# Ours-to-theirs time ratio of a criterion bench group, robust to a noisy machine.
#
#   scripts/bench-ratio.sh translate internal [rounds]
#
# Each round runs the group's `otel_xray` and `opentelemetry_aws` benchmarks back
# to back (short criterion runs), so both see the same load; the script prints
# every round's ratio and their median. One long run of each, minutes apart,
# can differ by 30 % on a shared VM; the median of alternating rounds does not.
set -euo pipefail
bench=${1:?bench name, e.g. translate}
group=${2:?group, e.g. internal}
rounds=${3:-15}
cd "$(dirname "$0")/.."

bin=$(cargo bench -j2 --all-features --bench "$bench" --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
[ -x "$bin" ] || { echo "no bench binary for $bench" >&2; exit 1; }

nanos() { # criterion's point estimate in ns, for each benchmark in the output
    awk '/time:/ { v = $(NF-3); u = $(NF-2); if (u == "µs") v *= 1000; if (u == "ms") v *= 1e6; print v }'
}

ratios=()
for _ in $(seq "$rounds"); do
    ours=$("$bin" --bench --warm-up-time 0.3 --measurement-time 1 "^$group/otel_xray\$" 2>&1 | nanos)
    theirs=$("$bin" --bench --warm-up-time 0.3 --measurement-time 1 "^$group/opentelemetry_aws\$" 2>&1 | nanos)
    r=$(awk -v o="$ours" -v t="$theirs" 'BEGIN { printf "%.3f", o / t }')
    printf '%s: ours %.0f ns, opentelemetry-aws %.0f ns, ratio %s\n' "$group" "$ours" "$theirs" "$r"
    ratios+=("$r")
done
printf '%s\n' "${ratios[@]}" | sort -n |
    awk '{ a[NR] = $1 } END { printf "median %s  min %s  max %s  (%d rounds)\n", a[int((NR + 1) / 2)], a[1], a[NR], NR }'
