"""The generated TypeScript compiles and its service descriptors offer every RPC of CONTRACT.md.

Compiles gen/ts with the repo's tsconfig into .build/ts-contract, loads every `*_pb.js` with node
and reads the exported service descriptors. Skipped where node_modules is missing (run
`make setup`), except under CI, which installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .expected_rpcs import EXPECTED_RPCS, expected_methods
from .generated import GEN_TS, ROOT

TSC = ROOT / "node_modules" / ".bin" / "tsc"
OUT = ROOT / ".build" / "ts-contract"
SCRIPT = Path(__file__).with_name("ts_services.mjs")


@pytest.fixture(scope="module")
def ts_services() -> dict[str, list[dict[str, Any]]]:
    if not TSC.exists() or shutil.which("node") is None:
        reason = "node or node_modules missing (run `make setup`): gen/ts not checked"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs node_modules: a skip there would hide a gap
        pytest.skip(reason)
    if not any(GEN_TS.rglob("*_pb.ts")):
        pytest.fail("no generated TypeScript under gen/ts: run `make gen`")
    shutil.rmtree(OUT, ignore_errors=True)
    compiled = subprocess.run(
        [str(TSC), "-p", "tsconfig.json", "--noEmit", "false", "--outDir", str(OUT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert compiled.returncode == 0, f"tsc failed on gen/ts:\n{compiled.stdout}{compiled.stderr}"
    listed = subprocess.run(
        ["node", str(SCRIPT), str(OUT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert listed.returncode == 0, f"loading gen/ts failed:\n{listed.stderr}"
    services: dict[str, list[dict[str, Any]]] = json.loads(listed.stdout)
    return services


@pytest.mark.parametrize("service", sorted(EXPECTED_RPCS))
def test_ts_service_offers_contract_rpcs(
    service: str, ts_services: dict[str, list[dict[str, Any]]]
) -> None:
    assert service in ts_services, f"{service} is not exported by any gen/ts module"
    actual = {m["name"]: (m["input"], m["output"], m["methodKind"]) for m in ts_services[service]}
    problems = []
    for rpc, (request, response, streaming) in expected_methods(service).items():
        want = (request, response, "server_streaming" if streaming else "unary")
        if rpc not in actual:
            problems.append(f"missing rpc {rpc}")
        elif actual[rpc] != want:
            problems.append(f"rpc {rpc}: (request, response, kind) is {actual[rpc]}, want {want}")
    assert not problems, f"{service} in gen/ts:\n  " + "\n  ".join(problems)
