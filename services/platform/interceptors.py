"""The server interceptor every service runs behind.

Per call it: takes or makes a request id, verifies the bearer token, checks the access table,
binds the caller for the servicer, and turns whatever the servicer raises into a proper status
(domain errors through `services.platform.status`; anything unexpected into INTERNAL with a
generic message and a logged traceback carrying the request id).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from services.platform import access, errors, status
from services.platform.identity import Caller, TokenService, bind_call

log = logging.getLogger("ecom.rpc")

REQUEST_ID_KEY = "x-request-id"
SITE_KEY = "x-ecom-site"


def _service_domain(full_method: str) -> str:
    """'/ecom.cart.v1.CartService/GetCart' -> 'ecom.cart.v1' (ErrorInfo.domain)."""
    service, _ = access.split_method(full_method)
    return service.rpartition(".")[0] or status.PLATFORM_DOMAIN


class CallInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, tokens: TokenService) -> None:
        self._tokens = tokens

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or access.is_public(method):
            return handler
        metadata = dict(handler_call_details.invocation_metadata or ())
        request_id = str(metadata.get(REQUEST_ID_KEY) or uuid.uuid4())
        try:
            caller = self._authenticate(metadata)
            _authorize(caller, method, metadata)
        except errors.DomainError as exc:
            return _refusing_handler(handler, exc, status.PLATFORM_DOMAIN, request_id)
        return _guarded_handler(handler, caller, request_id, _service_domain(method), method)

    def _authenticate(self, metadata: dict[str, Any]) -> Caller:
        header = metadata.get("authorization")
        if not header:
            raise errors.Unauthenticated("missing `authorization: Bearer <token>` metadata")
        scheme, _, token = str(header).partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.Unauthenticated("authorization metadata must be `Bearer <token>`")
        return self._tokens.verify(token.strip())


def _authorize(caller: Caller, method: str, metadata: dict[str, Any]) -> None:
    claimed_site = metadata.get(SITE_KEY)
    if claimed_site and claimed_site != caller.site:
        raise errors.PermissionDenied("WRONG_SITE", "the token belongs to another site")
    if caller.role not in access.allowed_roles(method):
        raise errors.PermissionDenied(
            "ROLE_NOT_ALLOWED", f"role {caller.role.value!r} may not call {method}"
        )


async def _abort(
    context: grpc.aio.ServicerContext, exc: BaseException, domain: str, request_id: str
) -> None:
    """Abort the call with the status `exc` deserves; always raises."""
    if isinstance(exc, errors.DomainError):
        mapped: errors.DomainError | None = exc
    else:
        mapped = status.infrastructure_error(exc)
    if mapped is None:
        log.error("unexpected error (request id %s)", request_id, exc_info=exc)
        grpc_status = status.internal_status(request_id)
    else:
        grpc_status = status.to_grpc_status(mapped, domain)
    trailing = (*grpc_status.trailing_metadata, (REQUEST_ID_KEY, request_id))
    await context.abort(grpc_status.code, grpc_status.details, trailing)


def _refusing_handler(
    handler: grpc.RpcMethodHandler, exc: errors.DomainError, domain: str, request_id: str
) -> grpc.RpcMethodHandler:
    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await _abort(context, exc, domain, request_id)

    async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await _abort(context, exc, domain, request_id)
        yield  # pragma: no cover - unreachable, makes this an async generator

    return _rebuild(handler, refuse, refuse_stream)


def _guarded_handler(
    handler: grpc.RpcMethodHandler, caller: Caller, request_id: str, domain: str, method: str
) -> grpc.RpcMethodHandler:
    if handler.request_streaming:
        raise NotImplementedError(f"{method}: client streaming is not used by the suite")

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        bind_call(caller, request_id)
        try:
            return await handler.unary_unary(request, context)
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise
        except Exception as exc:  # noqa: BLE001 - every error must become a status
            await _abort(context, exc, domain, request_id)

    async def server_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        bind_call(caller, request_id)
        try:
            async for response in handler.unary_stream(request, context):
                yield response
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise
        except Exception as exc:  # noqa: BLE001
            await _abort(context, exc, domain, request_id)

    return _rebuild(handler, unary, server_stream)


def _rebuild(
    handler: grpc.RpcMethodHandler,
    unary: Callable[..., Any],
    server_stream: Callable[..., Any],
) -> grpc.RpcMethodHandler:
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(
            server_stream,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return grpc.unary_unary_rpc_method_handler(
        unary,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
