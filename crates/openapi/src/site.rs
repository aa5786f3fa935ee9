//! The pages' routes: the storefront, the admin, this document and its reference page.

use crate::{Access, Described, Op, from_table};
use site_pages::routes::{Endpoint, ROUTES};
use utoipa::PartialSchema;
use utoipa::openapi::schema::Object;

pub(crate) fn operations() -> Vec<Described> {
    from_table("site", ROUTES, describe)
}

fn describe(endpoint: Endpoint) -> Op {
    match endpoint {
        Endpoint::Document => Op::new("This document", Access::Public).answers_raw(
            200,
            "The OpenAPI 3.1 document.",
            "application/json",
            Object::new().into(),
        ),
        Endpoint::ReferencePage => page("The API reference page", "An HTML page."),
        Endpoint::ReferenceAsset => file(
            "A file of the reference page",
            "Its script, styles or icon.",
        ),
        Endpoint::Storefront => page(
            "The storefront",
            "An HTML page: the shop, its pages in the URL's fragment.",
        ),
        Endpoint::Admin => page(
            "The admin",
            "An HTML page: the admin, which signs in with an admin's or a vendor's account.",
        ),
        Endpoint::Asset => file(
            "A file of the storefront or the admin",
            "Its script, styles or image.",
        ),
    }
}

/// A public HTML page.
fn page(summary: &str, description: &'static str) -> Op {
    Op::new(summary, Access::Public).answers_raw(200, description, "text/html", String::schema())
}

/// A public file of a page, 404 when there is none of that name.
fn file(summary: &str, description: &'static str) -> Op {
    Op::new(summary, Access::Public)
        .answers_raw(200, description, "*/*", String::schema())
        .problems(&[404])
}
