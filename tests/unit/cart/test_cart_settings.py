"""Store settings (checked at start-up) and how a cart presents amounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.cart.domain import Buyer, BuyerKind, Cart
from services.cart.money import Presenter
from services.platform.config import ConfigError, load_config
from services.platform.sites import SiteDirectory


def _directory(tmp_path: Path, **environ: str) -> SiteDirectory:
    return SiteDirectory.from_config(load_config({"ECOM_DATA_DIR": str(tmp_path), **environ}))


def test_defaults_and_per_site_overrides(tmp_path: Path) -> None:
    rates = tmp_path / "tax.json"
    rates.write_text(json.dumps({"jurisdictions": {"DE": {"rate": "0.19"}}}))
    sites = _directory(
        tmp_path,
        ECOM_TAX_RATES=f"@{rates}",
        ECOM_EXCHANGE_RATES='{"EUR": "0.92"}',
        ECOM_SITE_SETTINGS=json.dumps(
            {"jp": {"currency": "JPY", "site_language": "ja", "tax_included_in_prices": True}}
        ),
    )
    default = sites.for_site("anything")
    assert (default.currency, default.weight_unit, default.tax_included_in_prices) == (
        "USD",
        "KG",
        False,
    )
    assert default.tax_table is not None and default.tax_table.get("DE") is not None
    assert default.supports_conversion_to("EUR") and not default.supports_conversion_to("GBP")
    japan = sites.for_site("jp")
    assert (japan.currency, japan.site_language, japan.tax_included_in_prices) == (
        "JPY",
        "ja",
        True,
    )
    assert japan.tax_table == default.tax_table  # not overridden: the default's


@pytest.mark.parametrize(
    "environ",
    [
        {"ECOM_SITE_SETTINGS": '{"s": {"currency": "XYZ"}}'},
        {"ECOM_SITE_SETTINGS": '{"s": {"colour": "red"}}'},
        {"ECOM_SITE_SETTINGS": '{"s": {"tax_rates": {"jurisdictions": {"DE": {"rate": 0.19}}}}}'},
        {"ECOM_EXCHANGE_RATES": '{"EUR": 0.92}'},
        {"ECOM_EXCHANGE_RATES": '{"EUR": "0"}'},
        {"ECOM_TAX_RATES": '{"jurisdictions": {"Germany": {"rate": "0.19"}}}'},
    ],
)
def test_bad_store_settings_stop_start_up(tmp_path: Path, environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        _directory(tmp_path, **environ)


def test_malformed_json_is_refused_by_the_config_itself(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ECOM_TAX_RATES"):
        load_config({"ECOM_DATA_DIR": str(tmp_path), "ECOM_TAX_RATES": "{not json"})
    with pytest.raises(ConfigError, match="ECOM_CURRENCY"):
        load_config({"ECOM_DATA_DIR": str(tmp_path), "ECOM_CURRENCY": "usd"})


def test_prices_are_converted_and_formatted_for_the_buyer(tmp_path: Path) -> None:
    settings = _directory(tmp_path, ECOM_EXCHANGE_RATES='{"EUR": "0.5"}').for_site("s")
    now = datetime(2025, 1, 1, tzinfo=UTC)
    cart = Cart(
        id="c",
        site="s",
        buyer=Buyer(BuyerKind.VISITOR, "v"),
        currency="USD",
        site_language="en",
        tax_included_in_prices=False,
        weight_unit="KG",
        purchase_flow_id="p",
        created=now,
        updated=now,
        conversion_currency="EUR",
        buyer_language="de",
    )
    price = Presenter(cart, settings).price(Decimal("19.99"))
    # 19.99 * 0.5 = 9.995 -> 10.00 (half-even); German style puts the symbol after.
    assert (price.amount, price.converted_amount) == ("19.99", "10.00")
    assert (price.formatted_amount, price.formatted_converted_amount) == ("19,99 $", "10,00 €")
    exact = Presenter(cart, settings).price(Decimal("0.125"), exact=True)
    assert exact.amount == "0.125" and exact.converted_amount == "0.06"
