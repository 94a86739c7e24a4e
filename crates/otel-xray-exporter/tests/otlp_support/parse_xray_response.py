"""Parses an X-Ray API answer with botocore's parser and service model.

Usage: parse_xray_response.py OPERATION STATUS BODY. Prints the parsed answer
as JSON (without ResponseMetadata); errors come out as {"Error": {...}}.
"""

import json
import sys

import botocore.parsers
import botocore.session


def main():
    operation, status, body = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    model = botocore.session.get_session().get_service_model("xray")
    parser = botocore.parsers.create_parser(model.metadata["protocol"])
    parsed = parser.parse(
        {"status_code": status, "headers": {}, "body": body.encode()},
        model.operation_model(operation).output_shape,
    )
    parsed.pop("ResponseMetadata", None)
    json.dump(parsed, sys.stdout, default=str)


if __name__ == "__main__":
    main()
