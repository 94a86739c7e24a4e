"""Rule matching by the Python X-Ray SDK (aws-xray-sdk on PyPI), for the differential test.

Reads one JSON object per line on stdin: {"rule": {service, service_type, host, method, path},
"request": {service, service_type, host, method, path}} (absent or null values stay absent), and
writes one line per case: "1" when the SDK's SamplingRule.match accepts the request, else "0".
"""
import json
import sys

from aws_xray_sdk.core.sampling.sampling_rule import SamplingRule

FIELDS = ("service", "service_type", "host", "method", "path")

for line in sys.stdin:
    case = json.loads(line)
    rule = SamplingRule(name="r", priority=1, rate=1.0, reservoir_size=0, **case["rule"])
    request = {k: v for k, v in case["request"].items() if v is not None}
    sys.stdout.write("1\n" if rule.match(request) else "0\n")
