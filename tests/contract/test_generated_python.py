"""The generated Python package is complete, importable, and offers every RPC of CONTRACT.md."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor

from .expected_rpcs import EXPECTED_RPCS, expected_methods
from .generated import GEN_PYTHON, MISSING_GEN, generated_module_names, import_generated

MODULES = generated_module_names()


def test_generated_python_exists() -> None:
    assert MODULES, MISSING_GEN


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(GEN_PYTHON), (
        f"{name} was imported from {module.__file__}, not gen/python: "
        "reinstall with `make setup` (or `make gen`)"
    )


def test_installed_package_walks_to_every_module() -> None:
    """`import ecom` (the editable install) reaches every generated file as a regular package."""
    if not MODULES:
        pytest.fail(MISSING_GEN)
    ecom = importlib.import_module("ecom")
    walked = ["ecom"] + [info.name for info in pkgutil.walk_packages(ecom.__path__, prefix="ecom.")]
    assert sorted(walked) == sorted(MODULES)


def _find_service(service: str) -> ServiceDescriptor:
    import_generated()
    try:
        return descriptor_pool.Default().FindServiceByName(service)
    except KeyError:
        pass
    pytest.fail(f"{service} is not in gen/python: is its proto written and `make gen` run?")


@pytest.mark.parametrize("service", sorted(EXPECTED_RPCS))
def test_service_offers_contract_rpcs(service: str) -> None:
    found = _find_service(service)
    actual = {
        method.name: (
            method.input_type.full_name,
            method.output_type.full_name,
            method.client_streaming,
            method.server_streaming,
        )
        for method in found.methods
    }
    problems = []
    for rpc, (request, response, streaming) in expected_methods(service).items():
        want = (request, response, False, streaming)
        if rpc not in actual:
            problems.append(f"missing rpc {rpc}")
        elif actual[rpc] != want:
            problems.append(
                f"rpc {rpc}: (request, response, client/server streaming) is "
                f"{actual[rpc]}, want {want}"
            )
    assert not problems, f"{service} ({found.file.name}):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("service", sorted(EXPECTED_RPCS))
def test_grpc_stubs_exist(service: str) -> None:
    found = _find_service(service)
    module_name = found.file.name.removesuffix(".proto").replace("/", ".") + "_pb2_grpc"
    module = importlib.import_module(module_name)
    for attr in (
        f"{found.name}Stub",
        f"{found.name}Servicer",
        f"add_{found.name}Servicer_to_server",
    ):
        assert hasattr(module, attr), f"{module_name} has no {attr}"
