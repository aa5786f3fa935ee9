//! The shipping routes: shipments, their labels and status changes for admins, and the
//! public tracking view.

use crate::{Access, Described, Op, from_table, keyed};
use shipping_api::routes::{Endpoint, ROUTES};
use shipping_domain::{Shipment, StatusChange, Tracking};
use utoipa::PartialSchema;

/// `MANAGERS` of the API component.
const MANAGERS: Access = Access::Roles("admin");

pub(crate) fn operations() -> Vec<Described> {
    keyed(from_table("shipping", ROUTES, describe))
}

fn describe(endpoint: Endpoint) -> Op {
    match endpoint {
        Endpoint::ListShipments => Op::new("List shipments", MANAGERS)
            .describe("The tenant's shipments, oldest first, each with its delivery log.")
            .query::<String>("order_id", false, "The shipment of this order (not empty).")
            .paged()
            .answers_page::<Shipment>("A page of shipments.")
            .problems(&[422]),
        Endpoint::GetShipment => Op::new("Read a shipment", MANAGERS)
            .answers::<Shipment>(200, "The shipment, with its delivery log.")
            .problems(&[404]),
        Endpoint::GetLabel => Op::new("Print a shipment's label", MANAGERS)
            .describe(
                "The label as plain text: carrier, tracking number, shipment and order, and \
                 the address to ship to. A label voided when its order was cancelled \
                 (`cancelled`) is 409.",
            )
            .answers_raw(
                200,
                "The label.",
                "text/plain; charset=utf-8",
                String::schema(),
            )
            .problems(&[404, 409]),
        Endpoint::UpdateStatus => Op::new("Move a shipment along", MANAGERS)
            .describe(
                "`label_created` → `in_transit` → `delivered`, and `failed` from either of \
                 the first two; each move adds a delivery log entry, and `in_transit` and \
                 `delivered` announce `shipment.in_transit` and `shipment.delivered`. A \
                 move the machine has not (the same status again included), or a \
                 shipment another change moved meanwhile, is 409; `cancelled` is 422.",
            )
            .body::<StatusChange>()
            .answers::<Shipment>(200, "The moved shipment.")
            .problems(&[404, 409]),
        Endpoint::Track => Op::new("Track a shipment", Access::PublicOrBearer)
            .describe(
                "By tracking number, as typed (case and surrounding spaces do not matter), \
                 in the token's tenant or `x-tenant-id`'s. Shows no address, customer or \
                 order.",
            )
            .answers::<Tracking>(200, "The shipment's status and delivery log.")
            .problems(&[404]),
    }
}
