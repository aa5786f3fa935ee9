//! The arithmetic of discounts, pure: which promotions an order gets, and how much each
//! takes off each line. A percentage is rounded half up on each line; an amount off is
//! shared among its lines in proportion, rounded half up, and the rounding's remainder
//! moved unit by unit to the largest lines, so the lines always add up to the amount.
//! Promotions apply one after the other to what is left of each line, so no line and no
//! order goes below zero.

use super::Promotion;
use crate::money::{half_up, share};
use crate::pricing::Priced;
use contracts::OrderLine;
use serde::Serialize;

/// An order line with what a promotion's scope may name besides its SKU: its product's
/// category, and the product's own SKU when the line is a variant of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    pub line: &'a OrderLine,
    pub category_id: Option<&'a str>,
    pub product_sku: Option<&'a str>,
}

/// What one promotion takes off an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Discount {
    pub promotion_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub code: Option<String>,
    /// Minor units of the order's currency: the sum of `lines`.
    pub amount: i64,
    pub lines: Vec<DiscountLine>,
}

/// A discount's part on one order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DiscountLine {
    pub sku: String,
    pub amount: i64,
}

/// The discounts of an order: with `coded` (the promotion of the code the customer
/// gave), it alone when it does not combine, else it and the combinable `automatic`
/// ones that fit; without, the combinable ones together or the single other one, which
/// ever takes off more. The error says why `coded` does not fit the order.
pub(crate) fn choose(
    lines: &[Line<'_>],
    priced: &Priced,
    coded: Option<&Promotion>,
    automatic: &[Promotion],
) -> Result<Vec<Discount>, String> {
    let fitting: Vec<&Promotion> = automatic
        .iter()
        .filter(|promotion| fits(promotion, lines, priced).is_ok())
        .collect();
    let combinable = || {
        fitting
            .iter()
            .copied()
            .filter(|promotion| promotion.combinable)
    };
    if let Some(coded) = coded {
        fits(coded, lines, priced)?;
        let discounts = if coded.combinable {
            apply(lines, std::iter::once(coded).chain(combinable()))
        } else {
            apply(lines, [coded])
        };
        // A code the customer gave is never dropped without a word.
        if !discounts
            .iter()
            .any(|discount| discount.promotion_id == coded.id)
        {
            return Err("takes nothing off these items".to_owned());
        }
        return Ok(discounts);
    }
    let together = apply(lines, combinable());
    let best_alone = fitting
        .iter()
        .filter(|promotion| !promotion.combinable)
        .map(|promotion| apply(lines, [*promotion]))
        .max_by_key(|discounts| total(discounts));
    Ok(match best_alone {
        Some(alone) if total(&alone) > total(&together) => alone,
        _ => together,
    })
}

/// The sum of `discounts`.
pub(crate) fn total(discounts: &[Discount]) -> i64 {
    discounts.iter().map(|discount| discount.amount).sum()
}

/// Whether `promotion` fits the order: its minimum subtotal, its currency (an amount
/// off), and at least one line in its scope.
fn fits(promotion: &Promotion, lines: &[Line<'_>], priced: &Priced) -> Result<(), String> {
    if priced.subtotal < promotion.min_subtotal {
        return Err(format!(
            "applies to orders of at least {} {} before discounts",
            promotion.min_subtotal, priced.currency
        ));
    }
    if let Some(currency) = &promotion.currency
        && *currency != priced.currency
    {
        return Err(format!("applies to orders in {currency} only"));
    }
    if !lines.iter().any(|line| in_scope(promotion, line)) {
        return Err("applies to none of these items".to_owned());
    }
    Ok(())
}

/// Whether `line` is one `promotion` applies to.
fn in_scope(promotion: &Promotion, line: &Line<'_>) -> bool {
    (promotion.skus.is_empty() && promotion.category_ids.is_empty())
        || promotion.skus.contains(&line.line.sku)
        || line
            .product_sku
            .is_some_and(|sku| promotion.skus.iter().any(|named| named == sku))
        || line
            .category_id
            .is_some_and(|category| promotion.category_ids.iter().any(|id| id == category))
}

/// Applies `promotions` one after the other to what is left of each line; a promotion
/// that takes nothing off (its lines are free by then) gives no discount.
fn apply<'p>(
    lines: &[Line<'_>],
    promotions: impl IntoIterator<Item = &'p Promotion>,
) -> Vec<Discount> {
    let mut left: Vec<i64> = lines.iter().map(|line| line.line.line_total).collect();
    let mut discounts = Vec::new();
    for promotion in promotions {
        let scope: Vec<usize> = (0..lines.len())
            .filter(|&i| in_scope(promotion, &lines[i]) && left[i] > 0)
            .collect();
        let amounts = match (promotion.percentage, promotion.amount_off) {
            (Some(percentage), _) => scope
                .iter()
                .map(|&i| half_up(i128::from(left[i]) * i128::from(percentage), 100))
                .collect(),
            (None, Some(amount_off)) => {
                let parts: Vec<i64> = scope.iter().map(|&i| left[i]).collect();
                share(amount_off, &parts)
            }
            (None, None) => continue,
        };
        let mut discount = Discount {
            promotion_id: promotion.id.clone(),
            name: promotion.name.clone(),
            code: promotion.code.clone(),
            amount: 0,
            lines: Vec::new(),
        };
        for (&i, amount) in scope.iter().zip(amounts) {
            if amount > 0 {
                left[i] -= amount;
                discount.amount += amount;
                discount.lines.push(DiscountLine {
                    sku: lines[i].line.sku.clone(),
                    amount,
                });
            }
        }
        if discount.amount > 0 {
            discounts.push(discount);
        }
    }
    discounts
}
