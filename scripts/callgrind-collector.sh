# Sourced by startup-order.sh and daemon-instructions.sh, which run `otel-xray daemon` under
# callgrind while daemon_load feeds it. Sets `work`, a temporary directory removed on exit, and
# writes `$work/wrap OUT COMMAND...`, the collector to hand the load generator: the generator
# ends its collector with SIGKILL, which would leave callgrind no time to write its profile, so
# callgrind runs as the wrapper's child (its pid in OUT.pid) and `stop_callgrind OUT` ends it
# with SIGTERM, the daemon's graceful stop, once the load is done. CALLGRIND_ARGS adds options.
# Also sets `daemon`: OTEL_XRAY, or the release `otel-xray` built here.
command -v valgrind >/dev/null || { echo "needs valgrind (apt install valgrind)" >&2; exit 1; }
daemon=${OTEL_XRAY:-}
if [ -z "$daemon" ]; then
  cargo build -j2 --release -p otel-xray-cli --bin otel-xray
  daemon=${CARGO_TARGET_DIR:-target}/release/otel-xray
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Neither talks to AWS (a local sink takes every call); signing still needs credentials.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE
cat >"$work/wrap" <<WRAP
#!/usr/bin/env bash
out=\$1; shift
valgrind --tool=callgrind ${CALLGRIND_ARGS:-} --callgrind-out-file="\$out" "\$@" 2>/dev/null &
echo \$! >"\$out.pid"
wait
WRAP
chmod +x "$work/wrap"

# Ends the callgrind run writing OUT and waits until the profile is written.
stop_callgrind() {
  kill -TERM "$(cat "$1.pid")"
  while kill -0 "$(cat "$1.pid")" 2>/dev/null; do sleep 0.2; done
}
