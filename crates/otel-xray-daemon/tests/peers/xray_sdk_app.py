"""An X-Ray SDK application: one segment with three subsegments, sent to the daemon at
AWS_XRAY_DAEMON_ADDRESS. A streaming threshold of 1 makes the SDK send finished subsegments
on their own (standalone subsegment documents), as a long request does. Prints what it sent
as JSON: the trace id and every document id."""

import json

from aws_xray_sdk.core import xray_recorder

xray_recorder.configure(
    sampling=False,
    context_missing="LOG_ERROR",
    service="sdk-peer",
    streaming_threshold=1,
)

segment = xray_recorder.begin_segment("checkout")
segment.put_annotation("order", "A-17")
segment.put_http_meta("method", "POST")
segment.put_http_meta("url", "https://shop.example/checkout")
ids = [segment.id]
for name in ("db", "payment", "mail"):
    sub = xray_recorder.begin_subsegment(name)
    sub.put_metadata("step", name)
    ids.append(sub.id)
    xray_recorder.end_subsegment()
segment.put_http_meta("status", 201)
xray_recorder.end_segment()
print(json.dumps({"trace_id": segment.trace_id, "ids": ids}))
