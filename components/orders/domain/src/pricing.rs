//! Server-side pricing: the catalog's prices (through its client, over [`Outbound`]) and
//! the order's arithmetic (line totals, subtotal, tax, shipping, total) in checked
//! integer minor units.

use crate::checkout::NewOrderItem;
use crate::promotions::Discount;
use contracts::OrderLine;
use contracts::clients::catalog;
use kit::FieldError;
use kit::outbound::Outbound;

/// What orders needs of a catalog product.
pub use contracts::clients::catalog::Product as CatalogProduct;

/// The catalog's products among `skus`, read as an anonymous reader of `tenant` (so
/// inactive products stay unknown). The error says what went wrong.
pub async fn catalog_products<'a>(
    outbound: &impl Outbound,
    tenant: &str,
    skus: impl IntoIterator<Item = &'a str>,
    request_id: &str,
) -> Result<Vec<CatalogProduct>, String> {
    let request = catalog::products_request(tenant, skus, request_id)?;
    catalog::read_products(&outbound.send(request).await?)
}

/// The shop's charges, from the `tax_rate_bps` and `shipping_fee` variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rates {
    /// Tax in basis points of the subtotal (2000 = 20%).
    pub tax_rate_bps: i64,
    /// A flat fee per order, in minor units of the order's currency.
    pub shipping_fee: i64,
}

impl Rates {
    /// Rates from the variables' text; absent or empty means 0. A value that is not a
    /// non-negative integer is a deployment error, named.
    pub fn from_variables(
        tax_rate_bps: Option<&str>,
        shipping_fee: Option<&str>,
    ) -> Result<Self, String> {
        let read =
            |name: &str, value: Option<&str>| -> Result<i64, String> {
                match value.map(str::trim).unwrap_or_default() {
                    "" => Ok(0),
                    text => text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                        format!("{name} must be a non-negative integer, not {text:?}")
                    }),
                }
            };
        Ok(Self {
            tax_rate_bps: read("tax_rate_bps", tax_rate_bps)?,
            shipping_fee: read("shipping_fee", shipping_fee)?,
        })
    }
}

/// An order's lines and amounts, priced from the catalog: `total` is `subtotal` less
/// `discount` (the sum of `discounts`), plus the tax on that, plus `shipping`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    pub lines: Vec<OrderLine>,
    pub subtotal: i64,
    pub discount: i64,
    pub discounts: Vec<Discount>,
    pub tax: i64,
    pub shipping: i64,
    pub total: i64,
    pub currency: String,
}

impl Priced {
    /// The order with `discounts` taken off (each at most what is left of its lines, as
    /// `promotions` computes them), its tax and total priced again.
    pub fn with_discounts(
        self,
        discounts: Vec<Discount>,
        rates: Rates,
    ) -> Result<Self, Vec<FieldError>> {
        let discount = discounts.iter().map(|discount| discount.amount).sum();
        let (tax, total) = charges(self.subtotal, discount, rates)?;
        Ok(Self {
            discount,
            discounts,
            tax,
            total,
            ..self
        })
    }
}

/// The tax on `subtotal` less `discount`, and the total with shipping.
fn charges(subtotal: i64, discount: i64, rates: Rates) -> Result<(i64, i64), Vec<FieldError>> {
    let too_large = || vec![FieldError::new("items", TOO_LARGE)];
    let taxed = subtotal.checked_sub(discount).ok_or_else(too_large)?;
    let tax = tax_of(taxed, rates.tax_rate_bps).ok_or_else(too_large)?;
    let total = taxed
        .checked_add(tax)
        .and_then(|sum| sum.checked_add(rates.shipping_fee))
        .ok_or_else(too_large)?;
    Ok((tax, total))
}

/// `amount × bps / 10000`, rounded half up; `None` when it does not fit an i64.
pub fn tax_of(amount: i64, tax_rate_bps: i64) -> Option<i64> {
    let scaled = i128::from(amount) * i128::from(tax_rate_bps);
    i64::try_from((scaled + 5_000).div_euclid(10_000)).ok()
}

const TOO_LARGE: &str = "the order's amounts are too large";

/// Prices `items` (already validated: distinct, non-empty skus) from the catalog's
/// `products`. Every unknown or inactive sku is named (`items[i].sku`); products in
/// several currencies, or amounts beyond an i64, are refused at `items`.
pub fn price(
    items: &[NewOrderItem],
    products: &[CatalogProduct],
    rates: Rates,
) -> Result<Priced, Vec<FieldError>> {
    let mut unknown = Vec::new();
    let mut found = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match products
            .iter()
            .find(|product| product.sku == item.sku && product.active)
        {
            Some(product) => found.push((item, product)),
            None => unknown.push(FieldError::new(
                format!("items[{i}].sku"),
                format!("no active product has sku {:?}", item.sku),
            )),
        }
    }
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let invalid = |message: &str| vec![FieldError::new("items", message)];
    let currency = match found.first() {
        Some((_, product)) => product.currency.clone(),
        None => return Err(invalid("must list at least one item")),
    };
    if found
        .iter()
        .any(|(_, product)| product.currency != currency)
    {
        return Err(invalid(
            "the products are priced in different currencies; order them separately",
        ));
    }
    let mut lines = Vec::with_capacity(found.len());
    let mut subtotal: i64 = 0;
    for (item, product) in found {
        let line_total = product
            .price
            .checked_mul(i64::from(item.quantity))
            .ok_or_else(|| invalid(TOO_LARGE))?;
        subtotal = subtotal
            .checked_add(line_total)
            .ok_or_else(|| invalid(TOO_LARGE))?;
        lines.push(OrderLine {
            sku: product.sku.clone(),
            name: product.name.clone(),
            quantity: item.quantity,
            unit_price: product.price,
            line_total,
        });
    }
    let (tax, total) = charges(subtotal, 0, rates)?;
    Ok(Priced {
        lines,
        subtotal,
        discount: 0,
        discounts: Vec::new(),
        tax,
        shipping: rates.shipping_fee,
        total,
        currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn items(lines: &[(&str, u32)]) -> Vec<NewOrderItem> {
        lines
            .iter()
            .map(|(sku, quantity)| NewOrderItem::new(*sku, *quantity))
            .collect()
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn lines_subtotal_tax_shipping_and_total() {
        let rates = Rates {
            tax_rate_bps: 2_000,
            shipping_fee: 499,
        };
        let products = [product("B", 300), product("A", 1250)];
        let priced = price(&items(&[("A", 2), ("B", 3)]), &products, rates).unwrap();
        assert_eq!(priced.lines.len(), 2);
        assert_eq!(priced.lines[0].sku, "A", "lines keep the checkout's order");
        assert_eq!(priced.lines[0].name, "Product A");
        assert_eq!(
            (priced.lines[0].unit_price, priced.lines[0].line_total),
            (1250, 2500)
        );
        assert_eq!(priced.lines[1].line_total, 900);
        assert_eq!(priced.subtotal, 3400);
        assert_eq!(priced.tax, 680);
        assert_eq!(priced.shipping, 499);
        assert_eq!(priced.total, 4579);
        assert_eq!(priced.currency, "EUR");
    }

    #[test]
    fn tax_rounds_half_up() {
        assert_eq!(tax_of(0, 2_000), Some(0));
        assert_eq!(tax_of(1, 5_000), Some(1), "0.5 rounds up");
        assert_eq!(tax_of(1, 4_999), Some(0));
        assert_eq!(tax_of(999, 1_950), Some(195), "194.805 rounds to 195");
        assert_eq!(tax_of(1_001, 1_950), Some(195), "195.195 rounds to 195");
        assert_eq!(tax_of(10, 1_250), Some(1), "1.25 rounds to 1");
        assert_eq!(tax_of(12, 1_250), Some(2), "1.5 rounds to 2");
        assert_eq!(tax_of(123_456, 0), Some(0));
        assert_eq!(tax_of(i64::MAX, 10_000), Some(i64::MAX));
        assert_eq!(tax_of(i64::MAX, 20_000), None);
    }

    #[test]
    fn unknown_and_inactive_skus_are_named() {
        let mut inactive = product("B", 100);
        inactive.active = false;
        let products = [product("A", 100), inactive];
        let errors = price(
            &items(&[("A", 1), ("B", 1), ("C", 1)]),
            &products,
            Rates::default(),
        )
        .unwrap_err();
        assert_eq!(fields(errors), ["items[1].sku", "items[2].sku"]);
    }

    #[test]
    fn mixed_currencies_are_refused() {
        let mut dollars = product("B", 100);
        dollars.currency = "USD".into();
        let errors = price(
            &items(&[("A", 1), ("B", 1)]),
            &[product("A", 100), dollars],
            Rates::default(),
        )
        .unwrap_err();
        assert_eq!(fields(errors), ["items"]);
    }

    #[test]
    fn overflow_is_refused_not_wrapped() {
        let huge = [product("A", i64::MAX / 2), product("B", i64::MAX / 2)];
        let none = Rates::default();
        assert!(price(&items(&[("A", 2)]), &huge, none).is_ok());
        for (lines, rates) in [
            (&[("A", 3)][..], none),
            (&[("A", 1), ("B", 2)][..], none),
            (
                &[("A", 2)][..],
                Rates {
                    tax_rate_bps: 10_000,
                    shipping_fee: 0,
                },
            ),
            (
                &[("A", 2)][..],
                Rates {
                    tax_rate_bps: 0,
                    shipping_fee: 2,
                },
            ),
        ] {
            let errors = price(&items(lines), &huge, rates).unwrap_err();
            assert_eq!(fields(errors), ["items"], "{lines:?} {rates:?}");
        }
    }

    #[test]
    fn rates_come_from_variables() {
        assert_eq!(Rates::from_variables(None, None), Ok(Rates::default()));
        assert_eq!(
            Rates::from_variables(Some("2000"), Some(" 499 ")),
            Ok(Rates {
                tax_rate_bps: 2000,
                shipping_fee: 499
            })
        );
        assert_eq!(
            Rates::from_variables(Some(""), Some("0")),
            Ok(Rates::default())
        );
        for (tax, shipping) in [("-1", "0"), ("0", "4.99"), ("twenty", "0")] {
            assert!(Rates::from_variables(Some(tax), Some(shipping)).is_err());
        }
    }
}
