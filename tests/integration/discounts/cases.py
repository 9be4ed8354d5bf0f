"""Discount cases as data: rules, coupons, a cart and the hand-computed result.

Every case is independent of how it is run. Rules and coupons are kept in their proto JSON form
(`json_format.ParseDict` into `ecom.discounts.v1.DiscountRule` / `Coupon`), lines are catalog items
of the reference catalog (`ecom.catalog`) with a unit price, and the expectations are keyed by
catalog item id, not line id, so the same cases can be replayed:
- through `DiscountRulesService/GetAppliedDiscounts` (test_applied_cases.py, today), and
- through the cart's `EstimateTotals`: upsert each case's items into the reference catalog at the
  given prices, create the rules and coupons, add the lines, apply `coupon_code`, and compare
  `price_summary.subtotal` with `subtotal`, `price_summary.discount` with `total_discount`,
  `price_summary.total` with `total` (no shipping and no tax configured) and each calculated
  line's `total_discount` with `line_discounts`.

How each amount was computed is written next to it. Rounding is half-even to the currency's
minor unit once per (line, discount) part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

CATALOG = "ecom.catalog"
PAST_START, PAST_END = "2020-01-01T00:00:00Z", "2020-02-01T00:00:00Z"
FUTURE_START = "2999-01-01T00:00:00Z"

STACK_ALL = "STACKING_POLICY_STACK_ALL"
BEST_PER_ITEM = "STACKING_POLICY_BEST_PER_ITEM"


# -- builders of proto JSON ------------------------------------------------------------------------


def items(*item_ids: str) -> list[dict[str, Any]]:
    """CATALOG_ITEM scopes for these items; none: the whole catalog."""
    if not item_ids:
        return [{"type": "SCOPE_TYPE_CATALOG_ITEM", "catalogItem": {"catalogAppId": CATALOG}}]
    return [
        {
            "type": "SCOPE_TYPE_CATALOG_ITEM",
            "catalogItem": {"catalogAppId": CATALOG, "catalogItemId": item_id},
        }
        for item_id in item_ids
    ]


def amount(kind: str, value: str) -> dict[str, str]:
    member = {
        "PERCENTAGE": "percentage",
        "FIXED_AMOUNT": "fixedAmount",
        "FIXED_PRICE": "fixedPrice",
    }
    return {"discountType": f"DISCOUNT_TYPE_{kind}", member[kind]: value}


def specific(kind: str, value: str, *item_ids: str) -> dict[str, Any]:
    return {
        "targetType": "TARGET_TYPE_SPECIFIC_ITEMS",
        "specificItemsInfo": {"scopes": items(*item_ids)},
        **amount(kind, value),
    }


def buy_get(
    buy: int,
    buy_items: Sequence[str],
    get: int,
    get_items: Sequence[str],
    kind: str,
    value: str,
    limit: int = 0,
) -> dict[str, Any]:
    return {
        "targetType": "TARGET_TYPE_BUY_X_GET_Y",
        "buyXGetYInfo": {
            "customerBuys": {"quantity": buy, "scopes": items(*buy_items)},
            "customerGets": {"quantity": get, "scopes": items(*get_items)},
            "limit": limit,
        },
        **amount(kind, value),
    }


def quantity(minimum: int = 0, maximum: int = 0, *item_ids: str) -> dict[str, Any]:
    node: dict[str, Any] = {"min": minimum, "max": maximum}
    if item_ids:
        node["scopes"] = items(*item_ids)
    return {"itemQuantityRange": node}


def subtotal(minimum: str = "", maximum: str = "") -> dict[str, Any]:
    return {"subtotalRange": {"min": minimum, "max": maximum}}


def all_of(*triggers: dict[str, Any]) -> dict[str, Any]:
    return {"allOf": {"triggers": list(triggers)}}


def any_of(*triggers: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": {"triggers": list(triggers)}}


ALWAYS = quantity(1)


def rule(
    name: str,
    *discounts: dict[str, Any],
    trigger: dict[str, Any] = ALWAYS,
    lowest_priced: bool = False,
    window: tuple[str, str] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "trigger": trigger,
        "discounts": {"values": list(discounts)},
    }
    if lowest_priced:
        spec["settings"] = {"appliesTo": "APPLIES_TO_LOWEST_PRICED_ITEM"}
    if window is not None:
        spec["activeTimeInfo"] = {"start": window[0], "end": window[1]}
    return spec


def coupon(code: str, name: str = "", **fields: Any) -> dict[str, Any]:
    """A coupon; `fields` in proto JSON (moneyOffAmount, percentOffRate, freeShipping...)."""
    return {"code": code, "name": name or f"Coupon {code}", **fields}


# -- cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    item_id: str
    price: str
    quantity: int = 1


@dataclass(frozen=True)
class Case:
    name: str
    lines: tuple[Item, ...]
    #: Hand-computed: item id -> total discount of its line (lines not listed: "0").
    line_discounts: Mapping[str, str]
    #: Hand-computed: rule name or coupon code -> amount it took (only those that took
    #: something, plus an applied coupon even at 0).
    applied: Mapping[str, str]
    currency: str = "USD"
    rules: tuple[dict[str, Any], ...] = ()
    coupons: tuple[dict[str, Any], ...] = ()
    coupon_code: str | None = None
    stacking: str = STACK_ALL
    shipping_amount: str = ""
    coupon_error: str = ""
    free_shipping: bool = False
    shipping_discount: str = ""
    #: Rule name -> DiscountRuleEvaluation outcome, where the case is about it.
    outcomes: Mapping[str, str] = field(default_factory=dict)

    @property
    def places(self) -> int:
        return 0 if self.currency == "JPY" else 2

    def _money(self, value: Decimal) -> str:
        return f"{value.quantize(Decimal(1).scaleb(-self.places)):f}"

    @property
    def subtotal(self) -> str:
        return self._money(sum((Decimal(i.price) * i.quantity for i in self.lines), Decimal(0)))

    @property
    def total_discount(self) -> str:
        return self._money(sum((Decimal(v) for v in self.line_discounts.values()), Decimal(0)))

    @property
    def total(self) -> str:
        """What the buyer pays for the lines (no shipping, no tax)."""
        return self._money(Decimal(self.subtotal) - Decimal(self.total_discount))


SHIRT, CAP, HAT, MUG, SOCK, BAG = "shirt", "cap", "hat", "mug", "sock", "bag"

CASES: tuple[Case, ...] = (
    # -- percentages ----------------------------------------------------------------------------
    Case(
        "percent off everything",
        (Item(SHIRT, "20.00", 2), Item(MUG, "9.99")),
        rules=(rule("10% off", specific("PERCENTAGE", "10")),),
        # shirt 2 x 20.00 x 10% = 4.00; mug 9.99 x 10% = 0.999 -> 1.00
        line_discounts={SHIRT: "4.00", MUG: "1.00"},
        applied={"10% off": "5.00"},
    ),
    Case(
        "percent off one item",
        (Item(HAT, "15.00"), Item(SOCK, "3.50", 2)),
        rules=(rule("25% off hats", specific("PERCENTAGE", "25", HAT)),),
        # hat 15.00 x 25% = 3.75; socks not in scope
        line_discounts={HAT: "3.75"},
        applied={"25% off hats": "3.75"},
    ),
    # -- fixed amount / fixed price -------------------------------------------------------------
    Case(
        "fixed amount off each unit",
        (Item(SHIRT, "20.00", 3), Item(CAP, "8.00")),
        rules=(rule("5 off shirts", specific("FIXED_AMOUNT", "5", SHIRT)),),
        # 3 shirts x 5.00
        line_discounts={SHIRT: "15.00"},
        applied={"5 off shirts": "15.00"},
    ),
    Case(
        "fixed amount capped at the unit price",
        (Item(SOCK, "3.50", 2),),
        rules=(rule("10 off socks", specific("FIXED_AMOUNT", "10", SOCK)),),
        # each sock capped at 3.50: 2 x 3.50
        line_discounts={SOCK: "7.00"},
        applied={"10 off socks": "7.00"},
    ),
    Case(
        "fixed price, cheaper units unchanged",
        (Item(CAP, "8.00", 3), Item(SOCK, "3.50")),
        rules=(rule("Caps and socks for 5", specific("FIXED_PRICE", "5", CAP, SOCK)),),
        # caps 8.00 -> 5.00: 3 x 3.00 = 9.00; a sock at 3.50 is already below 5
        line_discounts={CAP: "9.00"},
        applied={"Caps and socks for 5": "9.00"},
    ),
    # -- buy X get Y ----------------------------------------------------------------------------
    Case(
        "buy 2 shirts get 1 cap free",
        (Item(SHIRT, "20.00", 2), Item(CAP, "8.00", 2)),
        rules=(rule("Buy 2 get a cap", buy_get(2, [SHIRT], 1, [CAP], "PERCENTAGE", "100")),),
        # one round: 2 shirts bought, 1 cap free; no shirts left for a second round
        line_discounts={CAP: "8.00"},
        applied={"Buy 2 get a cap": "8.00"},
    ),
    Case(
        "buy 2 get 1 of the same item",
        (Item(SOCK, "3.50", 7),),
        rules=(rule("Socks 3 for 2", buy_get(2, [SOCK], 1, [SOCK], "PERCENTAGE", "100")),),
        # 7 socks: two full rounds of 2 + 1, one sock left over -> 2 free socks
        line_discounts={SOCK: "7.00"},
        applied={"Socks 3 for 2": "7.00"},
    ),
    Case(
        "buy 2 get the cheapest at half price, limit 1",
        (Item(BAG, "45.00"), Item(SHIRT, "20.00"), Item(MUG, "9.99"), Item(SOCK, "3.50", 3)),
        rules=(rule("Half-price cheapest", buy_get(2, [], 1, [], "PERCENTAGE", "50", limit=1)),),
        # round 1: buys bag + shirt, gets the cheapest other unit (a sock) at 50% = 1.75;
        # a second round (mug + a sock, get a sock) is cut by the limit
        line_discounts={SOCK: "1.75"},
        applied={"Half-price cheapest": "1.75"},
    ),
    Case(
        "buy a bag get a sock for 1",
        (Item(BAG, "45.00"), Item(SOCK, "3.50", 2)),
        rules=(rule("Sock for 1", buy_get(1, [BAG], 1, [SOCK], "FIXED_PRICE", "1.00")),),
        # one round (one bag): one sock 3.50 -> 1.00
        line_discounts={SOCK: "2.50"},
        applied={"Sock for 1": "2.50"},
    ),
    # -- lowest priced item ---------------------------------------------------------------------
    Case(
        "cheapest item free",
        (Item(SHIRT, "20.00"), Item(MUG, "9.99"), Item(CAP, "8.00", 2)),
        rules=(
            rule(
                "Cheapest free",
                specific("PERCENTAGE", "100"),
                trigger=quantity(3),
                lowest_priced=True,
            ),
        ),
        # 4 units, trigger met; one unit of the cheapest line (cap 8.00)
        line_discounts={CAP: "8.00"},
        applied={"Cheapest free": "8.00"},
    ),
    Case(
        "cheapest item, tie goes to the first line",
        (Item(CAP, "8.00"), Item("visor", "8.00")),
        rules=(rule("Half a cheap one", specific("PERCENTAGE", "50"), lowest_priced=True),),
        # cap and visor both 8.00: the cap's line comes first -> 4.00
        line_discounts={CAP: "4.00"},
        applied={"Half a cheap one": "4.00"},
    ),
    # -- subtotal and quantity triggers ---------------------------------------------------------
    Case(
        "subtotal trigger met",
        (Item(BAG, "45.00"), Item(SOCK, "3.50", 2)),
        rules=(rule("10% over 50", specific("PERCENTAGE", "10"), trigger=subtotal("50")),),
        # subtotal 52.00 >= 50: bag 4.50, socks 7.00 x 10% = 0.70
        line_discounts={BAG: "4.50", SOCK: "0.70"},
        applied={"10% over 50": "5.20"},
    ),
    Case(
        "subtotal trigger not met",
        (Item(BAG, "45.00"), Item(SOCK, "3.50")),
        rules=(rule("10% over 50", specific("PERCENTAGE", "10"), trigger=subtotal("50")),),
        # subtotal 48.50 < 50
        line_discounts={},
        applied={},
        outcomes={"10% over 50": "OUTCOME_TRIGGER_NOT_MET"},
    ),
    Case(
        "subtotal between min and max",
        (Item(SHIRT, "20.00"), Item(SOCK, "3.50")),
        rules=(
            rule("20% from 10 to 30", specific("PERCENTAGE", "20"), trigger=subtotal("10", "30")),
        ),
        # subtotal 23.50 in [10, 30]: shirt 4.00, sock 0.70
        line_discounts={SHIRT: "4.00", SOCK: "0.70"},
        applied={"20% from 10 to 30": "4.70"},
    ),
    Case(
        "quantity trigger on scoped items",
        (Item(SOCK, "3.50", 3), Item(SHIRT, "20.00")),
        rules=(
            rule(
                "1 off socks by 3",
                specific("FIXED_AMOUNT", "1", SOCK),
                trigger=quantity(3, 0, SOCK),
            ),
        ),
        # 3 socks counted (the shirt is not in the trigger's scope): 3 x 1.00
        line_discounts={SOCK: "3.00"},
        applied={"1 off socks by 3": "3.00"},
    ),
    Case(
        "quantity trigger not met",
        (Item(SOCK, "3.50", 2), Item(SHIRT, "20.00", 5)),
        rules=(
            rule(
                "1 off socks by 3",
                specific("FIXED_AMOUNT", "1", SOCK),
                trigger=quantity(3, 0, SOCK),
            ),
        ),
        # only 2 socks (shirts do not count)
        line_discounts={},
        applied={},
        outcomes={"1 off socks by 3": "OUTCOME_TRIGGER_NOT_MET"},
    ),
    # -- AND / OR -------------------------------------------------------------------------------
    Case(
        "AND of subtotal and quantity, met",
        (Item(HAT, "15.00"), Item(SHIRT, "20.00")),
        rules=(
            rule(
                "15% hats over 30",
                specific("PERCENTAGE", "15", HAT),
                trigger=all_of(subtotal("30"), quantity(1, 0, HAT)),
            ),
        ),
        # subtotal 35.00 >= 30 and a hat: 15.00 x 15% = 2.25
        line_discounts={HAT: "2.25"},
        applied={"15% hats over 30": "2.25"},
    ),
    Case(
        "AND of subtotal and quantity, one part fails",
        (Item(HAT, "15.00"), Item(SOCK, "3.50")),
        rules=(
            rule(
                "15% hats over 30",
                specific("PERCENTAGE", "15", HAT),
                trigger=all_of(subtotal("30"), quantity(1, 0, HAT)),
            ),
        ),
        # subtotal 18.50 < 30
        line_discounts={},
        applied={},
        outcomes={"15% hats over 30": "OUTCOME_TRIGGER_NOT_MET"},
    ),
    Case(
        "OR met by its second part",
        (Item(MUG, "9.99", 2), Item(SOCK, "3.50")),
        rules=(
            rule(
                "10% over 100 or 2 mugs",
                specific("PERCENTAGE", "10"),
                trigger=any_of(subtotal("100"), quantity(2, 0, MUG)),
            ),
        ),
        # subtotal 23.48 < 100, but 2 mugs: mugs 19.98 x 10% = 1.998 -> 2.00; sock 0.35
        line_discounts={MUG: "2.00", SOCK: "0.35"},
        applied={"10% over 100 or 2 mugs": "2.35"},
    ),
    Case(
        "AND of an OR, nested",
        (Item(BAG, "45.00"), Item(CAP, "8.00")),
        rules=(
            rule(
                "20% bags",
                specific("PERCENTAGE", "20", BAG),
                trigger=all_of(
                    any_of(quantity(2, 0, SHIRT), quantity(1, 0, BAG)), subtotal("", "200")
                ),
            ),
        ),
        # a bag (OR met) and subtotal 53.00 <= 200: 45.00 x 20% = 9.00
        line_discounts={BAG: "9.00"},
        applied={"20% bags": "9.00"},
    ),
    # -- windows --------------------------------------------------------------------------------
    Case(
        "expired window",
        (Item(SHIRT, "20.00"),),
        rules=(rule("Old sale", specific("PERCENTAGE", "50"), window=(PAST_START, PAST_END)),),
        # the window ended in 2020: the rule is EXPIRED and not even considered
        line_discounts={},
        applied={},
    ),
    Case(
        "window not started",
        (Item(SHIRT, "20.00"),),
        rules=(
            rule(
                "Future sale",
                specific("PERCENTAGE", "50"),
                window=(FUTURE_START, "2999-02-01T00:00:00Z"),
            ),
        ),
        # PENDING until 2999: not considered
        line_discounts={},
        applied={},
    ),
    # -- stacking -------------------------------------------------------------------------------
    Case(
        "stack all: both rules on the shirt",
        (Item(SHIRT, "20.00"), Item(CAP, "8.00")),
        rules=(
            rule("10% off all", specific("PERCENTAGE", "10")),
            rule("5 off shirts", specific("FIXED_AMOUNT", "5", SHIRT)),
        ),
        # each on the price before discounts: shirt 2.00 + 5.00; cap 0.80
        line_discounts={SHIRT: "7.00", CAP: "0.80"},
        applied={"10% off all": "2.80", "5 off shirts": "5.00"},
    ),
    Case(
        "best per item: the bigger rule per line",
        (Item(SHIRT, "20.00"), Item(CAP, "8.00")),
        stacking=BEST_PER_ITEM,
        rules=(
            rule("10% off all", specific("PERCENTAGE", "10")),
            rule("5 off shirts", specific("FIXED_AMOUNT", "5", SHIRT)),
        ),
        # shirt: 5.00 beats 2.00; cap: only the 10% rule, 0.80
        line_discounts={SHIRT: "5.00", CAP: "0.80"},
        applied={"10% off all": "0.80", "5 off shirts": "5.00"},
    ),
    Case(
        "best per item: a rule outdone everywhere",
        (Item(SHIRT, "20.00"),),
        stacking=BEST_PER_ITEM,
        rules=(
            rule("10% off shirts", specific("PERCENTAGE", "10", SHIRT)),
            rule("25% off shirts", specific("PERCENTAGE", "25", SHIRT)),
        ),
        # 5.00 beats 2.00; the 10% rule takes nothing
        line_discounts={SHIRT: "5.00"},
        applied={"25% off shirts": "5.00"},
        outcomes={"10% off shirts": "OUTCOME_OUTDONE", "25% off shirts": "OUTCOME_APPLIED"},
    ),
    Case(
        "stack all: the second rule is cut to what is left",
        (Item(CAP, "8.00"),),
        rules=(
            rule("70% off caps", specific("PERCENTAGE", "70", CAP)),
            rule("50% off caps", specific("PERCENTAGE", "50", CAP)),
        ),
        # 5.60, then 4.00 cut to the 2.40 left: the cap is free, not negative
        line_discounts={CAP: "8.00"},
        applied={"70% off caps": "5.60", "50% off caps": "2.40"},
    ),
    # -- coupons --------------------------------------------------------------------------------
    Case(
        "rule then coupon on what is left",
        (Item(SHIRT, "20.00"),),
        rules=(rule("10% off", specific("PERCENTAGE", "10")),),
        coupons=(coupon("SAVE15", percentOffRate="15"),),
        coupon_code="SAVE15",
        # rule 2.00; coupon 15% of the 18.00 left = 2.70
        line_discounts={SHIRT: "4.70"},
        applied={"10% off": "2.00", "SAVE15": "2.70"},
    ),
    Case(
        "coupon money off split by largest remainder",
        (Item(SHIRT, "20.00"), Item(CAP, "8.00"), Item(SOCK, "3.50", 2)),
        coupons=(coupon("TENOFF", moneyOffAmount="10"),),
        coupon_code="TENOFF",
        # 10.00 over 20.00 / 8.00 / 7.00 (35.00): exact 5.714.., 2.285.., 2.00;
        # floors 5.71 + 2.28 + 2.00 = 9.99, the cent goes to the largest remainder (cap)
        line_discounts={SHIRT: "5.71", CAP: "2.29", SOCK: "2.00"},
        applied={"TENOFF": "10.00"},
    ),
    Case(
        "coupon money off capped at the cart",
        (Item(SOCK, "3.50", 2),),
        coupons=(coupon("FIFTY", moneyOffAmount="50"),),
        coupon_code="FIFTY",
        # only 7.00 to take
        line_discounts={SOCK: "7.00"},
        applied={"FIFTY": "7.00"},
    ),
    Case(
        "coupon fixed price on a scoped item",
        (Item(HAT, "15.00", 2), Item(SHIRT, "20.00")),
        coupons=(coupon("HATS10", fixedPriceAmount="10", scope=items(HAT)[0]),),
        coupon_code="HATS10",
        # hats 15.00 -> 10.00: 2 x 5.00; the shirt is out of scope
        line_discounts={HAT: "10.00"},
        applied={"HATS10": "10.00"},
    ),
    Case(
        "coupon limited to one item",
        (Item(SHIRT, "20.00", 2), Item(BAG, "45.00")),
        coupons=(coupon("HALFONE", percentOffRate="50", limitedToOneItem=True),),
        coupon_code="HALFONE",
        # the single most expensive unit, the bag: 22.50
        line_discounts={BAG: "22.50"},
        applied={"HALFONE": "22.50"},
    ),
    Case(
        "coupon free shipping",
        (Item(SHIRT, "20.00"),),
        coupons=(coupon("SHIPFREE", freeShipping=True),),
        coupon_code="SHIPFREE",
        shipping_amount="7.95",
        # no line discount; the shipping price is discounted
        line_discounts={},
        applied={"SHIPFREE": "7.95"},
        free_shipping=True,
        shipping_discount="7.95",
    ),
    Case(
        "coupon code matched case-insensitively",
        (Item(SHIRT, "20.00"),),
        coupons=(coupon("Summer10", percentOffRate="10"),),
        coupon_code="  summer10 ",
        line_discounts={SHIRT: "2.00"},
        applied={"Summer10": "2.00"},
    ),
    Case(
        "expired coupon",
        (Item(SHIRT, "20.00"),),
        coupons=(
            coupon("OLD10", percentOffRate="10", startTime=PAST_START, expirationTime=PAST_END),
        ),
        coupon_code="OLD10",
        line_discounts={},
        applied={},
        coupon_error="COUPON_EXPIRED",
    ),
    Case(
        "coupon not active yet",
        (Item(SHIRT, "20.00"),),
        coupons=(coupon("SOON10", percentOffRate="10", startTime=FUTURE_START),),
        coupon_code="SOON10",
        line_discounts={},
        applied={},
        coupon_error="COUPON_NOT_ACTIVE_YET",
    ),
    Case(
        "coupon minimum subtotal not met, the rule still applies",
        (Item(SHIRT, "20.00"), Item(SOCK, "3.50")),
        rules=(rule("10% off", specific("PERCENTAGE", "10")),),
        coupons=(coupon("BIG50", moneyOffAmount="10", minimumSubtotal="50"),),
        coupon_code="BIG50",
        # subtotal 23.50 < 50: coupon refused; rule 2.00 + 0.35
        line_discounts={SHIRT: "2.00", SOCK: "0.35"},
        applied={"10% off": "2.35"},
        coupon_error="COUPON_MINIMUM_SUBTOTAL_NOT_MET",
    ),
    Case(
        "coupon for items not in the cart",
        (Item(SHIRT, "20.00"),),
        coupons=(coupon("BAGS5", moneyOffAmount="5", scope=items(BAG)[0]),),
        coupon_code="BAGS5",
        line_discounts={},
        applied={},
        coupon_error="COUPON_NOT_APPLICABLE",
    ),
    Case(
        "unknown coupon",
        (Item(SHIRT, "20.00"),),
        coupon_code="NOPE",
        line_discounts={},
        applied={},
        coupon_error="COUPON_NOT_FOUND",
    ),
    Case(
        "switched-off coupon",
        (Item(SHIRT, "20.00"),),
        coupons=(coupon("OFF10", percentOffRate="10", active=False),),
        coupon_code="OFF10",
        line_discounts={},
        applied={},
        coupon_error="COUPON_INACTIVE",
    ),
    # -- rounding -------------------------------------------------------------------------------
    Case(
        "JPY percent, half-even both ways",
        (Item("tea", "1230"), Item("cup", "3450")),
        currency="JPY",
        rules=(rule("15% off", specific("PERCENTAGE", "15")),),
        # 1230 x 15% = 184.5 -> 184 (even); 3450 x 15% = 517.5 -> 518 (even)
        line_discounts={"tea": "184", "cup": "518"},
        applied={"15% off": "702"},
    ),
    Case(
        "JPY coupon money off allocation",
        (Item("tea", "1230"), Item("cup", "3450")),
        currency="JPY",
        coupons=(coupon("YEN1000", moneyOffAmount="1000"),),
        coupon_code="YEN1000",
        # 1000 over 1230 / 3450 (4680): exact 262.82, 737.18; floors 262 + 737 = 999, the
        # last yen to the largest remainder (tea)
        line_discounts={"tea": "263", "cup": "737"},
        applied={"YEN1000": "1000"},
    ),
    Case(
        "USD half-even on exact half cents",
        (Item("sticker", "0.20"), Item("pin", "0.60")),
        rules=(rule("12.5% off", specific("PERCENTAGE", "12.5")),),
        # 0.20 x 12.5% = 0.025 -> 0.02 (even); 0.60 x 12.5% = 0.075 -> 0.08 (even)
        line_discounts={"sticker": "0.02", "pin": "0.08"},
        applied={"12.5% off": "0.10"},
    ),
    Case(
        "USD rounding once per line, not per unit",
        (Item(MUG, "9.99", 3),),
        rules=(rule("15% off mugs", specific("PERCENTAGE", "15", MUG)),),
        # 3 x 9.99 x 15% = 4.4955 -> 4.50 (per unit 1.4985 -> 1.50 would give the same;
        # per line is what the contract promises)
        line_discounts={MUG: "4.50"},
        applied={"15% off mugs": "4.50"},
    ),
)
