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
        Endpoint::ReferencePage => Op::new("The API reference page", Access::Public).answers_raw(
            200,
            "An HTML page.",
            "text/html",
            String::schema(),
        ),
        Endpoint::ReferenceAsset => Op::new("A file of the reference page", Access::Public)
            .answers_raw(200, "Its script, styles or icon.", "*/*", String::schema())
            .problems(&[404]),
        Endpoint::Storefront => Op::new("The storefront", Access::Public).answers_raw(
            200,
            "An HTML page: the shop, its pages in the URL's fragment.",
            "text/html",
            String::schema(),
        ),
        Endpoint::Admin => Op::new("The admin", Access::Public).answers_raw(
            200,
            "An HTML page: the admin, which signs in with an admin's or a vendor's account.",
            "text/html",
            String::schema(),
        ),
        Endpoint::Asset => Op::new("A file of the storefront or the admin", Access::Public)
            .answers_raw(200, "Its script, styles or image.", "*/*", String::schema())
            .problems(&[404]),
    }
}
