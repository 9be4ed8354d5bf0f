"""Copy Google's common protos from the googleapis-common-protos wheel into the buf workspace.

    .venv/bin/python tools/sync_googleapis.py [DEST]      (DEST defaults to .build/googleapis)

Our protos import `google/api/*.proto`, `google/rpc/*.proto` and `google/type/*.proto`. No proto
registry is reachable, so buf.yaml lists DEST as a second module of the workspace; this script fills
it with the .proto files that the installed googleapis-common-protos wheel (pinned in
pyproject.toml) ships, so the Python runtime and the protos we compile against are the same
version. DEST is git-ignored, excluded from lint and breaking checks, and only reaches generated
code as an import (TypeScript gets `google/**` via include_imports; Python imports the wheel's own
`*_pb2` modules). `google/protobuf/*.proto` (well-known types) come with buf itself.

The copy is rewritten with `buf format` so that `buf format` over the whole workspace stays clean;
formatting changes no descriptor. Run by `make setup` (and so by `make gen`/`make lint`) when the
copy is missing or pyproject.toml changed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import google.api.field_behavior_pb2

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "rpc", "type")


def main(argv: list[str]) -> int:
    dest = Path(argv[1]) if len(argv) > 1 else ROOT / ".build" / "googleapis"
    # google/ is a namespace package; locate the wheel's files through a module it ships.
    site_root = Path(google.api.field_behavior_pb2.__file__).resolve().parents[2]
    sources = sorted(
        path for pkg in PACKAGES for path in (site_root / "google" / pkg).rglob("*.proto")
    )
    if not sources:
        print(f"sync_googleapis: no .proto files under {site_root}/google", file=sys.stderr)
        return 1
    buf = Path(sys.executable).parent / "buf"
    with tempfile.TemporaryDirectory(prefix="googleapis-") as tmp:
        staging = Path(tmp, "googleapis")
        for src in sources:
            target = staging / src.relative_to(site_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
        # Formatted outside the repo, so buf does not take it for a directory of our workspace.
        subprocess.run([str(buf), "format", "-w", str(staging)], check=True)
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, dest)
    print(f"sync_googleapis: {len(sources)} protos from {site_root} -> {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
