//! Returned goods back on the shelf: `return.received` adds each returned line to the
//! units on hand, with a `returned` movement naming the order and the return. Like the
//! saga's handlers it runs inside the transaction that records its event as applied
//! (`kit::outbox::apply_once`), so a redelivery changes nothing.

use crate::movements::{MovementReason, StockChange, record_movement};
use crate::reservations::apply_stock_change;
use crate::stock::{check_sku, create_stock};
use contracts::{Envelope, ReturnReceived, now_rfc3339};
use kit::db::Db;
use kit::outbox::HandlerError;

/// `return.received`: `on_hand += quantity` for each returned line, one `returned`
/// movement per line (the order as its order, the return in its note). A SKU with no
/// stock row any more gets one holding the returned units: the goods are physically
/// back. A return without lines, with a line of 0, or naming a SKU the catalog could
/// not have issued is refused.
pub async fn restock_returned_items<D: Db>(
    db: &D,
    event: &Envelope<ReturnReceived>,
) -> Result<(), HandlerError> {
    let ReturnReceived { summary, items } = &event.data;
    let tenant = event.tenant.as_str();
    let refuse = |why: String| {
        Err(HandlerError::Refuse(format!(
            "return {}: {why}",
            summary.return_id
        )))
    };
    if items.is_empty() {
        return refuse("no lines to restock".into());
    }
    for line in items {
        if line.quantity == 0 {
            return refuse(format!("returns 0 of {}", line.sku));
        }
        if let Err(message) = check_sku(&line.sku) {
            return refuse(format!("sku {:?} {message}", line.sku));
        }
    }
    // Rows are written in SKU order, as reservations write them, so no two writers
    // deadlock on PostgreSQL.
    let mut lines: Vec<_> = items.iter().collect();
    lines.sort_by(|a, b| a.sku.cmp(&b.sku));
    let note = format!("return {}", summary.return_id);
    let now = now_rfc3339();
    for line in lines {
        let quantity = i64::from(line.quantity);
        let change = StockChange::new(&line.sku, MovementReason::Returned)
            .on_hand(quantity)
            .order(&summary.order_id)
            .note(&note);
        if create_stock(db, tenant, &line.sku, quantity, &now)
            .await?
            .is_some()
        {
            record_movement(db, tenant, &change, &now).await?;
        } else {
            apply_stock_change(db, tenant, &change, &now).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{TENANT, count, database, deliver, level, stock};
    use crate::{Movement, list_movements};
    use contracts::{ReturnLine, ReturnSummary};
    use futures::executor::block_on;
    use kit::db::NativeSqlite;
    use kit::pagination::PageParams;

    fn return_received(lines: &[(&str, u32)]) -> Envelope<ReturnReceived> {
        Envelope::new(
            "/components/orders",
            TENANT,
            "req-1",
            ReturnReceived {
                summary: ReturnSummary {
                    return_id: "ret-1".into(),
                    order_id: "o1".into(),
                    order_number: "FC-1001".into(),
                    customer_id: "customer-1".into(),
                    amount: 500,
                    currency: "EUR".into(),
                },
                items: lines
                    .iter()
                    .map(|(sku, quantity)| ReturnLine {
                        sku: (*sku).into(),
                        name: format!("{sku} product"),
                        quantity: *quantity,
                        amount: 100 * i64::from(*quantity),
                    })
                    .collect(),
            },
        )
    }

    fn restock(
        db: &NativeSqlite,
        event: &Envelope<ReturnReceived>,
    ) -> Result<Option<()>, HandlerError> {
        deliver(
            db,
            "inventory-on-return-received",
            event,
            restock_returned_items,
        )
    }

    fn newest_movement(db: &NativeSqlite, sku: &str) -> Movement {
        let page = PageParams {
            limit: 1,
            after: None,
        };
        block_on(list_movements(db, TENANT, sku, &page))
            .unwrap()
            .items
            .remove(0)
    }

    #[test]
    fn returned_lines_go_back_on_hand_with_a_movement_each() {
        let db = database();
        stock(&db, "MUG", 5);
        // Units held for another order stay held.
        block_on(db.execute("UPDATE stock SET reserved = 3 WHERE sku = 'MUG'", &[])).unwrap();
        let event = return_received(&[("MUG", 2)]);
        assert_eq!(restock(&db, &event), Ok(Some(())));

        let mug = level(&db, "MUG");
        assert_eq!(
            (mug.on_hand, mug.reserved, mug.available, mug.version),
            (7, 3, 4, 2)
        );
        let movement = newest_movement(&db, "MUG");
        assert_eq!(movement.reason, MovementReason::Returned);
        assert_eq!((movement.on_hand_delta, movement.reserved_delta), (2, 0));
        assert_eq!(movement.order_id.as_deref(), Some("o1"));
        assert_eq!(movement.note.as_deref(), Some("return ret-1"));

        assert_eq!(
            restock(&db, &event),
            Ok(None),
            "the same event applies once"
        );
        assert_eq!(level(&db, "MUG"), mug);
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM movements WHERE reason = 'returned'"
            ),
            1
        );
    }

    #[test]
    fn a_sku_without_stock_gets_a_level_of_the_returned_units() {
        let db = database();
        stock(&db, "MUG", 1);
        restock(
            &db,
            &return_received(&[("MUG", 1), ("GONE", 2), ("GONE", 1)]),
        )
        .unwrap();
        let gone = level(&db, "GONE");
        assert_eq!((gone.on_hand, gone.reserved, gone.version), (3, 0, 2));
        assert_eq!(level(&db, "MUG").on_hand, 2);
        let deltas: Vec<i64> = block_on(db.query(
            "SELECT on_hand_delta FROM movements WHERE sku = 'GONE' AND reason = 'returned' \
             ORDER BY created_at, id",
            &[],
        ))
        .unwrap()
        .iter()
        .map(|row| row.get_i64(0).unwrap())
        .collect();
        assert_eq!(deltas, [2, 1], "one movement per line");
    }

    #[test]
    fn a_return_without_lines_an_empty_line_or_a_bad_sku_is_refused() {
        let db = database();
        stock(&db, "MUG", 5);
        for lines in [
            &[][..],
            &[("MUG", 1), ("CUP", 0)],
            &[("MUG", 1), ("a cup", 1)],
        ] {
            let refused = restock(&db, &return_received(lines));
            assert!(matches!(refused, Err(HandlerError::Refuse(_))), "{lines:?}");
        }
        assert_eq!(level(&db, "MUG").on_hand, 5);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM stock"), 1);
    }
}
