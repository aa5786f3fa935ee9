//! The Spin handler: the caller's cart in Spin's key-value store, priced by the catalog
//! and checked out through orders.

use crate::routes::{Endpoint, ROUTES, line_sku};
use cart_domain::{
    AddItem, CartError, CatalogProduct, CheckoutRequest, KeyValue, Line, Owner, SetQuantity,
    StoreError, new_order, price_cart, refusal,
};
use contracts::clients::catalog;
use contracts::clients::orders::{self, Placement};
use http::StatusCode;
use kit::http::{Response, created, empty, json};
use kit::json::Validate;
use kit::outbound::Outbound;
use kit::service::Call;
use kit::spin::Spin;
use kit::spin::key_value::Store;
use kit::{FieldError, Problem};

// The cart keeps no SQL store, so no idempotency records of its own: checkout
// forwards the key to orders, whose edge deduplicates the order.
kit::api_component!(stateless "cart", ROUTES, serve);

/// Every route needs a bearer token, and works on the caller's own cart.
async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let caller = call.caller().await?;
    let cart = Cart {
        owner: Owner {
            tenant: &caller.tenant,
            user_id: &caller.user_id,
        },
        call,
    };
    match endpoint {
        Endpoint::GetCart => cart.show(StatusCode::OK).await,
        Endpoint::ClearCart => {
            cart_domain::cart::clear(&cart.store()?, cart.owner)
                .await
                .map_err(|error| cart.store_problem(error))?;
            Ok(empty(StatusCode::NO_CONTENT, call.request_id()))
        }
        Endpoint::AddItem => cart.add_item().await,
        Endpoint::SetItem => {
            let sku = line_sku(call.capture())?;
            let set: SetQuantity = call.json()?;
            set.validate().map_err(Problem::validation)?;
            cart_domain::cart::set_quantity(&cart.store()?, cart.owner, sku, set.quantity)
                .await
                .map_err(|error| call.domain(error))?;
            cart.show(StatusCode::OK).await
        }
        Endpoint::RemoveItem => {
            let sku = line_sku(call.capture())?;
            cart_domain::cart::remove(&cart.store()?, cart.owner, sku)
                .await
                .map_err(|error| call.domain(error))?;
            Ok(empty(StatusCode::NO_CONTENT, call.request_id()))
        }
        Endpoint::Checkout => cart.checkout().await,
    }
}

/// Spin's `default` key-value store, as the domain's [`KeyValue`].
struct SpinStore(Store);

impl KeyValue for SpinStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(key).map_err(StoreError)
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.0.set(key, value).map_err(StoreError)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).map_err(StoreError)
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.0.increment(key, delta).map_err(StoreError)
    }

    async fn counter(&self, key: &str) -> Result<i64, StoreError> {
        self.0.counter(key).map_err(StoreError)
    }
}

/// One request's view of the caller's cart.
struct Cart<'a> {
    owner: Owner<'a>,
    call: &'a Call,
}

impl Cart<'_> {
    /// The `default` store; one that cannot be opened is 503.
    fn store(&self) -> Result<SpinStore, Problem> {
        Store::open_default()
            .map(SpinStore)
            .map_err(|error| self.store_problem(StoreError(error)))
    }

    /// A store failure: logged, then a bare 503.
    fn store_problem(&self, error: StoreError) -> Problem {
        self.call.domain(CartError::Store(error))
    }

    async fn lines(&self, kv: &SpinStore) -> Result<Vec<Line>, Problem> {
        cart_domain::cart::lines(kv, self.owner)
            .await
            .map_err(|error| self.store_problem(error))
    }

    /// The catalog's active products among `skus`, read as an anonymous reader of the
    /// caller's tenant (so inactive products stay unknown). Any failure is 503.
    async fn catalog_products(&self, skus: &[&str]) -> Result<Vec<CatalogProduct>, Problem> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let request_id = self.call.request_id();
        let unavailable = |cause: String| {
            eprintln!("[{request_id}] catalog: {cause}");
            Problem::unavailable("the catalog is unavailable, so the cart cannot be priced")
        };
        let request =
            catalog::products_request(self.owner.tenant, skus.iter().copied(), request_id)
                .map_err(unavailable)?;
        catalog::read_products(&Spin.send(request).await.map_err(unavailable)?).map_err(unavailable)
    }

    /// The cart with live prices, answered with `status`.
    async fn show(&self, status: StatusCode) -> Result<Response, Problem> {
        let lines = self.lines(&self.store()?).await?;
        let skus: Vec<&str> = lines.iter().map(|line| line.sku.as_str()).collect();
        let products = self.catalog_products(&skus).await?;
        Ok(json(
            status,
            &price_cart(&lines, &products),
            self.call.request_id(),
        ))
    }

    async fn add_item(&self) -> Result<Response, Problem> {
        let item: AddItem = self.call.json()?;
        item.validate().map_err(Problem::validation)?;
        let sold = self.catalog_products(&[&item.sku]).await?;
        if !sold
            .iter()
            .any(|product| product.sku == item.sku && product.active)
        {
            return Err(Problem::validation(vec![FieldError::new(
                "sku",
                format!("no product on sale has sku {:?}", item.sku),
            )]));
        }
        cart_domain::cart::add(&self.store()?, self.owner, &item.sku, item.quantity)
            .await
            .map_err(|error| self.call.domain(error))?;
        self.show(StatusCode::CREATED).await
    }

    /// Places the order of the cart's lines through the orders component, as the
    /// caller (see [`orders::FORWARDED_HEADERS`]); the cart is emptied only once the
    /// order was created.
    async fn checkout(&self) -> Result<Response, Problem> {
        let request_id = self.call.request_id();
        let checkout: CheckoutRequest = self.call.json()?;
        let kv = self.store()?;
        let lines = self.lines(&kv).await?;
        if lines.is_empty() {
            return Err(Problem::conflict(
                "the cart is empty; add items before checking out",
            ));
        }
        let request = orders::place_request(
            &new_order(&lines, &checkout),
            self.call.headers(),
            request_id,
        )
        .map_err(|cause| self.orders_unavailable(cause))?;
        let answer = Spin
            .send(request)
            .await
            .map_err(|cause| self.orders_unavailable(cause))?;
        match orders::read_placement(&answer) {
            Placement::Placed(order) => {
                let response = match order["id"].as_str() {
                    Some(id) => created(&order, &format!("/api/v1/orders/{id}"), request_id),
                    None => json(StatusCode::CREATED, &order, request_id),
                };
                // The order stands even if emptying fails: the lines stay, and the
                // customer sees them and may remove them.
                if let Err(error) = cart_domain::cart::clear(&kv, self.owner).await {
                    eprintln!("[{request_id}] cart: emptying after the order: {error}");
                }
                Ok(response)
            }
            Placement::Refused(status, body) => Err(refusal(status, &body)),
            Placement::Unavailable(cause) => Err(self.orders_unavailable(cause)),
        }
    }

    fn orders_unavailable(&self, cause: String) -> Problem {
        eprintln!("[{}] orders: {cause}", self.call.request_id());
        Problem::unavailable("the orders service is unavailable; the cart is kept, try again")
    }
}
