"""Every generated message survives binary and JSON round trips when fully populated."""

from __future__ import annotations

import pytest
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor

from .generated import MISSING_GEN, all_messages, generated_files, generated_module_names
from .sample_messages import populate


def _message_types() -> list[Descriptor]:
    if not generated_module_names():
        return []
    return all_messages(generated_files())


MESSAGES = _message_types()


def test_there_are_messages() -> None:
    assert MESSAGES, MISSING_GEN


@pytest.mark.parametrize("message_type", MESSAGES, ids=lambda d: d.full_name)
def test_round_trip(message_type: Descriptor) -> None:
    cls = message_factory.GetMessageClass(message_type)
    original = populate(cls())
    if message_type.fields:
        assert original.ByteSize() > 0, f"populate() left {message_type.full_name} empty"

    from_binary = cls.FromString(original.SerializeToString(deterministic=True))
    assert from_binary == original

    as_json = json_format.MessageToJson(original)
    from_json = json_format.Parse(as_json, cls())
    assert from_json == original, as_json

    # Proto field names in JSON (preserving_proto_field_name) parse back too.
    as_proto_names = json_format.MessageToJson(original, preserving_proto_field_name=True)
    assert json_format.Parse(as_proto_names, cls()) == original
