//! The payloads of the events orders emit: `order.created` (at creation, or at approval
//! for an order held in review) and `order.cancelled`.

use super::Order;
use crate::status::Status;
use contracts::{OrderCancelled, OrderCreated, StockLine};

/// The `order.created` of `order`: built the same way at creation and at approval, so a
/// reviewed order continues exactly as any other.
pub(super) fn order_created(order: &Order, payment_token: String) -> OrderCreated {
    OrderCreated {
        order_id: order.id.clone(),
        order_number: order.order_number.clone(),
        customer_id: order.customer_id.clone(),
        items: order.items.clone(),
        subtotal: order.subtotal,
        tax: order.tax,
        shipping: order.shipping,
        total: order.total,
        currency: order.currency.clone(),
        shipping_address: order.shipping_address.clone(),
        discount: Some(order.discount),
        payment_token,
        campaign_id: order.campaign_id.clone(),
    }
}

/// The `order.cancelled` of `order`, which left status `previous` because `cancelled_by`
/// cancelled (or rejected) it, for `reason` when given.
pub(super) fn order_cancelled(
    order: &Order,
    previous: Status,
    cancelled_by: &str,
    reason: Option<String>,
) -> OrderCancelled {
    OrderCancelled {
        order_id: order.id.clone(),
        customer_id: order.customer_id.clone(),
        items: order
            .items
            .iter()
            .map(|line| StockLine {
                sku: line.sku.clone(),
                quantity: line.quantity,
            })
            .collect(),
        total: order.total,
        currency: order.currency.clone(),
        previous_status: previous.as_str().to_owned(),
        cancelled_by: cancelled_by.to_owned(),
        reason,
    }
}
