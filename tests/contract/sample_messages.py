"""Build a populated instance of any message type, for round-trip and serialization tests.

`populate(message)` fills, recursively and deterministically: every scalar field with a sample
value, the first member of each oneof, one element of each repeated field, one entry of each map,
message fields down to `max_depth` levels. Well-known types get values that JSON can represent
(a valid Timestamp, a Struct with one key, an Any holding a Timestamp...).
"""

from __future__ import annotations

from typing import cast

from google.protobuf import any_pb2, duration_pb2, field_mask_pb2, struct_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

MAX_DEPTH = 4

T = FieldDescriptor  # the field type constants


def _timestamp() -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=1_767_225_600, nanos=250_000_000)  # 2026-01-01


def _fill_well_known(message: Message) -> bool:
    """Fill a well-known type in place; False if `message` is not one that needs special care."""
    name = message.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp":
        message.CopyFrom(_timestamp())
    elif name == "google.protobuf.Duration":
        message.CopyFrom(duration_pb2.Duration(seconds=90, nanos=500_000_000))
    elif name == "google.protobuf.FieldMask":
        message.CopyFrom(field_mask_pb2.FieldMask(paths=["buyer_note", "buyer_info.email"]))
    elif name == "google.protobuf.Struct":
        struct = struct_pb2.Struct()
        struct.update({"color": "red", "size": 42.0, "tags": ["a", "b"]})
        message.CopyFrom(struct)
    elif name == "google.protobuf.Value":
        message.CopyFrom(struct_pb2.Value(string_value="sample"))
    elif name == "google.protobuf.ListValue":
        message.CopyFrom(struct_pb2.ListValue(values=[struct_pb2.Value(number_value=1.5)]))
    elif name == "google.protobuf.Any":
        packed = any_pb2.Any()
        packed.Pack(_timestamp())
        message.CopyFrom(packed)
    else:
        return False
    return True


def _scalar(field: FieldDescriptor) -> object:
    kind = field.type
    if kind == T.TYPE_STRING:
        return f"sample-{field.name}"
    if kind == T.TYPE_BYTES:
        return b"\x00\x01sample"
    if kind == T.TYPE_BOOL:
        return True
    if kind in (T.TYPE_FLOAT, T.TYPE_DOUBLE):
        return 1.5  # exact in float32 and float64
    if kind == T.TYPE_ENUM:
        assert field.enum_type is not None
        values = field.enum_type.values
        return next((v.number for v in values if v.number != 0), values[0].number)
    if kind in (T.TYPE_INT32, T.TYPE_SINT32, T.TYPE_SFIXED32):
        return -7
    if kind in (T.TYPE_INT64, T.TYPE_SINT64, T.TYPE_SFIXED64):
        return -(2**40)  # beyond 2**32, below 2**53: exercises JSON's int64-as-string
    if kind in (T.TYPE_UINT32, T.TYPE_FIXED32):
        return 7
    if kind in (T.TYPE_UINT64, T.TYPE_FIXED64):
        return 2**40
    raise TypeError(f"unhandled field type {kind} of {field.full_name}")


def _map_entry(field: FieldDescriptor) -> Descriptor | None:
    """The synthesized `XxxEntry` type of a map field, else None."""
    entry = field.message_type
    return entry if entry is not None and entry.GetOptions().map_entry else None


def populate(message: Message, depth: int = 0, max_depth: int = MAX_DEPTH) -> Message:
    """Fill `message` in place (see module doc) and return it."""
    if _fill_well_known(message):
        return message
    filled_oneofs: set[str] = set()
    descriptor = cast(Descriptor, message.DESCRIPTOR)  # stubs: a union with upb's Descriptor
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None:
            if oneof.full_name in filled_oneofs:
                continue
            if field.message_type is not None and depth >= max_depth:
                continue  # try the next member: maybe a scalar
            filled_oneofs.add(oneof.full_name)
        entry = _map_entry(field)
        if entry is not None:
            key_field = entry.fields_by_name["key"]
            value_field = entry.fields_by_name["value"]
            container = getattr(message, field.name)
            key = _scalar(key_field)
            if value_field.message_type is not None:
                if depth < max_depth:
                    populate(container[key], depth + 1, max_depth)
            else:
                container[key] = _scalar(value_field)
        elif field.message_type is not None:
            if depth >= max_depth:
                continue
            if field.is_repeated:
                populate(getattr(message, field.name).add(), depth + 1, max_depth)
            else:
                child = getattr(message, field.name)
                populate(child, depth + 1, max_depth)
                if child.ByteSize() == 0:
                    child.SetInParent()  # an empty message (Empty, or all fields too deep) is set
        elif field.is_repeated:
            getattr(message, field.name).append(_scalar(field))
        else:
            setattr(message, field.name, _scalar(field))
    return message
