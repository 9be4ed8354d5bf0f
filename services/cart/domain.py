"""The cart's rules in plain Python: what a cart is, how lines merge, the limits, who owns it.

No grpc, no SQL. Catalog data and the contact address are carried as opaque bytes (serialized
protobuf messages) because no rule here reads them: the API layer renders them and the totals
module prices them. Every operation returns a new `Cart` (frozen dataclasses), so "nothing
changed" is simply `new == old`.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from services.platform.errors import FailedPrecondition, NotFound, PermissionDenied
from services.platform.identity import Caller, Role

RESOURCE = "cart"
MAX_LINES = 300
MAX_QUANTITY = 100_000
MAX_MERCHANT_DISCOUNTS = 50

LINE_ITEM_QUANTITY_LIMIT_EXCEEDED = "LINE_ITEM_QUANTITY_LIMIT_EXCEEDED"
LINE_ITEMS_LIMIT_EXCEEDED = "LINE_ITEMS_LIMIT_EXCEEDED"
LINE_ITEM_NOT_FOUND = "LINE_ITEM_NOT_FOUND"
CART_NOT_FOUND = "CART_NOT_FOUND"
OWNED_CART_NOT_FOUND = "OWNED_CART_NOT_FOUND"


class BuyerKind(enum.StrEnum):
    VISITOR = "visitor"
    MEMBER = "member"
    USER = "user"


@dataclass(frozen=True)
class Buyer:
    kind: BuyerKind
    id: str

    @classmethod
    def of(cls, caller: Caller) -> Buyer:
        """The buyer a caller is: visitors and members by role, staff as back-office users."""
        if caller.role is Role.VISITOR:
            return cls(BuyerKind.VISITOR, caller.subject)
        if caller.role is Role.MEMBER:
            return cls(BuyerKind.MEMBER, caller.subject)
        return cls(BuyerKind.USER, caller.subject)


@dataclass(frozen=True)
class CatalogRef:
    """A line's catalog reference; `options` is canonical JSON (sorted keys), so equal options
    compare equal whatever their key order."""

    app_id: str
    item_id: str
    options: str = "{}"


class CatalogStatus(enum.IntEnum):
    #: The catalog has not answered for this line yet (provider down when it was added).
    UNREAD = 0
    #: The catalog knows the item; `data` holds what it said.
    FOUND = 1
    #: The catalog answered and no longer knows the item.
    NOT_FOUND = 2


@dataclass(frozen=True)
class CatalogEntry:
    """What the catalog last said about a line's item. `data` is a serialized
    `ecom.spi.catalog.v1.CatalogItemData` when FOUND, else empty."""

    status: CatalogStatus = CatalogStatus.UNREAD
    data: bytes = b""


@dataclass(frozen=True)
class Line:
    id: str
    ref: CatalogRef
    quantity: int
    catalog: CatalogEntry = field(default_factory=CatalogEntry)


@dataclass(frozen=True)
class MerchantDiscount:
    """A discount an admin gave by hand: `amount` off the lines named (all lines when empty)."""

    amount: Decimal
    line_ids: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class ShippingChoice:
    carrier_id: str
    code: str


@dataclass(frozen=True)
class Cart:
    id: str
    site: str
    buyer: Buyer
    currency: str
    site_language: str
    tax_included_in_prices: bool
    weight_unit: str
    purchase_flow_id: str
    created: datetime
    updated: datetime
    revision: int = 1
    email: str = ""
    contact_id: str = ""
    buyer_note: str = ""
    conversion_currency: str = ""
    buyer_language: str = ""
    checkout_id: str = ""
    #: Serialized `ecom.common.v1.AddressWithContact`; empty when unknown.
    contact_info: bytes = b""
    selected_shipping: ShippingChoice | None = None
    override_checkout_url: str = ""
    coupon_code: str = ""
    merchant_discounts: tuple[MerchantDiscount, ...] = ()
    lines: tuple[Line, ...] = ()

    def line(self, line_id: str) -> Line | None:
        return next((line for line in self.lines if line.id == line_id), None)


# --------------------------------------------------------------------------- access


def owns(cart: Cart, caller: Caller) -> bool:
    """Whether `caller` is the buyer of `cart` (a visitor token reaches visitor carts only)."""
    if caller.role is Role.VISITOR:
        return cart.buyer == Buyer(BuyerKind.VISITOR, caller.subject)
    if caller.role is Role.MEMBER:
        return cart.buyer == Buyer(BuyerKind.MEMBER, caller.subject)
    return False


def check_access(cart: Cart, caller: Caller) -> None:
    """Staff reach every cart of their site; buyers only their own (PERMISSION_DENIED)."""
    if caller.is_staff or owns(cart, caller):
        return
    raise PermissionDenied("NOT_OWNER", "the cart belongs to another buyer")


def not_found(cart_id: str) -> NotFound:
    return NotFound(CART_NOT_FOUND, f"no cart {cart_id!r} on this site", metadata={"id": cart_id})


def no_current_cart() -> NotFound:
    return NotFound(OWNED_CART_NOT_FOUND, "the caller has no current cart")


# --------------------------------------------------------------------------- adding lines


def new_line_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class NewLine:
    """A line of a request: `index` is its position in the request (for error metadata).

    `line_id` is the id it gets if it becomes a new line, fixed when the request is read: a
    write runs its rule on the cart as read (to ask the catalog and the discounts service before
    its transaction) and again under the lock, and both runs must name the new lines alike."""

    ref: CatalogRef
    quantity: int
    index: int
    line_id: str = field(default_factory=new_line_id)


def combine(items: Sequence[NewLine]) -> list[NewLine]:
    """Equal references within one request become one entry (first index, summed quantity).

    Raises LINE_ITEM_QUANTITY_LIMIT_EXCEEDED when a sum passes 100000, naming the request line
    whose quantity took it over.
    """
    combined: dict[CatalogRef, NewLine] = {}
    for item in items:
        seen = combined.get(item.ref)
        if seen is None:
            combined[item.ref] = item
            continue
        total = seen.quantity + item.quantity
        if total > MAX_QUANTITY:
            raise _quantity_limit(item.index, total)
        combined[item.ref] = replace(seen, quantity=total)
    return list(combined.values())


def _quantity_limit(index: int, total: int) -> FailedPrecondition:
    return FailedPrecondition(
        LINE_ITEM_QUANTITY_LIMIT_EXCEEDED,
        f"line_items[{index}] would bring the line's quantity to {total}; "
        f"the most is {MAX_QUANTITY}",
        metadata={"line_item_index": str(index)},
    )


def add_lines(cart: Cart, items: Sequence[NewLine]) -> Cart:
    """Add request lines: an item already in the cart gets the quantity on its line, others
    become new lines (with their `line_id`) at the end in request order. All or nothing."""
    lines = list(cart.lines)
    by_ref = {line.ref: i for i, line in enumerate(lines)}
    for item in combine(items):
        at = by_ref.get(item.ref)
        if at is not None:
            total = lines[at].quantity + item.quantity
            if total > MAX_QUANTITY:
                raise _quantity_limit(item.index, total)
            lines[at] = replace(lines[at], quantity=total)
            continue
        if len(lines) >= MAX_LINES:
            raise FailedPrecondition(
                LINE_ITEMS_LIMIT_EXCEEDED,
                f"the cart would have more than {MAX_LINES} lines",
                metadata={"max_lines": str(MAX_LINES)},
            )
        by_ref[item.ref] = len(lines)
        lines.append(Line(item.line_id, item.ref, item.quantity))
    return replace(cart, lines=tuple(lines))


# --------------------------------------------------------------------------- other line changes


def remove_lines(cart: Cart, line_ids: Iterable[str]) -> Cart:
    """Drop the named lines (unknown ids are ignored). Merchant discounts lose the removed ids;
    one that named only removed lines goes too."""
    doomed = set(line_ids)
    lines = tuple(line for line in cart.lines if line.id not in doomed)
    if len(lines) == len(cart.lines):
        return cart
    discounts: list[MerchantDiscount] = []
    for discount in cart.merchant_discounts:
        if not discount.line_ids:
            discounts.append(discount)
            continue
        kept = tuple(i for i in discount.line_ids if i not in doomed)
        if kept:
            discounts.append(replace(discount, line_ids=kept))
    return replace(cart, lines=lines, merchant_discounts=tuple(discounts))


def set_quantities(cart: Cart, quantities: Mapping[str, int]) -> Cart:
    """Absolute quantities for the named lines; an unknown id fails the whole call."""
    known = {line.id for line in cart.lines}
    for line_id in quantities:
        if line_id not in known:
            raise FailedPrecondition(
                LINE_ITEM_NOT_FOUND,
                f"line {line_id!r} is not in the cart",
                metadata={"line_item_id": line_id},
            )
    lines = tuple(
        replace(line, quantity=quantities[line.id]) if line.id in quantities else line
        for line in cart.lines
    )
    return replace(cart, lines=lines)


def apply_catalog(cart: Cart, entries: Mapping[CatalogRef, CatalogEntry]) -> Cart:
    """Store freshly read catalog data on the lines it is for; other lines keep theirs.

    A line whose item the catalog no longer knows keeps its last data (so the buyer still sees
    what it was) but is NOT_FOUND: it is never priced again.
    """
    if not entries:
        return cart

    def fresh(line: Line) -> Line:
        entry = entries.get(line.ref)
        if entry is None:
            return line
        if entry.status is CatalogStatus.NOT_FOUND:
            entry = CatalogEntry(CatalogStatus.NOT_FOUND, line.catalog.data)
        return line if entry == line.catalog else replace(line, catalog=entry)

    return replace(cart, lines=tuple(fresh(line) for line in cart.lines))


def check_merchant_discount_lines(
    cart: Cart, discounts: Sequence[MerchantDiscount], field_prefix: str
) -> list[tuple[str, str]]:
    """Field violations for merchant discounts naming lines that are not in the cart."""
    known = {line.id for line in cart.lines}
    problems: list[tuple[str, str]] = []
    for i, discount in enumerate(discounts):
        for j, line_id in enumerate(discount.line_ids):
            if line_id not in known:
                problems.append(
                    (
                        f"{field_prefix}[{i}].line_item_ids[{j}]",
                        f"line {line_id!r} is not in the cart",
                    )
                )
    return problems


# --------------------------------------------------------------------------- writes


def committed(old: Cart, new: Cart, now: datetime) -> Cart:
    """`new` as written: one revision more than `old`, updated now."""
    return replace(new, revision=old.revision + 1, updated=now)


def changed(old: Cart, new: Cart) -> bool:
    """Whether `new` differs from `old` in anything but catalog data (which refreshes by itself
    and is no change of the caller's)."""

    # Every field of a line but its catalog entry, then every field of the cart but its lines.
    if len(old.lines) != len(new.lines) or any(
        a.id != b.id or a.ref != b.ref or a.quantity != b.quantity
        for a, b in zip(old.lines, new.lines, strict=True)
    ):
        return True
    return replace(old, lines=()) != replace(new, lines=())


# --------------------------------------------------------------------------- merging carts


@dataclass(frozen=True)
class MergeResult:
    cart: Cart
    #: Visitor lines that did not fit (the member cart reached 300 lines), as they were.
    skipped: tuple[Line, ...]


def merge(member: Cart, visitor: Cart) -> MergeResult:
    """Fold the visitor cart into the member cart (MergeCurrentCart's documented rule).

    Equal references add up, capped at 100000 (the excess is dropped); other visitor lines are
    appended with their ids while the cart has fewer than 300 lines, the rest are skipped. The
    member's coupon, buyer note, contact info and shipping choice win; where the member has none,
    the visitor's are taken. Visitor merchant discounts and checkout are not carried over.
    """
    lines = list(member.lines)
    by_ref = {line.ref: i for i, line in enumerate(lines)}
    skipped: list[Line] = []
    for line in visitor.lines:
        at = by_ref.get(line.ref)
        if at is not None:
            total = min(lines[at].quantity + line.quantity, MAX_QUANTITY)
            lines[at] = replace(lines[at], quantity=total)
        elif len(lines) < MAX_LINES:
            by_ref[line.ref] = len(lines)
            lines.append(line)
        else:
            skipped.append(line)
    merged = replace(
        member,
        lines=tuple(lines),
        coupon_code=member.coupon_code or visitor.coupon_code,
        buyer_note=member.buyer_note or visitor.buyer_note,
        contact_info=member.contact_info or visitor.contact_info,
        selected_shipping=member.selected_shipping or visitor.selected_shipping,
    )
    return MergeResult(merged, tuple(skipped))


def take_over(visitor_cart: Cart, member_id: str) -> Cart:
    """A visitor cart that becomes a member's: same id, the buyer is now the member."""
    return replace(visitor_cart, buyer=Buyer(BuyerKind.MEMBER, member_id))
