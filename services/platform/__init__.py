"""Shared runtime of every ecom-grpc service.

Server bootstrap, identity, errors, storage, events and provider calls live here once.
"""
