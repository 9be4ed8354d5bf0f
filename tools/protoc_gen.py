"""Local protoc plugins used by buf.gen.yaml (run with the repo's venv Python).

    python tools/protoc_gen.py grpc_python   gRPC service stubs (*_pb2_grpc.py)
    python tools/protoc_gen.py py_packages   __init__.py in each generated package, py.typed

Both read a ``CodeGeneratorRequest`` on stdin and write a ``CodeGeneratorResponse`` on stdout.

``grpc_python``: grpcio-tools compiles gRPC's Python generator into its own protoc and ships no
``protoc-gen-grpc_python`` executable, and buf only proxies protoc's upstream built-ins. So this
plugin hands the request's descriptors to grpcio-tools' protoc (in process) with
``--descriptor_set_in`` and returns what ``--grpc_python_out`` writes: a ``_pb2_grpc.py`` for every
file, as protoc does (mypy-protobuf writes a ``_pb2_grpc.pyi`` for every file too). Imports are
absolute (``from ecom.cart.v1 import cart_pb2``), matching the package layout under gen/python.

``py_packages``: an empty ``__init__.py`` in each directory that holds generated files (and their
parents), and ``py.typed`` in each top-level package, so setuptools and mypy see regular, typed
packages. Run it with ``strategy: all`` so one invocation sees every file.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

Response = plugin_pb2.CodeGeneratorResponse


def _response() -> Response:
    response = Response()
    response.supported_features = (
        Response.FEATURE_PROTO3_OPTIONAL | Response.FEATURE_SUPPORTS_EDITIONS
    )
    response.minimum_edition = descriptor_pb2.EDITION_PROTO2
    response.maximum_edition = descriptor_pb2.EDITION_2023
    return response


def grpc_python(request: plugin_pb2.CodeGeneratorRequest) -> Response:
    from grpc_tools import protoc

    response = _response()
    with tempfile.TemporaryDirectory(prefix="protoc-gen-grpc_python-") as tmp:
        descriptor_set = Path(tmp, "input.binpb")
        descriptor_set.write_bytes(
            descriptor_pb2.FileDescriptorSet(file=request.proto_file).SerializeToString()
        )
        out = Path(tmp, "out")
        out.mkdir()
        parameter = f"{request.parameter}:" if request.parameter else ""
        status = protoc.main(
            [
                "grpc_tools.protoc",
                f"--descriptor_set_in={descriptor_set}",
                f"--grpc_python_out={parameter}{out}",
                *request.file_to_generate,
            ]
        )
        if status != 0:
            response.error = f"grpc_tools.protoc exited with status {status}"
            return response
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            response.file.add(
                name=path.relative_to(out).as_posix(), content=path.read_text("utf-8")
            )
    return response


def py_packages(request: plugin_pb2.CodeGeneratorRequest) -> Response:
    response = _response()
    packages: set[PurePosixPath] = set()
    for name in request.file_to_generate:
        parent = PurePosixPath(name).parent
        packages.update(p for p in (parent, *parent.parents) if p != PurePosixPath("."))
    for package in sorted(packages):
        response.file.add(name=str(package / "__init__.py"), content="")
        if package.parent == PurePosixPath("."):
            response.file.add(name=str(package / "py.typed"), content="")
    return response


PLUGINS: dict[str, Callable[[plugin_pb2.CodeGeneratorRequest], Response]] = {
    "grpc_python": grpc_python,
    "py_packages": py_packages,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in PLUGINS:
        print(f"usage: {argv[0]} {{{'|'.join(PLUGINS)}}} < CodeGeneratorRequest", file=sys.stderr)
        return 2
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = PLUGINS[argv[1]](request)
    sys.stdout.buffer.write(response.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
