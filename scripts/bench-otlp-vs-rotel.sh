#!/usr/bin/env bash
# OTLP/gRPC in -> PutTraceSegments out: `otel-xray daemon` against rotel (`pip install rotel`,
# its `rotel-agent` with the aws-xray exporter), both fed the same load by
# crates/otel-xray-daemon/examples/otlp_load.rs and sending to the same local sink, which
# answers at once. Prints spans/s and RSS (idle, peak) for each. Release build.
#
#   scripts/bench-otlp-vs-rotel.sh [REQUESTS] [SPANS_PER_REQUEST] [CONCURRENCY]
#
# Both collectors are pinned to one core (taskset) so the figures are per core; the load
# generator and sink run on the other.
set -euo pipefail
cd "$(dirname "$0")/.."

requests=${1:-2000}
spans=${2:-100}
concurrency=${3:-4}

cargo build -j2 --release -p otel-xray-cli --bin otel-xray
cargo build -j2 --release -p otel-xray-daemon --example otlp_load
target=${CARGO_TARGET_DIR:-target}/release
rotel=$(python3 -c 'import rotel, os; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))' 2>/dev/null) || {
  echo "rotel is not installed: pip install rotel" >&2
  exit 1
}

# Neither talks to AWS: the sink takes every call. Signing still needs credentials.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE

pin="taskset -c 0"
command -v taskset >/dev/null || pin=""

grpc=127.0.0.1:44317
echo "== otel-xray daemon"
"$target/examples/otlp_load" "$grpc" "$requests" "$spans" "$concurrency" -- \
  $pin "$target/otel-xray" daemon -o -n us-east-1 --endpoint '{SINK}' \
  -b 127.0.0.1:0 -t 127.0.0.1:0 --otlp-grpc "$grpc" --otlp-http off -m 64

echo "== rotel"
"$target/examples/otlp_load" "$grpc" "$requests" "$spans" "$concurrency" -- \
  $pin "$rotel" start --otlp-grpc-endpoint "$grpc" --otlp-http-endpoint 127.0.0.1:44318 \
  --exporter aws-xray --xray-exporter-region us-east-1 --xray-exporter-custom-endpoint '{SINK}'

strip -o "$target/otel-xray.stripped" "$target/otel-xray"
echo "stripped otel-xray binary: $(stat -c %s "$target/otel-xray.stripped") bytes"
