//! The Spin handler: authentication, bodies, the key-value store, and the catalog and
//! orders calls around each domain call.

use crate::routes::{Endpoint, ROUTES, line_sku};
use cart_domain::{
    AddItem, CartError, CatalogProduct, CheckoutRequest, FORWARDED_HEADERS, KeyValue, Line,
    ORDERS_URL, OrdersAnswer, Owner, SetQuantity, StoreError, catalog_products_url, order_body,
    parse_catalog_reply, price_cart, read_orders_answer,
};
use http::{HeaderValue, StatusCode, header};
use kit::auth::{Caller, TENANT_HEADER};
use kit::edge::Edge;
use kit::http::Request;
use kit::http::{Response, empty, json, respond};
use kit::json::{Validate, read_json};
use kit::spin::authenticate;
use kit::spin::http::send;
use kit::spin::key_value::Store;
use kit::{FieldError, Problem, request_id, route};

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

// The cart keeps no SQL store, so no idempotency records of its own: checkout
// forwards the key to orders, whose edge deduplicates the order.
kit::api_component!(
    Edge {
        context: None,
        migrations: &[],
    },
    handle_request
);

/// The routes, behind the edge (CORS, rate limit, security headers).
async fn handle_request(request: Request) -> Response {
    let request_id = request_id::from_headers(request.headers());
    let (endpoint, sku) = match route::find(ROUTES, request.method(), request.uri().path()) {
        Ok((endpoint, captures)) => (endpoint, captures.first().map(|sku| (*sku).to_owned())),
        Err(no_route) => {
            return no_route.to_response(request.method(), request.uri().path(), &request_id);
        }
    };
    let sku = sku.unwrap_or_default();
    let caller = match authenticate(request.headers()).await {
        Ok(caller) => caller,
        Err(problem) => return problem.to_response(&request_id),
    };
    let cart = Cart {
        owner: Owner {
            tenant: &caller.tenant,
            user_id: &caller.user_id,
        },
        caller: &caller,
        request_id: &request_id,
    };
    let outcome = match endpoint {
        Endpoint::GetCart => cart.show(StatusCode::OK).await,
        Endpoint::ClearCart => cart.clear().await,
        Endpoint::AddItem => cart.add_item(request).await,
        Endpoint::SetItem => cart.set_item(request, &sku).await,
        Endpoint::RemoveItem => cart.remove_item(&sku).await,
        Endpoint::Checkout => cart.checkout(request).await,
    };
    respond(outcome, &request_id)
}

/// One request's view of the caller's cart.
struct Cart<'a> {
    owner: Owner<'a>,
    caller: &'a Caller,
    request_id: &'a str,
}

impl Cart<'_> {
    /// The `default` store; one that cannot be opened is 503.
    async fn store(&self) -> Result<SpinStore, Problem> {
        Store::open_default()
            .map(SpinStore)
            .map_err(|error| self.store_problem(StoreError(error)))
    }

    fn store_problem(&self, error: StoreError) -> Problem {
        self.domain_problem(CartError::Store(error))
    }

    /// The domain's answer as a problem; a store failure is logged, then a bare 503.
    fn domain_problem(&self, error: CartError) -> Problem {
        if let CartError::Store(cause) = &error {
            eprintln!("[{}] cart: {cause}", self.request_id);
        }
        error.into()
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
        let unavailable = |cause: String| {
            eprintln!("[{}] catalog: {cause}", self.request_id);
            Problem::unavailable("the catalog is unavailable, so the cart cannot be priced")
        };
        let request = http::Request::get(catalog_products_url(skus.iter().copied()))
            .header(TENANT_HEADER, &self.caller.tenant)
            .header(request_id::HEADER, self.request_id)
            .body(Vec::new())
            .map_err(|error| unavailable(format!("building the request: {error}")))?;
        let answer = send(request).await.map_err(unavailable)?;
        if !answer.status.is_success() {
            return Err(unavailable(format!(
                "answered HTTP {}",
                answer.status.as_u16()
            )));
        }
        parse_catalog_reply(&answer.body).map_err(unavailable)
    }

    /// The cart with live prices, answered with `status`.
    async fn show(&self, status: StatusCode) -> Result<Response, Problem> {
        let kv = self.store().await?;
        let lines = self.lines(&kv).await?;
        let skus: Vec<&str> = lines.iter().map(|line| line.sku.as_str()).collect();
        let products = self.catalog_products(&skus).await?;
        Ok(json(
            status,
            &price_cart(&lines, &products),
            self.request_id,
        ))
    }

    async fn add_item(&self, request: Request) -> Result<Response, Problem> {
        let item: AddItem = read_json(request).await?;
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
        let kv = self.store().await?;
        cart_domain::cart::add(&kv, self.owner, &item.sku, item.quantity)
            .await
            .map_err(|error| self.domain_problem(error))?;
        self.show(StatusCode::CREATED).await
    }

    async fn set_item(&self, request: Request, sku: &str) -> Result<Response, Problem> {
        let sku = line_sku(sku)?;
        let set: SetQuantity = read_json(request).await?;
        set.validate().map_err(Problem::validation)?;
        let kv = self.store().await?;
        cart_domain::cart::set_quantity(&kv, self.owner, sku, set.quantity)
            .await
            .map_err(|error| self.domain_problem(error))?;
        self.show(StatusCode::OK).await
    }

    async fn remove_item(&self, sku: &str) -> Result<Response, Problem> {
        let sku = line_sku(sku)?;
        let kv = self.store().await?;
        cart_domain::cart::remove(&kv, self.owner, sku)
            .await
            .map_err(|error| self.domain_problem(error))?;
        Ok(empty(StatusCode::NO_CONTENT, self.request_id))
    }

    async fn clear(&self) -> Result<Response, Problem> {
        let kv = self.store().await?;
        cart_domain::cart::clear(&kv, self.owner)
            .await
            .map_err(|error| self.store_problem(error))?;
        Ok(empty(StatusCode::NO_CONTENT, self.request_id))
    }

    /// Places the order of the cart's lines through the orders component, as the
    /// caller (see [`FORWARDED_HEADERS`]); the cart is emptied only once the order was
    /// created.
    async fn checkout(&self, request: Request) -> Result<Response, Problem> {
        let forwarded: Vec<(&str, HeaderValue)> = FORWARDED_HEADERS
            .into_iter()
            .filter_map(|name| Some((name, request.headers().get(name)?.clone())))
            .collect();
        let checkout: CheckoutRequest = read_json(request).await?;
        let kv = self.store().await?;
        let lines = self.lines(&kv).await?;
        if lines.is_empty() {
            return Err(Problem::conflict(
                "the cart is empty; add items before checking out",
            ));
        }
        let (status, body) = self
            .send_order(forwarded, &order_body(&lines, &checkout))
            .await?;
        match read_orders_answer(status, &body) {
            OrdersAnswer::Placed(order) => {
                let mut response = json(StatusCode::CREATED, &order, self.request_id);
                if let Some(id) = order["id"].as_str()
                    && let Ok(location) = HeaderValue::from_str(&format!("/api/v1/orders/{id}"))
                {
                    response.headers_mut().insert(header::LOCATION, location);
                }
                // The order stands even if emptying fails: the lines stay, and the
                // customer sees them and may remove them.
                if let Err(error) = cart_domain::cart::clear(&kv, self.owner).await {
                    eprintln!(
                        "[{}] cart: emptying after the order: {error}",
                        self.request_id
                    );
                }
                Ok(response)
            }
            OrdersAnswer::Refused(problem) => Err(problem),
            OrdersAnswer::Unavailable(cause) => Err(self.orders_unavailable(cause)),
        }
    }

    fn orders_unavailable(&self, cause: String) -> Problem {
        eprintln!("[{}] orders: {cause}", self.request_id);
        Problem::unavailable("the orders service is unavailable; the cart is kept, try again")
    }

    /// `POST /api/v1/orders` on the orders component: its status and body.
    async fn send_order(
        &self,
        forwarded: Vec<(&str, HeaderValue)>,
        order: &serde_json::Value,
    ) -> Result<(u16, Vec<u8>), Problem> {
        let mut request = http::Request::post(ORDERS_URL)
            .header(header::CONTENT_TYPE, "application/json")
            .header(request_id::HEADER, self.request_id);
        for (name, value) in forwarded {
            request = request.header(name, value);
        }
        let request = request
            .body(order.to_string().into_bytes())
            .map_err(|error| self.orders_unavailable(format!("building the request: {error}")))?;
        let answer = send(request)
            .await
            .map_err(|error| self.orders_unavailable(error))?;
        Ok((answer.status.as_u16(), answer.body.to_vec()))
    }
}
