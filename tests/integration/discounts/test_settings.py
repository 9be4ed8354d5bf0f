"""The site's discount settings: defaults until first updated, revisions, who may change them,
and the deployment default (ECOM_DISCOUNT_STACKING)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from ecom.discounts.v1 import discount_settings_pb2 as settings_pb2
from services.platform.identity import Role
from tests.integration.discounts.cases import rule, specific
from tests.integration.discounts.kit import (
    Served,
    applied_request,
    details,
    line,
    pb,
    rule_from,
    serve,
    stop,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _update(
    served: Served,
    site: str,
    policy: settings_pb2.StackingPolicy.ValueType,
    revision: int = 0,
    *paths: str,
) -> Any:
    response = await served.rules.UpdateDiscountSettings(
        pb.UpdateDiscountSettingsRequest(
            discount_settings=settings_pb2.DiscountSettings(
                stacking_policy=policy, revision=revision
            ),
            update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
        ),
        metadata=served.admin(site),
    )
    return response.discount_settings


async def test_defaults_then_updates(served: Served, site: str) -> None:
    got = await served.rules.GetDiscountSettings(
        pb.GetDiscountSettingsRequest(), metadata=served.service(site)
    )
    assert got.discount_settings.stacking_policy == settings_pb2.STACKING_POLICY_STACK_ALL
    assert got.discount_settings.revision == 1
    assert not got.discount_settings.HasField("updated_date")

    best = settings_pb2.STACKING_POLICY_BEST_PER_ITEM
    updated = await _update(served, site, best, 1)
    assert updated.stacking_policy == best and updated.revision == 2
    assert updated.HasField("updated_date")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _update(served, site, settings_pb2.STACKING_POLICY_STACK_ALL, 1)
    assert caught.value.code() is grpc.StatusCode.ABORTED
    assert details(caught.value)[1]["current_revision"] == "2"

    # Named and unset: back to the default.
    cleared = await _update(
        served, site, settings_pb2.STACKING_POLICY_UNSPECIFIED, 0, "stacking_policy"
    )
    assert cleared.stacking_policy == settings_pb2.STACKING_POLICY_STACK_ALL
    assert cleared.revision == 3

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _update(served, site, best, 0, "revision")
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert set(details(caught.value)[2]) == {"update_mask"}


async def test_only_admins_change_settings(sqlite_only: Served, site: str) -> None:
    for role in (Role.SERVICE, Role.MEMBER):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await sqlite_only.rules.UpdateDiscountSettings(
                pb.UpdateDiscountSettingsRequest(
                    discount_settings=settings_pb2.DiscountSettings(
                        stacking_policy=settings_pb2.STACKING_POLICY_BEST_PER_ITEM
                    )
                ),
                metadata=sqlite_only.token(site, role, "someone"),
            )
        assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_the_deployment_default(tmp_path: Path, site: str) -> None:
    served = await serve(tmp_path, {"ECOM_DISCOUNT_STACKING": "best_per_item"})
    try:
        got = await served.rules.GetDiscountSettings(
            pb.GetDiscountSettingsRequest(), metadata=served.admin(site)
        )
        assert got.discount_settings.stacking_policy == settings_pb2.STACKING_POLICY_BEST_PER_ITEM
        await served.create_rule(site, rule_from(rule("10%", specific("PERCENTAGE", "10"))))
        await served.create_rule(site, rule_from(rule("20%", specific("PERCENTAGE", "20"))))
        response = await served.rules.GetAppliedDiscounts(
            applied_request([line("l1", "shirt", "20.00")]), metadata=served.service(site)
        )
        assert response.total_discount.amount == "4.00"  # only the better rule
    finally:
        await stop(served)
