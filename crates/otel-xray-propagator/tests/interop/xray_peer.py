"""Interop peer for otel-xray-propagator's interop test.

Uses the Python OpenTelemetry X-Ray propagator (PyPI
`opentelemetry-propagator-aws-xray`) on each header given on the command line:
extracts it, then injects the extracted context back. Prints one JSON object per
header: {"header", "valid", "trace_id", "span_id", "sampled", "reinjected"}.

Usage: python3 xray_peer.py HEADER [HEADER ...]
"""

import json
import sys

from opentelemetry import trace
from opentelemetry.propagators.aws import AwsXRayPropagator


def main(headers):
    propagator = AwsXRayPropagator()
    for header in headers:
        context = propagator.extract({"X-Amzn-Trace-Id": header})
        span_context = trace.get_current_span(context).get_span_context()
        out = {"header": header, "valid": span_context.is_valid}
        if span_context.is_valid:
            carrier = {}
            propagator.inject(carrier, context=context)
            out.update(
                trace_id=format(span_context.trace_id, "032x"),
                span_id=format(span_context.span_id, "016x"),
                sampled=span_context.trace_flags.sampled,
                reinjected=carrier.get("X-Amzn-Trace-Id"),
            )
        print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
