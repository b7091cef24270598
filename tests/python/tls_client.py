"""An independent gRPC client (grpcio, the C core) calling allot over TLS.

Usage: tls_client.py TARGET CA_FILE [TOKEN]

Calls grpc.health.v1.Health/Check and allot.v1.AdminService/GetNetwork with
raw protobuf bytes (no generated code: both requests are empty messages)
and prints one JSON line per call: the method, the status code name, and
the response bytes in hex, for the caller to decode.
"""

import json
import sys

import grpc


def call(channel, method, metadata):
    stub = channel.unary_unary(
        method, request_serializer=None, response_deserializer=None
    )
    try:
        response = stub(b"", metadata=metadata, timeout=30)
        return {"method": method, "code": "OK", "response": response.hex()}
    except grpc.RpcError as error:
        return {"method": method, "code": error.code().name, "details": error.details()}


def main():
    target, ca_file = sys.argv[1], sys.argv[2]
    token = sys.argv[3] if len(sys.argv) > 3 else None
    with open(ca_file, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    metadata = [("authorization", f"Bearer {token}")] if token else None
    with grpc.secure_channel(target, credentials) as channel:
        for method in (
            "/grpc.health.v1.Health/Check",
            "/allot.v1.AdminService/GetNetwork",
        ):
            print(json.dumps(call(channel, method, metadata)), flush=True)


if __name__ == "__main__":
    main()
