"""Every message, field, enum, enum value, service and RPC in proto/ecom has a leading comment,
and every RPC's comment has an "Errors:" section (DESIGN.md section 3, docs/contracts.md).

Comments are read from the source info of `buf build proto`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from .generated import build_image, proto_files

# Field numbers in descriptor.proto, as used in SourceCodeInfo.Location.path.
FILE_MESSAGE, FILE_ENUM, FILE_SERVICE = 4, 5, 6
MESSAGE_FIELD, MESSAGE_NESTED, MESSAGE_ENUM = 2, 3, 4
ENUM_VALUE = 2
SERVICE_METHOD = 2

Path_ = tuple[int, ...]

# "Errors:" opening a line, optionally qualified: "Errors (of the whole call):",
# "Errors: none beyond the common ones." (docs/contracts.md, Errors).
ERRORS_SECTION = re.compile(r"^\s*Errors(\s*\([^)\n]*\))?:", re.MULTILINE)


class Image(dict[str, descriptor_pb2.FileDescriptorProto]):
    """File name -> descriptor with source info; a short repr keeps failure reports readable."""

    def __repr__(self) -> str:
        return f"<buf image of proto/: {len(self)} files>"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    files = build_image(tmp_path_factory.mktemp("buf-image")).file
    return Image((f.name, f) for f in files)


def _enum(
    enum: descriptor_pb2.EnumDescriptorProto, path: Path_, scope: str
) -> Iterator[tuple[Path_, str, str]]:
    name = f"{scope}.{enum.name}"
    yield path, f"enum {name}", "enum"
    for i, value in enumerate(enum.value):
        yield (*path, ENUM_VALUE, i), f"enum value {name}.{value.name}", "value"


def _message(
    message: descriptor_pb2.DescriptorProto, path: Path_, scope: str
) -> Iterator[tuple[Path_, str, str]]:
    name = f"{scope}.{message.name}"
    yield path, f"message {name}", "message"
    for i, field in enumerate(message.field):
        yield (*path, MESSAGE_FIELD, i), f"field {name}.{field.name}", "field"
    for i, nested in enumerate(message.nested_type):
        if not nested.options.map_entry:  # synthesized for map<,> fields; has no source
            yield from _message(nested, (*path, MESSAGE_NESTED, i), name)
    for i, enum in enumerate(message.enum_type):
        yield from _enum(enum, (*path, MESSAGE_ENUM, i), name)


def elements(file: descriptor_pb2.FileDescriptorProto) -> Iterator[tuple[Path_, str, str]]:
    """(source path, description, kind) of every element that needs a comment."""
    for i, message in enumerate(file.message_type):
        yield from _message(message, (FILE_MESSAGE, i), file.package)
    for i, enum in enumerate(file.enum_type):
        yield from _enum(enum, (FILE_ENUM, i), file.package)
    for i, service in enumerate(file.service):
        name = f"{file.package}.{service.name}"
        yield (FILE_SERVICE, i), f"service {name}", "service"
        for j, method in enumerate(service.method):
            yield (FILE_SERVICE, i, SERVICE_METHOD, j), f"rpc {name}.{method.name}", "rpc"


def doc_problems(file: descriptor_pb2.FileDescriptorProto) -> list[str]:
    comments = {tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location}
    problems = []
    for path, what, kind in elements(file):
        comment = comments.get(path, "").strip()
        if not comment:
            problems.append(f"{what}: no leading comment")
        elif kind == "rpc" and not ERRORS_SECTION.search(comment):
            problems.append(f"{what}: comment has no 'Errors:' section")
    return problems


def test_there_are_protos() -> None:
    assert proto_files(), "no .proto files under proto/ecom yet"


@pytest.mark.parametrize("name", proto_files())
def test_every_element_is_documented(name: str, image: Image) -> None:
    assert name in image, f"{name} is not in the buf image of proto/"
    problems = doc_problems(image[name])
    assert not problems, f"{Path('proto', name)}:\n  " + "\n  ".join(problems)
