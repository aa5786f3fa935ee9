//! The orders context's rules and SQL: checkout validation, pricing from the catalog's
//! answer, the status machine, the fraud rules scoring each new order, orders with their
//! `order.created` / `order.cancelled` events written to the outbox in the same
//! transaction, the fraud review's approval and rejection, group-buying orders on
//! campaign events, and the saga's transitions on inventory, payment and shipment
//! events. Every function takes the tenant (from the token or the event) and touches
//! only that tenant's rows. The shop's settings come from the component's variables
//! ([`OrderSettings::from_variables`]) and prices from the catalog
//! ([`catalog_products`]), through kit's `Variables` and `Outbound`, so the API and the
//! handler components share them and tests stub them.

mod campaigns;
mod checkout;
mod fraud;
mod handlers;
mod money;
mod orders;
mod pricing;
mod promotions;
mod returns;
mod status;

pub use campaigns::{
    CampaignTerms, ON_CAMPAIGN_JOINED_SOURCE, ON_CAMPAIGN_SUCCESSFUL_SOURCE, campaign_priced,
    campaign_terms, on_campaign_joined, on_campaign_successful,
};
pub use checkout::{
    ApproveRequest, CancelRequest, MAX_ADDRESS_CHARS, MAX_ITEMS, MAX_QUANTITY, MAX_REASON_CHARS,
    MAX_SKU_CHARS, MAX_TOKEN_CHARS, NewOrder, NewOrderItem, Payment, ShippingAddress,
};
pub use fraud::{FraudRule, FraudRules, OrderFacts, RECENT_ORDERS_MINUTES};
pub use handlers::{
    on_inventory_insufficient, on_inventory_reserved, on_payment_failed, on_payment_refunded,
    on_payment_succeeded, on_shipment_delivered, on_shipment_in_transit,
};
pub use kit::pagination::Position;
pub use orders::{
    DEFAULT_REJECTION_REASON, Order, Viewer, approve_order, cancel_order, create_order, get_order,
    list_orders, order_number, reject_order,
};
pub use pricing::{CatalogProduct, Priced, Rates, catalog_products, price, tax_of};
pub use promotions::{
    Discount, DiscountLine, NewPromotion, Promotion, PromotionChange, change_promotion,
    create_promotion, get_promotion, list_promotions, offered_discounts,
};
pub use returns::{
    NewReturn, Return, ReturnFilter, ReturnItem, ReturnStatus, ReturnStep, ReturnWindow,
    advance_return, get_return, list_returns, request_return,
};
pub use status::{IllegalTransition, Status};

use kit::db::{DbError, Migration};
use kit::variables::Variables;
use kit::{FieldError, Problem};
use std::fmt;

/// The context's name: its SQLite database label and PostgreSQL schema.
pub const CONTEXT: &str = "orders";

/// The `source` of the events the orders API emits (its component id in spin.toml).
pub const EVENT_SOURCE: &str = "/components/orders";

/// The orders schema and its outbox, in order, for
/// `kit::db::migrate(db, CONTEXT, MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[
    kit::migration!("0001_init"),
    kit::migration!("0002_fraud_review_and_campaign_orders"),
    kit::outbox::MIGRATION,
    kit::outbox::DELIVERIES_MIGRATION,
    kit::outbox::COUNTERS_MIGRATION,
    kit::edge::IDEMPOTENCY_MIGRATION,
    kit::migration!("0003_promotions"),
    kit::migration!("0004_returns"),
];

/// The variable naming the payment provider, which the payments context reads.
pub const PAYMENT_PROVIDER_VARIABLE: &str = "payment_provider";

/// Why no order is taken while [`OrderSettings::takes_payments`] is false.
pub const NO_PAYMENT_PROVIDER: &str = "this shop takes no orders until an operator sets the \
    payment_provider variable (test or stripe)";

/// What the shop's variables say about orders: the charges, the fraud thresholds, and
/// whether payments are configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderSettings {
    pub rates: Rates,
    pub fraud: FraudRules,
    /// Whether `payment_provider` is set: until it is, no order is taken.
    pub takes_payments: bool,
}

impl OrderSettings {
    /// The settings from the variables `tax_rate_bps`, `shipping_fee`,
    /// `fraud_max_total`, `fraud_max_orders`, `fraud_allowed_countries` and
    /// `payment_provider` (whether it is set; payments checks its value). The error
    /// names the variable that is wrong: a deployment error.
    pub async fn from_variables(variables: &impl Variables) -> Result<Self, String> {
        let tax_rate_bps = variables.variable("tax_rate_bps").await?;
        let shipping_fee = variables.variable("shipping_fee").await?;
        let max_total = variables.variable("fraud_max_total").await?;
        let max_orders = variables.variable("fraud_max_orders").await?;
        let allowed_countries = variables.variable("fraud_allowed_countries").await?;
        let provider = variables.text(PAYMENT_PROVIDER_VARIABLE).await?;
        Ok(Self {
            takes_payments: !provider.trim().is_empty(),
            rates: Rates::from_variables(tax_rate_bps.as_deref(), shipping_fee.as_deref())?,
            fraud: FraudRules::from_variables(
                max_total.as_deref(),
                max_orders.as_deref(),
                allowed_countries.as_deref(),
            )?,
        })
    }
}

#[derive(Debug)]
pub enum OrderError {
    /// The input breaks a rule; every broken field named (422).
    Invalid(Vec<FieldError>),
    /// No such order visible to the caller in this tenant (404).
    NotFound,
    /// The status machine forbids the change (409).
    Illegal(IllegalTransition),
    /// Only an order in review can be approved or rejected; it is in this status (409).
    NotInReview(Status),
    /// No such promotion in this tenant (404).
    NoPromotion,
    /// Another promotion of the tenant has this code (409).
    CodeTaken,
    /// A promotion that applied by itself ran out or ended while the order was placed (409).
    PromotionChanged,
    /// The order takes no return now: not delivered, or its window closed; or, for a
    /// return worth something, no longer delivered when it is approved or received (409).
    NotReturnable(String),
    /// No such return visible to the caller in this tenant (404).
    NoReturn,
    /// The return's status machine forbids the step (409).
    ReturnConflict(kit::status::IllegalTransition<ReturnStatus>),
    Db(DbError),
}

impl From<DbError> for OrderError {
    fn from(error: DbError) -> Self {
        OrderError::Db(error)
    }
}

impl fmt::Display for OrderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderError::Invalid(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                write!(f, "invalid fields: {}", fields.join(", "))
            }
            OrderError::NotFound => f.write_str("order not found"),
            OrderError::Illegal(illegal) => illegal.fmt(f),
            OrderError::NotInReview(status) => write!(
                f,
                "the order is {status}; only an order in review can be approved or rejected"
            ),
            OrderError::NoPromotion => f.write_str("no such promotion"),
            OrderError::CodeTaken => f.write_str("another promotion has this code"),
            OrderError::PromotionChanged => f.write_str(
                "a promotion ran out or ended while the order was placed; place it again to see its price",
            ),
            OrderError::NotReturnable(why) => f.write_str(why),
            OrderError::NoReturn => f.write_str("no such return"),
            OrderError::ReturnConflict(illegal) => illegal.fmt(f),
            OrderError::Db(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for OrderError {}

/// The HTTP answer. A database error becomes a bare 500: the caller logs it first.
impl From<OrderError> for Problem {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Invalid(errors) => Problem::validation(errors),
            OrderError::NotFound => Problem::not_found("no such order"),
            OrderError::Illegal(illegal) => Problem::conflict(illegal.to_string()),
            not_in_review @ OrderError::NotInReview(_) => {
                Problem::conflict(not_in_review.to_string())
            }
            OrderError::NoPromotion => Problem::not_found("no such promotion"),
            conflict @ (OrderError::CodeTaken
            | OrderError::PromotionChanged
            | OrderError::NotReturnable(_)
            | OrderError::ReturnConflict(_)) => Problem::conflict(conflict.to_string()),
            OrderError::NoReturn => Problem::not_found("no such return"),
            OrderError::Db(error) => error.into(),
        }
    }
}

/// The API logs a database failure before its bare answer.
impl kit::DomainError for OrderError {
    fn db_cause(&self) -> Option<&dyn std::fmt::Display> {
        match self {
            OrderError::Db(cause) => Some(cause),
            _ => None,
        }
    }
}

#[cfg(test)]
mod test_support {
    use crate::checkout::{NewOrder, NewOrderItem, Payment, ShippingAddress};
    use crate::fraud::FraudRules;
    use crate::orders::{Order, Viewer, create_order};
    use crate::pricing::{CatalogProduct, Rates, price};
    use futures::executor::block_on;
    use kit::db::{Db, NativeSqlite, migrate};
    use serde_json::Value;

    pub const TENANT: &str = "acme";
    pub const CUSTOMER: &str = "0190a1b2-0000-7000-8000-0000000000aa";
    pub const REQUEST_ID: &str = "req-1";

    pub fn database() -> NativeSqlite {
        let db = NativeSqlite::open_in_memory().unwrap();
        block_on(migrate(&db, crate::CONTEXT, crate::MIGRATIONS)).unwrap();
        db
    }

    pub fn customer(user_id: &str) -> Viewer<'_> {
        Viewer {
            tenant: TENANT,
            user_id,
            all_orders: false,
        }
    }

    pub fn admin() -> Viewer<'static> {
        Viewer {
            tenant: TENANT,
            user_id: "admin-1",
            all_orders: true,
        }
    }

    pub fn checkout(lines: &[(&str, u32)]) -> NewOrder {
        NewOrder {
            items: lines
                .iter()
                .map(|(sku, quantity)| NewOrderItem::new(*sku, *quantity))
                .collect(),
            shipping_address: ShippingAddress {
                name: " Ada Lovelace ".into(),
                line1: "12 St James's Square".into(),
                city: "London".into(),
                postal_code: "SW1Y 4JH".into(),
                country: "GB".into(),
            },
            payment: Payment {
                token: "tok_visa".into(),
            },
            code: None,
        }
    }

    /// The catalog every test shops from: MUG-1 at 12.50, TEA-1 at 3.00 (EUR).
    pub fn catalog() -> Vec<CatalogProduct> {
        [("MUG-1", "Mug", 1250), ("TEA-1", "Tea", 300)]
            .into_iter()
            .map(|(sku, name, price)| CatalogProduct {
                sku: sku.into(),
                name: name.into(),
                price,
                currency: "EUR".into(),
                active: true,
                category_id: None,
                product_sku: None,
            })
            .collect()
    }

    /// An order of 2 mugs and 1 tea for `customer_id` in `tenant`.
    pub fn place_in(db: &NativeSqlite, tenant: &str, customer_id: &str) -> Order {
        let new = checkout(&[("MUG-1", 2), ("TEA-1", 1)]);
        let priced = price(&new.items, &catalog(), Rates::default()).unwrap();
        block_on(create_order(
            db,
            tenant,
            customer_id,
            REQUEST_ID,
            &new,
            priced,
            &FraudRules::default(),
        ))
        .unwrap()
    }

    pub fn place(db: &NativeSqlite) -> Order {
        place_in(db, TENANT, CUSTOMER)
    }

    /// (topic, envelope) of every outbox row, oldest first.
    pub fn outbox(db: &NativeSqlite) -> Vec<(String, Value)> {
        block_on(db.query(
            "SELECT topic, payload FROM outbox ORDER BY created_at, id",
            &[],
        ))
        .unwrap()
        .iter()
        .map(|row| {
            let payload = serde_json::from_str(row.get_str(1).unwrap()).unwrap();
            (row.get_str(0).unwrap().to_owned(), payload)
        })
        .collect()
    }
}
