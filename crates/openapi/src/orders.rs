//! The orders' routes.

use crate::{Access, Described, Op, from_table, keyed};
use orders_api::routes::{Endpoint, ROUTES};
use orders_domain::{
    ApproveRequest, CancelRequest, NewOrder, NewPromotion, NewReturn, Order, Promotion,
    PromotionChange, Return, ReturnStatus, Status,
};

/// Who decides fraud reviews (`orders_api::routes::REVIEWERS`).
const REVIEWERS: Access = Access::Roles("admin");
/// Who manages promotions (`orders_api::routes::PROMOTERS`).
const PROMOTERS: Access = Access::Roles("admin");
/// Who moves returns on (`orders_api::routes::RETURN_HANDLERS`).
const RETURN_HANDLERS: Access = Access::Roles("admin");

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
        Endpoint::RequestReturn => Op::new("Ask to return items", Access::Bearer)
            .describe(
                "The caller's own delivered order (or any of the tenant's for an admin), \
                 within `return_window_days` of its delivery: each item an order line's \
                 `sku` and how many of its units go back. The return is `requested`, worth \
                 its lines less their discounts, with their tax (shipping is not refunded), \
                 priced against the order's returns not rejected so that together they \
                 never refund more than the order's total less shipping; \
                 `return.requested` tells the customer. A sku not in the order, or more \
                 units than are left to return, is a 422 naming the item; an order not \
                 delivered, or whose window closed, a 409.",
            )
            .body::<NewReturn>()
            .answers::<Return>(201, "Requested; `Location` names it.")
            .problems(&[404, 409]),
        Endpoint::ListReturns => Op::new("List returns", Access::Bearer)
            .describe(
                "Newest first: the caller's own returns; an admin's, every return of the \
                 tenant.",
            )
            .query::<ReturnStatus>("status", false, "Returns in this status only.")
            .query::<String>("order_id", false, "The returns of this order only.")
            .paged()
            .answers_page::<Return>("A page of returns.")
            .problems(&[422]),
        Endpoint::GetReturn => Op::new("Read a return", Access::Bearer)
            .describe("The caller's own return; an admin reads any return of the tenant.")
            .answers::<Return>(200, "The return.")
            .problems(&[404]),
        Endpoint::ApproveReturn => Op::new("Approve a return", RETURN_HANDLERS)
            .describe(
                "A `requested` return becomes `approved`: the customer may send the items \
                 back. The body is optional (an empty object). Any other status is a 409 \
                 naming it; so is a return worth something of an order no longer \
                 `delivered` (refunded whole: nothing more can be refunded), which may \
                 only be rejected.",
            )
            .optional_body::<ApproveRequest>()
            .answers::<Return>(200, "The approved return.")
            .problems(&[404, 409]),
        Endpoint::RejectReturn => Op::new("Reject a return", RETURN_HANDLERS)
            .describe(
                "A `requested` return becomes `rejected`, with the reason told to the \
                 customer; its units may be asked for again. The body is optional. Any \
                 other status is a 409 naming it.",
            )
            .optional_body::<CancelRequest>()
            .answers::<Return>(200, "The rejected return.")
            .problems(&[404, 409]),
        Endpoint::ReceiveReturn => Op::new("Receive a return's goods", RETURN_HANDLERS)
            .describe(
                "An `approved` return's items are back: it becomes `received`, and \
                 `return.received` restocks them (a stock movement `returned`) and refunds \
                 `amount` from the order's payment (what remains of it, when less); the \
                 refund made, the return is `refunded` with `refund_id` and \
                 `refunded_amount`. A return worth 0 is `refunded` at once, without a \
                 refund id. The body is optional (an empty object). Any other status is a \
                 409 naming it; so is a return worth something of an order no longer \
                 `delivered` (refunded whole), naming the order's status.",
            )
            .optional_body::<ApproveRequest>()
            .answers::<Return>(200, "The received return.")
            .problems(&[404, 409]),
    }
}
