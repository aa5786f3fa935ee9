//! Live prices: the cart as the customer sees it, priced from the catalog's products
//! (which the api component reads through the catalog's client). Pure.

use crate::cart::Line;
use serde::Serialize;

/// What the cart needs of a catalog product.
pub use contracts::clients::catalog::Product as CatalogProduct;

/// `GET /api/v1/cart`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CartView {
    pub items: Vec<CartItem>,
    /// Of the available lines, in minor units of `currency`.
    pub subtotal: i64,
    /// The currency of the first available line; `null` when none is available.
    #[schema(required = true)]
    pub currency: Option<String>,
    /// Units in the cart, over every line.
    pub item_count: u64,
}

/// One line with its live price. A line whose product is no longer sold (unknown,
/// inactive, or priced in another currency than the cart's, which no single order
/// can take) is `available: false`, without price, and left out of the subtotal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CartItem {
    pub sku: String,
    #[schema(required = true)]
    pub name: Option<String>,
    pub quantity: u32,
    #[schema(required = true)]
    pub unit_price: Option<i64>,
    #[schema(required = true)]
    pub line_total: Option<i64>,
    pub available: bool,
}

/// The cart's `lines` priced from the catalog's `products`. Amounts saturate at the
/// i64 bounds rather than wrap (a catalog price times at most 1000 units never gets
/// there in practice).
pub fn price_cart(lines: &[Line], products: &[CatalogProduct]) -> CartView {
    let sold = |sku: &str| {
        products
            .iter()
            .find(|product| product.sku == sku && product.active)
    };
    let currency = lines
        .iter()
        .find_map(|line| sold(&line.sku))
        .map(|product| product.currency.clone());
    let mut subtotal: i64 = 0;
    let items = lines
        .iter()
        .map(|line| {
            match sold(&line.sku).filter(|product| Some(&product.currency) == currency.as_ref()) {
                Some(product) => {
                    let line_total = product.price.saturating_mul(i64::from(line.quantity));
                    subtotal = subtotal.saturating_add(line_total);
                    CartItem {
                        sku: line.sku.clone(),
                        name: Some(product.name.clone()),
                        quantity: line.quantity,
                        unit_price: Some(product.price),
                        line_total: Some(line_total),
                        available: true,
                    }
                }
                None => CartItem {
                    sku: line.sku.clone(),
                    name: None,
                    quantity: line.quantity,
                    unit_price: None,
                    line_total: None,
                    available: false,
                },
            }
        })
        .collect();
    CartView {
        items,
        subtotal,
        currency,
        item_count: lines.iter().map(|line| u64::from(line.quantity)).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product(sku: &str, price: i64) -> CatalogProduct {
        CatalogProduct {
            sku: sku.into(),
            name: format!("Product {sku}"),
            price,
            currency: "EUR".into(),
            active: true,
            category_id: None,
            product_sku: None,
        }
    }

    fn line(sku: &str, quantity: u32) -> Line {
        Line {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn lines_are_priced_live_and_summed() {
        let view = price_cart(
            &[line("MUG-1", 2), line("TEA-1", 3)],
            &[product("TEA-1", 300), product("MUG-1", 1250)],
        );
        assert_eq!(
            serde_json::to_value(&view).unwrap(),
            json!({
                "items": [
                    {"sku": "MUG-1", "name": "Product MUG-1", "quantity": 2, "unit_price": 1250,
                     "line_total": 2500, "available": true},
                    {"sku": "TEA-1", "name": "Product TEA-1", "quantity": 3, "unit_price": 300,
                     "line_total": 900, "available": true},
                ],
                "subtotal": 3400,
                "currency": "EUR",
                "item_count": 5,
            })
        );
    }

    #[test]
    fn products_no_longer_sold_are_shown_unavailable_and_not_charged() {
        let mut retired = product("OLD-1", 500);
        retired.active = false;
        let mut dollars = product("USD-1", 700);
        dollars.currency = "USD".into();
        let view = price_cart(
            &[
                line("GONE-1", 1),
                line("OLD-1", 1),
                line("MUG-1", 2),
                line("USD-1", 1),
            ],
            &[retired, product("MUG-1", 1250), dollars],
        );
        let available: Vec<(&str, bool)> = view
            .items
            .iter()
            .map(|item| (item.sku.as_str(), item.available))
            .collect();
        assert_eq!(
            available,
            [
                ("GONE-1", false),
                ("OLD-1", false),
                ("MUG-1", true),
                ("USD-1", false)
            ]
        );
        assert_eq!(view.items[0].unit_price, None);
        assert_eq!(view.subtotal, 2500);
        assert_eq!(view.currency.as_deref(), Some("EUR"));
        assert_eq!(view.item_count, 5);
    }

    #[test]
    fn an_empty_cart_has_no_currency() {
        assert_eq!(
            serde_json::to_value(price_cart(&[], &[])).unwrap(),
            json!({"items": [], "subtotal": 0, "currency": null, "item_count": 0})
        );
        let view = price_cart(&[line("GONE-1", 4)], &[]);
        assert_eq!(
            (view.subtotal, view.currency, view.item_count),
            (0, None, 4)
        );
    }

    #[test]
    fn huge_amounts_saturate() {
        let view = price_cart(
            &[line("A", 1000), line("B", 1)],
            &[product("A", i64::MAX / 10), product("B", 1)],
        );
        assert_eq!(view.items[0].line_total, Some(i64::MAX));
        assert_eq!(view.subtotal, i64::MAX);
    }
}
