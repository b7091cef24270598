"""Builds the package with its gRPC stubs generated from the repository's
proto/ directory (grpcio-tools), so the client always matches the contract
it was built from. The generated modules land in allot/v1/ and are not
committed."""

import pathlib

from setuptools import setup

HERE = pathlib.Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent.parent / "proto"


def generate_stubs():
    """Runs protoc on every proto/allot/v1/*.proto into allot/v1/."""
    import grpc_tools
    from grpc_tools import protoc

    sources = sorted((PROTO_ROOT / "allot" / "v1").glob("*.proto"))
    if not sources:
        raise SystemExit(f"no .proto files under {PROTO_ROOT}/allot/v1")
    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={HERE}",
        f"--pyi_out={HERE}",
        f"--grpc_python_out={HERE}",
    ] + [str(s) for s in sources]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed on " + " ".join(s.name for s in sources))
    (HERE / "allot" / "v1" / "__init__.py").write_text(
        '"""Stubs generated from proto/allot/v1 when the package was built."""\n'
    )


# Every build step (metadata, wheel, editable) needs the stubs in place.
generate_stubs()
setup()
