"""The discounts domain: rules, coupons, their evaluation against a cart's lines, and usage.

Pure Python: no grpc, no SQL, no protobuf. Money is `Decimal` through `services.pricing`.
"""
