#!/usr/bin/env bash
# Instructions `otel-xray daemon` executes per span (OTLP/gRPC) or per segment (UDP), counted
# by callgrind: the tool for steps too small for `bench-daemon.sh`, whose CPU-time figures move
# by 10 % from hour to hour on a shared machine. The same load is run twice, SMALL and LARGE
# requests (or datagrams); the difference of the two totals, divided by the difference in
# items, leaves out start-up and shutdown.
#
#   scripts/daemon-instructions.sh [otlp|udp] [SMALL] [LARGE]      # defaults: otlp 300 900
#   OTEL_XRAY=<binary> DAEMON_LOAD=<daemon_load> scripts/daemon-instructions.sh otlp
#
# OTLP requests carry 50 spans (as in bench-daemon.sh). valgrind hides the SHA extensions from
# the daemon, so request signing runs SHA-256 in software here: about 40 % of the count, where
# on hardware with those extensions it is about 5 % of the time. Compare binaries with each
# other, not with CPU-time figures.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/callgrind-collector.sh
source scripts/callgrind-collector.sh
mode=${1:-otlp}
small=${2:-300}
large=${3:-900}
load=${DAEMON_LOAD:-}
if [ -z "$load" ]; then
  cargo build -j2 --profile bench -p otel-xray-daemon --example daemon_load
  load=${CARGO_TARGET_DIR:-target}/release/examples/daemon_load
fi

# Total instructions of one run of `count` requests or datagrams.
instructions() {
  local count=$1 out=$work/run-$1 args
  if [ "$mode" = otlp ]; then
    args=(otlp 127.0.0.1:44901 "$count" 50 4)
  else
    args=(udp 127.0.0.1:42901 "$count")
  fi
  "$load" "${args[@]}" -- "$work/wrap" "$out" "$daemon" daemon -o -n us-east-1 \
    --endpoint '{SINK}' -b 127.0.0.1:42901 -t 127.0.0.1:42901 --otlp-grpc 127.0.0.1:44901 \
    --otlp-http 127.0.0.1:0 >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
  stop_callgrind "$out"
  grep -q "delivered=$(items "$count") " "$out.log" || {
    echo "not every item was delivered:" >&2
    cat "$out.log" >&2
    exit 1
  }
  awk '/^(summary|totals):/ { print $2; exit }' "$out"
}
items() { if [ "$mode" = otlp ]; then echo $(($1 * 50)); else echo "$1"; fi; }

low=$(instructions "$small")
high=$(instructions "$large")
per=$(((high - low) / ($(items "$large") - $(items "$small"))))
unit=$([ "$mode" = otlp ] && echo span || echo segment)
echo "$(basename "$daemon") $mode: $per instructions per $unit ($(items "$small") and $(items "$large") ${unit}s: $low and $high)"
