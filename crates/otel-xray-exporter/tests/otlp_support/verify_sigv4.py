"""Recomputes the SigV4 signature of recorded requests with botocore.

Input: a JSON file with a list of requests (method, url, headers, body_hex,
access_key, secret_key, token, region). Output on stdout: one verdict per
request, {"ok": bool, "expected": ..., "got": ..., "signed_headers": [...]}.
The signature is recomputed from the headers the request says it signed, its
body bytes as received and its X-Amz-Date, so anything the client changed after
signing (body, header values) shows as a mismatch.
"""

import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def verdict(item):
    headers = {name.lower(): value for name, value in item["headers"]}
    auth_header = headers.get("authorization", "")
    if not auth_header.startswith("AWS4-HMAC-SHA256 "):
        return {"ok": False, "error": "no SigV4 Authorization header"}
    fields = dict(
        part.strip().split("=", 1) for part in auth_header[len("AWS4-HMAC-SHA256 "):].split(",")
    )
    signed = fields["SignedHeaders"].split(";")
    credential = fields["Credential"].split("/")
    body = bytes.fromhex(item["body_hex"])
    request = AWSRequest(
        method=item["method"],
        url=item["url"],
        data=body,
        headers={name: headers[name] for name in signed if name in headers},
    )
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(
        Credentials(item["access_key"], item["secret_key"], item["token"]),
        credential[3],
        item["region"],
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    return {
        "ok": expected == fields["Signature"]
        and credential[2] == item["region"]
        and credential[3] == "xray",
        "expected": expected,
        "got": fields["Signature"],
        "scope": credential[1:],
        "signed_headers": signed,
    }


def main():
    with open(sys.argv[1]) as f:
        items = json.load(f)
    json.dump([verdict(item) for item in items], sys.stdout)


if __name__ == "__main__":
    main()
