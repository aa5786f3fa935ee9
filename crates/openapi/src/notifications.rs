//! The notifications context's route: the caller's own messages.

use crate::{Access, Described, Op, from_table, keyed};
use notifications_api::routes::{Endpoint, ROUTES};
use notifications_domain::Notification;

pub(crate) fn operations() -> Vec<Described> {
    keyed(from_table("notifications", ROUTES, describe))
}

fn describe(endpoint: Endpoint) -> Op {
    match endpoint {
        Endpoint::ListOwn => Op::new("List the caller's notifications", Access::Bearer)
            .describe(
                "The messages the saga and group buying sent the caller, newest first; no \
                 one reads another's.",
            )
            .paged()
            .answers_page::<Notification>("A page of notifications.")
            .problems(&[403, 422]),
    }
}
