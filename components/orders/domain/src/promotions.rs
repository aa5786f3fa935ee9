//! Promotions: an admin's percentage or amount off, on the whole order or on given
//! products or categories, within dates, above a minimum subtotal, with a total and a
//! per-customer usage limit, applied by a code or by themselves. Checkout asks
//! [`offered_discounts`] what an order earns; the order's transaction claims each use
//! ([`claim_uses`]), so a limit is exact however many checkouts race for it; an order
//! that ends unpaid gives its uses back ([`release_uses`]). The SQL is in `store`; the
//! arithmetic (half-up per line, lines adding up to the discount) in `discount`.

mod discount;
mod store;

use crate::pricing::{CatalogProduct, Priced};
use crate::{MAX_SKU_CHARS, OrderError};
use contracts::{OrderLine, is_currency_code, normalized_rfc3339, now_rfc3339};
use kit::FieldError;
use kit::db::{Db, DbError, lock_key};
use kit::json::{FieldErrors, Validate};
use kit::pagination::{Page, PageParams, Position};
use serde::{Deserialize, Serialize};

pub use discount::{Discount, DiscountLine};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_CODE_CHARS: usize = 32;
/// Products or categories one promotion may name.
pub const MAX_TARGETS: usize = 100;
/// A SKU or category id a promotion names: the catalog's SKU limit (its category ids are
/// UUIDs, well within it).
const MAX_TARGET_CHARS: usize = MAX_SKU_CHARS;

/// `POST /api/v1/promotions`: exactly one of `percentage` and `amount_off`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPromotion {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// What a customer types at checkout (letters, digits, `-`, `_`; case does not
    /// matter). Without one, the promotion applies by itself to every order it fits.
    #[serde(default)]
    #[schema(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_-]+$")]
    pub code: Option<String>,
    /// Percent off each line it applies to, 1 to 100.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub percentage: Option<i64>,
    /// Minor units off, shared among the lines it applies to; needs `currency`, and
    /// applies only to orders in it.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub amount_off: Option<i64>,
    #[serde(default)]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// The products it applies to; with `category_ids` empty too, the whole order.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub skus: Vec<String>,
    /// The categories whose products it applies to.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub category_ids: Vec<String>,
    /// RFC 3339; absent: from now.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// RFC 3339; absent: no end.
    #[serde(default)]
    pub ends_at: Option<String>,
    /// The order's subtotal (before any discount) it needs, in minor units.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub min_subtotal: i64,
    /// Orders that may hold a use at once (a use comes back when its order ends unpaid).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub usage_limit: Option<i64>,
    /// Uses one customer may hold.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub per_customer_limit: Option<i64>,
    /// Whether it adds to other combinable promotions; one that is not applies alone.
    #[serde(default)]
    pub combinable: bool,
}

/// `PATCH /api/v1/promotions/{id}`: switches a promotion off (or on again).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionChange {
    pub active: bool,
}

/// A promotion as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Promotion {
    pub id: String,
    pub name: String,
    /// Upper-case, as customers' codes are compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    pub percentage: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    pub amount_off: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub currency: Option<String>,
    pub skus: Vec<String>,
    pub category_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub starts_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub ends_at: Option<String>,
    pub min_subtotal: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    pub usage_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    pub per_customer_limit: Option<i64>,
    pub combinable: bool,
    pub active: bool,
    /// Orders holding a use now.
    pub uses: i64,
    pub created_at: String,
}

fn is_code(code: &str) -> bool {
    (3..=MAX_CODE_CHARS).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

impl Validate for NewPromotion {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim();
        errors.check(
            !name.is_empty() && name.chars().count() <= MAX_NAME_CHARS,
            "name",
            &format!("must be 1 to {MAX_NAME_CHARS} characters"),
        );
        if let Some(code) = &self.code {
            errors.check(
                is_code(code.trim()),
                "code",
                &format!("must be 3 to {MAX_CODE_CHARS} letters, digits, '-' or '_'"),
            );
        }
        match (self.percentage, self.amount_off) {
            (Some(percentage), None) => {
                errors.check(
                    (1..=100).contains(&percentage),
                    "percentage",
                    "must be from 1 to 100",
                );
                errors.check(
                    self.currency.is_none(),
                    "currency",
                    "goes with amount_off only",
                );
            }
            (None, Some(amount)) => {
                errors.check(amount >= 1, "amount_off", "must be at least 1");
                errors.check(
                    self.currency.as_deref().is_some_and(is_currency_code),
                    "currency",
                    "must be the ISO 4217 code of the amount off (three capital letters)",
                );
            }
            _ => errors.push("percentage", "give either percentage or amount_off"),
        }
        for (field, targets) in [("skus", &self.skus), ("category_ids", &self.category_ids)] {
            errors.check(
                targets.len() <= MAX_TARGETS,
                field,
                &format!("may name at most {MAX_TARGETS}"),
            );
            for (i, target) in targets.iter().enumerate() {
                errors.check(
                    !target.trim().is_empty()
                        && target.len() <= MAX_TARGET_CHARS
                        && !target.contains('\n'),
                    &format!("{field}[{i}]"),
                    &format!("must be 1 to {MAX_TARGET_CHARS} characters on one line"),
                );
            }
        }
        let starts_at = self.starts_at.as_deref().map(normalized_rfc3339);
        let ends_at = self.ends_at.as_deref().map(normalized_rfc3339);
        errors.check(
            !matches!(starts_at, Some(None)),
            "starts_at",
            "must be an RFC 3339 time",
        );
        errors.check(
            !matches!(ends_at, Some(None)),
            "ends_at",
            "must be an RFC 3339 time",
        );
        if let (Some(Some(starts)), Some(Some(ends))) = (&starts_at, &ends_at) {
            errors.check(ends > starts, "ends_at", "must be after starts_at");
        }
        if let Some(Some(ends)) = &ends_at {
            errors.check(*ends > now_rfc3339(), "ends_at", "must be in the future");
        }
        errors.check(
            self.min_subtotal >= 0,
            "min_subtotal",
            "must not be negative",
        );
        for (field, limit) in [
            ("usage_limit", self.usage_limit),
            ("per_customer_limit", self.per_customer_limit),
        ] {
            errors.check(limit.is_none_or(|n| n >= 1), field, "must be at least 1");
        }
        errors.into_result()
    }
}

/// Creates `new` (validated). A code another promotion of the tenant has is a 409.
pub async fn create_promotion<D: Db>(
    db: &D,
    tenant: &str,
    new: &NewPromotion,
) -> Result<Promotion, OrderError> {
    let promotion = Promotion {
        id: uuid::Uuid::now_v7().to_string(),
        name: new.name.trim().to_owned(),
        code: new.code.as_deref().map(|code| code.trim().to_uppercase()),
        percentage: new.percentage,
        amount_off: new.amount_off,
        currency: new.currency.clone(),
        skus: trimmed(&new.skus),
        category_ids: trimmed(&new.category_ids),
        starts_at: new.starts_at.as_deref().and_then(normalized_rfc3339),
        ends_at: new.ends_at.as_deref().and_then(normalized_rfc3339),
        min_subtotal: new.min_subtotal,
        usage_limit: new.usage_limit,
        per_customer_limit: new.per_customer_limit,
        combinable: new.combinable,
        active: true,
        uses: 0,
        created_at: now_rfc3339(),
    };
    match store::insert(db, tenant, &promotion).await {
        Ok(()) => Ok(promotion),
        Err(DbError::UniqueViolation(_)) => Err(OrderError::CodeTaken),
        Err(other) => Err(other.into()),
    }
}

fn trimmed(values: &[String]) -> Vec<String> {
    values.iter().map(|value| value.trim().to_owned()).collect()
}

pub async fn get_promotion<D: Db>(db: &D, tenant: &str, id: &str) -> Result<Promotion, OrderError> {
    store::find(db, tenant, id)
        .await?
        .ok_or(OrderError::NoPromotion)
}

/// One page of the tenant's promotions, newest first.
pub async fn list_promotions<D: Db>(
    db: &D,
    tenant: &str,
    page: &PageParams<Position>,
) -> Result<Page<Promotion>, OrderError> {
    Ok(store::list(db, tenant, page).await?)
}

/// Switches promotion `id` on or off; orders already placed keep their discounts.
pub async fn change_promotion<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    change: &PromotionChange,
) -> Result<Promotion, OrderError> {
    if !store::set_active(db, tenant, id, change.active).await? {
        return Err(OrderError::NoPromotion);
    }
    get_promotion(db, tenant, id).await
}

/// What `customer_id`'s order `priced` from `products` earns: the promotion of `code`
/// (422 naming `code` when there is none, it is not running, the order does not meet it,
/// or its limits are reached) with the combinable promotions that apply by themselves,
/// or, without a code, the best of those that apply by themselves (all the combinable
/// ones together, or the single other one worth more).
pub async fn offered_discounts<D: Db>(
    db: &D,
    tenant: &str,
    customer_id: &str,
    code: Option<&str>,
    priced: &Priced,
    products: &[CatalogProduct],
) -> Result<Vec<Discount>, OrderError> {
    let now = now_rfc3339();
    let code = code.map(|code| code.trim().to_uppercase());
    let mut running = store::running(db, tenant, code.as_deref(), &now).await?;
    let coded = match &code {
        Some(code) => {
            let Some(at) = running
                .iter()
                .position(|promotion| promotion.code.as_deref() == Some(code.as_str()))
            else {
                return Err(code_refused(
                    match store::find_by_code(db, tenant, code).await? {
                        None => "no promotion has this code".to_owned(),
                        Some(promotion) => unusable(&promotion, &now),
                    },
                ));
            };
            let promotion = running.remove(at);
            if let Some(refusal) = limit_reached(db, tenant, customer_id, &promotion).await? {
                return Err(code_refused(refusal));
            }
            Some(promotion)
        }
        None => None,
    };
    let mut automatic = Vec::new();
    for promotion in running.into_iter().filter(|p| p.code.is_none()) {
        if limit_reached(db, tenant, customer_id, &promotion)
            .await?
            .is_none()
        {
            automatic.push(promotion);
        }
    }
    let lines = scoped_lines(&priced.lines, products);
    discount::choose(&lines, priced, coded.as_ref(), &automatic).map_err(code_refused)
}

/// Each line with its product's category and own SKU, for a promotion's scope.
fn scoped_lines<'a>(
    lines: &'a [OrderLine],
    products: &'a [CatalogProduct],
) -> Vec<discount::Line<'a>> {
    lines
        .iter()
        .map(|line| {
            let product = products.iter().find(|product| product.sku == line.sku);
            discount::Line {
                line,
                category_id: product.and_then(|product| product.category_id.as_deref()),
                product_sku: product.and_then(|product| product.product_sku.as_deref()),
            }
        })
        .collect()
}

fn code_refused(message: String) -> OrderError {
    OrderError::Invalid(vec![FieldError::new("code", message)])
}

/// Why a promotion that takes no use at `now` (the store's `take_use` refuses it) does
/// not: switched off, ended, not started, or else used up.
fn unusable(promotion: &Promotion, now: &str) -> String {
    if !promotion.active {
        "this code is no longer valid".to_owned()
    } else if promotion.ends_at.as_deref().is_some_and(|ends| ends <= now) {
        "this code has expired".to_owned()
    } else if promotion
        .starts_at
        .as_deref()
        .is_some_and(|starts| starts > now)
    {
        "this code is not valid yet".to_owned()
    } else {
        "this code has been used up".to_owned()
    }
}

/// Why `customer_id` may not use `promotion` now, if a limit says so.
async fn limit_reached<D: Db>(
    db: &D,
    tenant: &str,
    customer_id: &str,
    promotion: &Promotion,
) -> Result<Option<String>, DbError> {
    if promotion
        .usage_limit
        .is_some_and(|limit| promotion.uses >= limit)
    {
        return Ok(Some("this code has been used up".to_owned()));
    }
    customer_limit_reached(db, tenant, customer_id, promotion).await
}

/// Why `customer_id` may not use `promotion` again, if its per-customer limit says so.
async fn customer_limit_reached<D: Db>(
    db: &D,
    tenant: &str,
    customer_id: &str,
    promotion: &Promotion,
) -> Result<Option<String>, DbError> {
    Ok(match promotion.per_customer_limit {
        Some(limit)
            if store::customer_uses(db, tenant, &promotion.id, customer_id).await? >= limit =>
        {
            Some(format!(
                "you have used this code {limit} time{}, as often as it allows",
                if limit == 1 { "" } else { "s" }
            ))
        }
        _ => None,
    })
}

/// Takes a use of each promotion behind `discounts` for order `order_id`, inside the
/// order's transaction: a conditional UPDATE per promotion (still active, running and
/// under its limit: concurrent checkouts queue on its row, so exactly the limit pass),
/// and the customer's uses counted under a lock per promotion and customer. A code's
/// refusal is a 422 naming `code`; a promotion that applied by itself and ran out
/// meanwhile is a 409 (the order, priced again, would cost more).
pub(crate) async fn claim_uses<D: Db>(
    db: &D,
    tenant: &str,
    customer_id: &str,
    order_id: &str,
    discounts: &[Discount],
) -> Result<(), OrderError> {
    let now = now_rfc3339();
    for discount in discounts {
        let refused = |message: &str| match discount.code {
            Some(_) => code_refused(message.to_owned()),
            None => OrderError::PromotionChanged,
        };
        let taken = store::take_use(db, tenant, &discount.promotion_id, &now).await?;
        // Promotions are switched off, never deleted: the row is there.
        let promotion = store::find(db, tenant, &discount.promotion_id)
            .await?
            .ok_or_else(|| {
                DbError::Other(format!("promotion {} is gone", discount.promotion_id))
            })?;
        if !taken {
            // Switched off, ended or used up since the order was priced: say which.
            return Err(refused(&unusable(&promotion, &now)));
        }
        lock_key(
            db,
            &format!(
                "orders\npromotion\n{tenant}\n{}\n{customer_id}",
                discount.promotion_id
            ),
        )
        .await?;
        if let Some(why) = customer_limit_reached(db, tenant, customer_id, &promotion).await? {
            return Err(refused(&why));
        }
        store::record_use(
            db,
            tenant,
            &discount.promotion_id,
            order_id,
            customer_id,
            &now,
        )
        .await?;
    }
    Ok(())
}

/// Gives back the uses order `order_id` holds, when it ends unpaid; nothing when it
/// holds none (or gave them back before).
pub(crate) async fn release_uses<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
) -> Result<(), DbError> {
    store::release(db, tenant, order_id).await
}

#[cfg(test)]
mod tests;
