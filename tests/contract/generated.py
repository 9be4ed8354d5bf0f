"""Where the contracts and the generated code live, and how the contract tests load them."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from google.protobuf import descriptor, descriptor_pb2

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto"
GEN_PYTHON = ROOT / "gen" / "python"
GEN_TS = ROOT / "gen" / "ts"

MISSING_GEN = (
    "no generated Python under gen/python/ecom: the protos are not written yet, or `make gen` "
    "has not been run"
)


def proto_files() -> list[str]:
    """Our .proto files, as import paths (`ecom/cart/v1/cart.proto`)."""
    return sorted(p.relative_to(PROTO).as_posix() for p in (PROTO / "ecom").rglob("*.proto"))


def generated_module_names() -> list[str]:
    """Every module and package under gen/python/ecom, from the files on disk."""
    names = []
    for path in sorted((GEN_PYTHON / "ecom").rglob("*.py")):
        parts = path.relative_to(GEN_PYTHON).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def import_generated() -> list[ModuleType]:
    """Import every generated module; this registers all descriptors in the default pool."""
    return [importlib.import_module(name) for name in generated_module_names()]


def generated_files() -> list[descriptor.FileDescriptor]:
    """File descriptors of every generated `*_pb2` module, in file-name order."""
    modules = [m for m in import_generated() if m.__name__.endswith("_pb2")]
    return sorted((m.DESCRIPTOR for m in modules), key=lambda f: f.name)


def all_messages(files: list[descriptor.FileDescriptor]) -> list[descriptor.Descriptor]:
    """Every message type declared in `files`, nested ones included, map entries excluded."""
    found: list[descriptor.Descriptor] = []

    def visit(message: descriptor.Descriptor) -> None:
        if message.GetOptions().map_entry:
            return
        found.append(message)
        for nested in message.nested_types:
            visit(nested)

    for file in files:
        for message in file.message_types_by_name.values():
            visit(message)
    return found


def buf_executable() -> str:
    """The venv's buf (buf-bin), else one on PATH."""
    venv_buf = Path(sys.executable).parent / "buf"
    if venv_buf.exists():
        return str(venv_buf)
    found = shutil.which("buf")
    if found is None:
        raise FileNotFoundError("buf not found: run `make setup`")
    return found


def build_image(out_dir: Path) -> descriptor_pb2.FileDescriptorSet:
    """`buf build proto` with source info (comments), our files only.

    A buf image is wire-compatible with a FileDescriptorSet.
    """
    image = out_dir / "image.binpb"
    result = subprocess.run(
        [buf_executable(), "build", "proto", "--exclude-imports", "-o", str(image)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"buf build proto failed:\n{result.stdout}{result.stderr}")
    return descriptor_pb2.FileDescriptorSet.FromString(image.read_bytes())
