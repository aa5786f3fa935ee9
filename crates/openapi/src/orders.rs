//! The orders' routes.

use crate::{Access, Described, Op, from_table, keyed};
use orders_api::routes::{Endpoint, ROUTES};
use orders_domain::{
    ApproveRequest, CancelRequest, NewOrder, NewPromotion, Order, Promotion, PromotionChange,
    Status,
};

/// Who decides fraud reviews (`orders_api::routes::REVIEWERS`).
const REVIEWERS: Access = Access::Roles("admin");
/// Who manages promotions (`orders_api::routes::PROMOTERS`).
const PROMOTERS: Access = Access::Roles("admin");

pub(crate) fn operations() -> Vec<Described> {
    keyed(from_table("orders", ROUTES, describe))
}

fn describe(endpoint: Endpoint) -> Op {
    match endpoint {
        Endpoint::ListOrders => Op::new("List orders", Access::Bearer)
            .describe(
                "Newest first: the caller's own orders; an admin's, every order of the tenant.",
            )
            .query::<Status>("status", false, "Orders in this status only.")
            .paged()
            .answers_page::<Order>("A page of orders.")
            .problems(&[422]),
        Endpoint::CreateOrder => Op::new("Place an order", Access::Bearer)
            .describe(
                "Checkout: the order is priced from the catalog's active products (prices \
                 in the body are ignored), with tax and shipping, and scored by the fraud \
                 rules: a clean order is `pending` and the saga starts; a flagged one waits \
                 in `review` for an admin. An unknown or inactive sku is a 422 naming \
                 `items[i].sku`. A promotion's `code` takes its discount off (with the \
                 combinable promotions that apply by themselves; without a code, the best of \
                 those): each discount line is in `discounts`, the tax is on the discounted \
                 subtotal. An unknown, expired, used-up or unfitting code is a 422 naming \
                 `code`; a promotion that ran out while the order was placed, a 409. With an `Idempotency-Key`, a retry gets the first answer \
                 again; 409 while the first is still in progress. 503 while the catalog \
                 is unavailable or no payment provider is configured.",
            )
            .body::<NewOrder>()
            .answers::<Order>(201, "Placed; `Location` names it.")
            .problems(&[409, 503]),
        Endpoint::GetOrder => Op::new("Read an order", Access::Bearer)
            .describe("The caller's own order; an admin reads any order of the tenant.")
            .answers::<Order>(200, "The order.")
            .problems(&[404]),
        Endpoint::CancelOrder => Op::new("Cancel an order", Access::Bearer)
            .describe(
                "The caller's own order, or any of the tenant's for an admin, while it is \
                 not shipped yet (`pending`, `review`, `reserved` or `paid`); a paid order \
                 is then refunded. The body is optional. Any other status is a 409 naming it.",
            )
            .optional_body::<CancelRequest>()
            .answers::<Order>(200, "The cancelled order.")
            .problems(&[404, 409]),
        Endpoint::ApproveOrder => Op::new("Approve an order in review", REVIEWERS)
            .describe(
                "The fraud review's yes: the order turns `pending` and the saga starts. \
                 The body is optional (an empty object). An order not in `review` is a 409 \
                 naming its status.",
            )
            .optional_body::<ApproveRequest>()
            .answers::<Order>(200, "The approved order.")
            .problems(&[404, 409]),
        Endpoint::RejectOrder => Op::new("Reject an order in review", REVIEWERS)
            .describe(
                "The fraud review's no: the order is cancelled with the reason (default \
                 `rejected in fraud review`). The body is optional. An order not in \
                 `review` is a 409 naming its status.",
            )
            .optional_body::<CancelRequest>()
            .answers::<Order>(200, "The rejected (cancelled) order.")
            .problems(&[404, 409]),
        Endpoint::ListPromotions => Op::new("List promotions", PROMOTERS)
            .describe("The tenant's promotions, newest first, with the uses each holds now.")
            .paged()
            .answers_page::<Promotion>("A page of promotions."),
        Endpoint::CreatePromotion => Op::new("Create a promotion", PROMOTERS)
            .describe(
                "A percentage (1 to 100) or an amount off (with its currency), on the whole \
                 order or on the products (`skus`) and categories (`category_ids`) named, \
                 from `starts_at` to `ends_at`, for a subtotal of at least `min_subtotal`, \
                 at most `usage_limit` orders at once and `per_customer_limit` per customer. \
                 With a `code`, a customer gives it at checkout; without, it applies by \
                 itself. A code another promotion has is a 409.",
            )
            .body::<NewPromotion>()
            .answers::<Promotion>(201, "Created; `Location` names it.")
            .problems(&[409]),
        Endpoint::GetPromotion => Op::new("Read a promotion", PROMOTERS)
            .answers::<Promotion>(200, "The promotion.")
            .problems(&[404]),
        Endpoint::ChangePromotion => Op::new("Switch a promotion on or off", PROMOTERS)
            .describe("Orders already placed keep their discounts.")
            .body::<PromotionChange>()
            .answers::<Promotion>(200, "The promotion.")
            .problems(&[404]),
    }
}
