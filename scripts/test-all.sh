#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs the Python test peers
# (moto_server, the Python X-Ray propagator and SDK) when missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import moto.server, opentelemetry.propagators.aws, aws_xray_sdk' 2>/dev/null; then
  echo "installing Python test peers (tests/python/requirements.txt)"
  python3 -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
fi

cargo test -j2 --workspace --all-features "$@"
