//! The cart's routes.

use crate::{Access, Described, Op, from_table};
use cart_api::routes::{Endpoint, ROUTES};
use cart_domain::{AddItem, CartView, CheckoutRequest, SetQuantity};
use orders_domain::Order;

pub(crate) fn operations() -> Vec<Described> {
    from_table("cart", ROUTES, describe)
}

fn describe(endpoint: Endpoint) -> Op {
    match endpoint {
        Endpoint::GetCart => Op::new("Read the cart", Access::Bearer)
            .describe(
                "The caller's cart, priced live from the catalog. 503 while the cart store \
                 or the catalog is unavailable.",
            )
            .answers::<CartView>(200, "The cart.")
            .problems(&[503]),
        Endpoint::ClearCart => Op::new("Empty the cart", Access::Bearer)
            .answers_empty(204, "Empty.")
            .problems(&[503]),
        Endpoint::AddItem => Op::new("Add to the cart", Access::Bearer)
            .describe(
                "Adds the units to the sku's line (a new line when the cart has none). A sku \
                 the catalog does not sell is a 422 at `sku`, a line over 1000 units one at \
                 `quantity`; a cart of 100 lines takes no new sku (409), nor one that held \
                 too many different skus since it was last emptied (409: clear it). 503 \
                 while the cart store or the catalog is unavailable.",
            )
            .body::<AddItem>()
            .answers::<CartView>(201, "The whole cart, priced.")
            .problems(&[409, 503]),
        Endpoint::SetItem => Op::new("Set a line's quantity", Access::Bearer)
            .describe("0 removes the line.")
            .body::<SetQuantity>()
            .answers::<CartView>(200, "The whole cart, priced.")
            .problems(&[404, 503]),
        Endpoint::RemoveItem => Op::new("Remove a line", Access::Bearer)
            .answers_empty(204, "Removed.")
            .problems(&[404, 503]),
        Endpoint::Checkout => Op::new("Check the cart out", Access::Bearer)
            .describe(
                "Places the order of the cart's lines through the orders context, as the \
                 caller and with their `Idempotency-Key`, and empties the cart once the \
                 order is placed. The address and payment are the orders' to judge: its \
                 refusals (a 4xx, such as 422 naming `shipping_address.city` or \
                 `items[i].sku`, the i-th line) are passed on as they are. An empty cart \
                 is a 409; 503 while the cart store or the orders context is unavailable, \
                 and the cart is kept.",
            )
            .body::<CheckoutRequest>()
            .answers::<Order>(
                201,
                "The order, as `POST /api/v1/orders` answers it; `Location` names it.",
            )
            .problems(&[409, 503]),
    }
}
