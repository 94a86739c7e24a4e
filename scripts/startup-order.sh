#!/usr/bin/env bash
# Regenerates crates/otel-xray-cli/startup-order.txt: the functions `otel-xray daemon` runs
# from start to its first deliveries (one UDP load and one OTLP/gRPC load of a few segments,
# to a local X-Ray sink) and idle, which the release link places together at the front of the
# code (see crates/otel-xray-cli/build.rs). Run it after changes to the daemon's code or its
# dependencies, which rename functions: a stale list breaks nothing (names the linker no longer
# finds are skipped) but saves less memory; `bench-daemon.sh` warns when it is stale.
#
#   scripts/startup-order.sh        # builds the release binary and the load generator first
#   OTEL_XRAY=<binary> DAEMON_LOAD=<daemon_load> scripts/startup-order.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CALLGRIND_ARGS=--demangle=no
# shellcheck source=scripts/callgrind-collector.sh
source scripts/callgrind-collector.sh
load=${DAEMON_LOAD:-}
if [ -z "$load" ]; then
  cargo build -j2 -p otel-xray-daemon --example daemon_load
  load=${CARGO_TARGET_DIR:-target}/debug/examples/daemon_load
fi
profile() {
  local name=$1; shift
  "$load" "$@" -- "$work/wrap" "$work/$name" "$daemon" daemon -o -n us-east-1 --endpoint '{SINK}' \
    -b 127.0.0.1:42900 -t 127.0.0.1:42900 --otlp-grpc 127.0.0.1:44900 --otlp-http 127.0.0.1:0 \
    >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
  sleep 3
  stop_callgrind "$work/$name"
  python3 scripts/startup-order.py "$work/$name" "$(basename "$daemon")" >"$work/$name.symbols"
}
profile udp udp 127.0.0.1:42900 200
profile otlp otlp 127.0.0.1:44900 4 50 2
sort -u "$work/udp.symbols" "$work/otlp.symbols" >crates/otel-xray-cli/startup-order.txt
echo "$(wc -l < crates/otel-xray-cli/startup-order.txt) functions in crates/otel-xray-cli/startup-order.txt"
