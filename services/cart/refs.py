"""Catalog references between the wire (`ecom.common.v1.CatalogReference`) and the domain.

Options are a `google.protobuf.Struct`; the domain keeps them as canonical JSON (sorted keys, no
spaces) so that two references with the same options in another key order are equal, as the
contract says. A Struct that cannot be JSON (a value with no kind, NaN or infinity), nests deeper
than `MAX_OPTIONS_DEPTH` or is longer than `MAX_OPTIONS_BYTES` as JSON is malformed input.
"""

from __future__ import annotations

import json
import math
from typing import Any

from google.protobuf import struct_pb2

from ecom.common.v1 import catalog_pb2
from services.cart.domain import CatalogRef

MAX_APP_ID_LENGTH = 100
MAX_ITEM_ID_LENGTH = 500
MAX_OPTIONS_BYTES = 8192
MAX_OPTIONS_DEPTH = 10


class MalformedOptions(ValueError):
    """The options Struct is not a JSON object we accept; the message says why."""


def _plain(value: struct_pb2.Value, depth: int) -> Any:
    if depth > MAX_OPTIONS_DEPTH:
        raise MalformedOptions(f"nested deeper than {MAX_OPTIONS_DEPTH} levels")
    kind = value.WhichOneof("kind")
    if kind is None:
        raise MalformedOptions("a value has no kind set")
    if kind == "null_value":
        return None
    if kind == "number_value":
        if not math.isfinite(value.number_value):
            raise MalformedOptions("numbers must be finite")
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return _plain_struct(value.struct_value, depth + 1)
    return [_plain(item, depth + 1) for item in value.list_value.values]


def _plain_struct(struct: struct_pb2.Struct, depth: int) -> dict[str, Any]:
    return {key: _plain(item, depth) for key, item in struct.fields.items()}


def canonical_options(options: struct_pb2.Struct) -> str:
    """The canonical JSON text of `options` (an unset Struct is "{}")."""
    text = json.dumps(
        _plain_struct(options, 1), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    if len(text.encode()) > MAX_OPTIONS_BYTES:
        raise MalformedOptions(f"at most {MAX_OPTIONS_BYTES} bytes as JSON")
    return text


def ref_from_proto(reference: catalog_pb2.CatalogReference) -> CatalogRef:
    """Raises MalformedOptions; ids are checked by the request validation."""
    return CatalogRef(
        app_id=reference.app_id,
        item_id=reference.catalog_item_id,
        options=canonical_options(reference.options),
    )


def ref_to_proto(ref: CatalogRef) -> catalog_pb2.CatalogReference:
    reference = catalog_pb2.CatalogReference(catalog_item_id=ref.item_id, app_id=ref.app_id)
    if ref.options != "{}":  # most lines have no options: skip the JSON round trip
        reference.options.update(json.loads(ref.options))
    return reference


def answered_ref(reference: catalog_pb2.CatalogReference) -> CatalogRef | None:
    """The domain reference of a provider's echoed reference; None when it cannot be one."""
    try:
        return ref_from_proto(reference)
    except MalformedOptions:
        return None
