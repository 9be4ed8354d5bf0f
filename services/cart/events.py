"""What the cart does when other services' events arrive.

`ecom.checkout.v1.checkout_completed`: an order was placed from the cart's checkout (or the
checkout was completed elsewhere), so the cart has done its job and is deleted, with its
`cart_deleted` event. A current-cart session still pointing at it finds no cart afterwards and
the buyer's next AddToCurrentCart starts a new one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from ecom.checkout.v1 import events_pb2 as checkout_events
from ecom.events.v1 import event_pb2
from services.cart import store
from services.cart.domain import Cart
from services.cart.service import Carts

CHECKOUT_COMPLETED = "ecom.checkout.v1.checkout_completed"
CONSUMER_NAME = "cart.checkout-completed"


def checkout_completed_handler(
    carts: Carts,
) -> Callable[[AsyncSession, event_pb2.Event], Awaitable[None]]:
    async def handle(session: AsyncSession, event: event_pb2.Event) -> None:
        completed = checkout_events.CheckoutCompleted()
        if not event.payload.Unpack(completed):
            return  # not the payload this type promises: nothing the cart can act on
        cart_id = completed.checkout.cart_id
        if not cart_id:
            return  # a checkout made from lines, not from a cart
        cart = await store.load(session, event.site, cart_id, lock=True)
        if isinstance(cart, Cart):
            await carts.delete_in(session, cart)

    return handle
