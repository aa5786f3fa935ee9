//! The inventory's routes.

use crate::{Access, Described, Op, from_table, keyed};
use inventory_api::routes::{Endpoint, ROUTES};
use inventory_domain::{
    Adjustment, Availability, AvailabilityQuery, Movement, SetOnHand, StockLevel,
};

/// `STOCK_KEEPERS` of the API component.
const STOCK_KEEPERS: Access = Access::Roles("admin");

pub(crate) fn operations() -> Vec<Described> {
    keyed(from_table("inventory", ROUTES, describe))
}

fn describe(endpoint: Endpoint) -> Op {
    match endpoint {
        Endpoint::CheckAvailability => Op::new("Check availability", Access::PublicOrBearer)
            .describe(
                "Whether each line can be had now (1 to 100 lines). Lines of the same SKU \
                 count together, as an order of them would reserve; an unknown SKU is never \
                 available.",
            )
            .body::<AvailabilityQuery>()
            .answers::<Availability>(200, "Each line as asked, and whether it can be had."),
        Endpoint::SetOnHand => Op::new("Set the units on hand", STOCK_KEEPERS)
            .describe(
                "The level as counted, 0 to 1000000000; creates the SKU's stock when it has \
                 none. Setting the level it already has changes nothing.",
            )
            .body::<SetOnHand>()
            .answers::<StockLevel>(200, "The stock, changed or as it was.")
            .also_answers::<StockLevel>(201, "Created: the SKU had no stock; `Location` names it.")
            .problems(&[409]),
        Endpoint::GetStock => Op::new("Read a SKU's stock", STOCK_KEEPERS)
            .answers::<StockLevel>(200, "The stock.")
            .problems(&[404]),
        Endpoint::AdjustStock => Op::new("Adjust the units on hand", STOCK_KEEPERS)
            .describe(
                "Adds `delta` (units found, or lost when negative) with a reason; refused \
                 when fewer would remain on hand than orders hold reserved.",
            )
            .body::<Adjustment>()
            .answers::<StockLevel>(200, "The adjusted stock.")
            .problems(&[404, 409]),
        Endpoint::ListMovements => Op::new("List a SKU's movements", STOCK_KEEPERS)
            .describe("Every change of the SKU's stock, newest first.")
            .paged()
            .answers_page::<Movement>("A page of movements.")
            .problems(&[404, 422]),
    }
}
