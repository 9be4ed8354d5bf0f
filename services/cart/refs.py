"""Catalog references between the wire (`ecom.common.v1.CatalogReference`) and the domain.

Options are a `google.protobuf.Struct`; the domain keeps them as canonical JSON (sorted keys, no
spaces, `services.platform.inputs.canonical_options`) so that two references with the same
options in another key order are equal, as the contract says. Malformed options are refused by
the request checks; a provider's echo that cannot be read is no reference (`answered_ref`).
"""

from __future__ import annotations

import json

from ecom.common.v1 import catalog_pb2
from services.cart.domain import CatalogRef
from services.platform.inputs import MalformedOptions, canonical_options


def ref_from_proto(reference: catalog_pb2.CatalogReference) -> CatalogRef:
    """Raises MalformedOptions; ids are checked by the request validation."""
    # Most references have no options: skip the JSON round trip ("{}" is what it gives them).
    options = canonical_options(reference.options) if reference.options.fields else "{}"
    return CatalogRef(app_id=reference.app_id, item_id=reference.catalog_item_id, options=options)


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
