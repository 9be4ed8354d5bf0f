"""The orders domain: pure rules over plain Python values (no grpc, no SQL, no protobuf).

Enums carry the numbers of the `ecom.orders.v1` proto enums, so the translation layer converts
with `int()` / `Enum(value)` and nothing here imports generated code.
"""
