//! The catalog's product list, as the cart and orders read prices from it: one
//! [`Product`] per SKU a customer can buy, each variant of a product with options.

use super::{Answer, REQUEST_ID_HEADER, TENANT_HEADER, built};
use serde::Deserialize;

/// The catalog component's product list.
pub const PRODUCTS_URL: &str = "http://catalog.spin.internal/api/v1/products";

/// What other contexts need of a SKU the catalog sells (a product, or one variant of a
/// product with options); the answer's other fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Product {
    pub sku: String,
    pub name: String,
    /// Minor units of `currency`.
    pub price: i64,
    pub currency: String,
    pub active: bool,
    /// What a promotion on categories matches.
    #[serde(default)]
    pub category_id: Option<String>,
    /// A variant's product's own SKU, which a promotion on that product names; `None`
    /// for a product sold as one SKU (its `sku`).
    #[serde(skip)]
    pub product_sku: Option<String>,
}

/// The product list URL for `skus`, all on one page (a cart or an order has at most
/// 100 distinct skus, the catalog's page and filter limit). Each sku is its own `sku`
/// filter; one with a comma is left out, since the catalog reads commas as separators
/// and no catalog sku contains one, so it stays unknown.
pub fn products_url<'a>(skus: impl IntoIterator<Item = &'a str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for sku in skus.into_iter().filter(|sku| !sku.contains(',')) {
        query.append_pair("sku", sku);
    }
    query.append_pair("limit", "100");
    format!("{PRODUCTS_URL}?{}", query.finish())
}

/// `GET` of the products among `skus`, as an anonymous reader of `tenant` (so inactive
/// products stay unknown).
pub fn products_request<'a>(
    tenant: &str,
    skus: impl IntoIterator<Item = &'a str>,
    request_id: &str,
) -> Result<http::Request<Vec<u8>>, String> {
    built(
        http::Request::get(products_url(skus))
            .header(TENANT_HEADER, tenant)
            .header(REQUEST_ID_HEADER, request_id)
            .body(Vec::new()),
    )
}

/// The SKUs of the catalog's answer (`{items, next_cursor}`): each product's variants,
/// or the product itself when the answer lists none; or why it is not one.
pub fn read_products(answer: &Answer) -> Result<Vec<Product>, String> {
    #[derive(Deserialize)]
    struct ProductPage {
        items: Vec<Listed>,
    }
    #[derive(Deserialize)]
    struct Listed {
        #[serde(flatten)]
        product: Product,
        #[serde(default)]
        variants: Vec<ListedVariant>,
    }
    #[derive(Deserialize)]
    struct ListedVariant {
        sku: String,
        name: String,
        price: i64,
    }
    if !answer.status().is_success() {
        return Err(format!("answered HTTP {}", answer.status().as_u16()));
    }
    let page: ProductPage = serde_json::from_slice(answer.body())
        .map_err(|error| format!("unexpected catalog reply: {error}"))?;
    let mut skus = Vec::new();
    for listed in page.items {
        if listed.variants.is_empty() {
            skus.push(listed.product);
            continue;
        }
        skus.extend(listed.variants.into_iter().map(|variant| Product {
            sku: variant.sku,
            name: variant.name,
            price: variant.price,
            product_sku: Some(listed.product.sku.clone()),
            ..listed.product.clone()
        }));
    }
    if let Some(product) = skus.iter().find(|product| product.price < 0) {
        return Err(format!(
            "unexpected catalog reply: product {} has a negative price",
            product.sku
        ));
    }
    Ok(skus)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::answer;
    use serde_json::json;

    #[test]
    fn the_url_names_each_sku_once_encoded() {
        assert_eq!(
            products_url(["MUG-1", "a b&c"]),
            "http://catalog.spin.internal/api/v1/products?sku=MUG-1&sku=a+b%26c&limit=100"
        );
        assert_eq!(
            products_url(["A,B", "C"]),
            "http://catalog.spin.internal/api/v1/products?sku=C&limit=100"
        );
    }

    #[test]
    fn the_request_reads_as_the_tenant_with_the_request_id() {
        let request = products_request("acme", ["MUG-1"], "r1").unwrap();
        assert_eq!(request.method(), http::Method::GET);
        assert_eq!(request.headers()[TENANT_HEADER], "acme");
        assert_eq!(request.headers()[REQUEST_ID_HEADER], "r1");
        assert!(request.body().is_empty());
        assert!(products_request("a\nb", ["MUG-1"], "r1").is_err());
    }

    #[test]
    fn answers_parse_ignoring_other_fields() {
        let body = json!({
            "items": [{
                "id": "p1", "sku": "MUG-1", "name": "Mug", "slug": "mug", "description": "",
                "price": 1250, "currency": "EUR", "category_id": "c-1", "brand": null,
                "image_url": null, "attributes": {"color": "blue"}, "active": true,
                "created_at": "t", "updated_at": "t"
            }],
            "next_cursor": null
        });
        assert_eq!(
            read_products(&answer(200, &body.to_string())).unwrap(),
            [Product {
                sku: "MUG-1".into(),
                name: "Mug".into(),
                price: 1250,
                currency: "EUR".into(),
                active: true,
                category_id: Some("c-1".into()),
                product_sku: None,
            }]
        );
        let empty = answer(200, r#"{"items": [], "next_cursor": null}"#);
        assert!(read_products(&empty).unwrap().is_empty());
    }

    #[test]
    fn a_product_with_variants_sells_each_variant() {
        let body = json!({
            "items": [{
                "sku": "TEE", "name": "Tee", "price": 1500, "currency": "EUR",
                "active": true, "category_id": null,
                "variants": [
                    {"sku": "TEE-S", "name": "Tee (S)", "price": 1500, "options": {"size": "S"}},
                    {"sku": "TEE-L", "name": "Tee (L)", "price": 1700, "options": {"size": "L"}}
                ]
            }],
            "next_cursor": null
        });
        let skus: Vec<(String, String, i64, Option<String>)> =
            read_products(&answer(200, &body.to_string()))
                .unwrap()
                .into_iter()
                .map(|product| {
                    (
                        product.sku,
                        product.name,
                        product.price,
                        product.product_sku,
                    )
                })
                .collect();
        let tee = Some("TEE".to_owned());
        assert_eq!(
            skus,
            [
                ("TEE-S".into(), "Tee (S)".into(), 1500, tee.clone()),
                ("TEE-L".into(), "Tee (L)".into(), 1700, tee)
            ]
        );
    }

    #[test]
    fn failures_and_malformed_answers_are_errors() {
        assert_eq!(
            read_products(&answer(500, "{}")).unwrap_err(),
            "answered HTTP 500"
        );
        for body in [
            "not json",
            "<html>",
            r#"{"type": "urn:fusion:problem:internal", "status": 500}"#,
            r#"{"items": [{"sku": "A", "name": "A", "price": "1", "currency": "EUR", "active": true}]}"#,
            r#"{"items": [{"sku": "A", "name": "A", "price": -1, "currency": "EUR", "active": true}]}"#,
        ] {
            let error = read_products(&answer(200, body)).unwrap_err();
            assert!(
                error.starts_with("unexpected catalog reply: "),
                "{body}: {error}"
            );
        }
    }
}
