//! The catalog's routes.

use crate::{Access, Described, Op, from_table, keyed};
use catalog_api::routes::{Endpoint, ROUTES};
use catalog_domain::{Category, NewCategory, NewProduct, Product, ProductPatch};

const WRITERS: Access = Access::Roles("admin, vendor");

pub(crate) fn operations() -> Vec<Described> {
    keyed(from_table("catalog", ROUTES, describe))
}

fn describe(endpoint: Endpoint) -> Op {
    match endpoint {
        Endpoint::ListProducts => Op::new("List products", Access::PublicOrBearer)
            .describe(
                "Active products; admins and vendors also see inactive ones. Anonymous \
                 answers are cacheable (`ETag`, `Cache-Control: public, no-cache`).",
            )
            .query::<String>("category_id", false, "Products of this category.")
            .query::<bool>(
                "active",
                false,
                "`false`: inactive products only (admins and vendors; 403 for others).",
            )
            .query::<String>(
                "sku",
                false,
                "Products with one of these skus, their own or a variant's: comma-separated, may repeat, at most 100.",
            )
            .paged()
            .answers_page::<Product>("A page of products.")
            .problems(&[403, 422]),
        Endpoint::CreateProduct => Op::new("Create a product", WRITERS)
            .describe(
                "Sold as one SKU (`sku` at `price`), or, with `options` (up to 3, e.g. size \
                 and colour) and `variants` (up to 100), as one SKU per variant, each with \
                 its price and a value of every option; the product's `price` is then the \
                 lowest. Stock is per SKU (`PUT /api/v1/inventory/{sku}`); carts and orders \
                 take a variant's SKU. A SKU another product has, as its own or a \
                 variant's, is a 409 naming the field.",
            )
            .body::<NewProduct>()
            .answers::<Product>(201, "Created; `Location` names it.")
            .problems(&[409]),
        Endpoint::GetProduct => Op::new("Read a product", Access::PublicOrBearer)
            .answers::<Product>(200, "The product.")
            .problems(&[404]),
        Endpoint::UpdateProduct => Op::new("Change a product", WRITERS)
            .describe(
                "Absent fields stay; `null` clears the optional ones. `options` and \
                 `variants` are replaced together; `options: null` sells the product as \
                 one SKU again, at `price`. A product with options takes no `price`: \
                 each variant has its own.",
            )
            .body::<ProductPatch>()
            .answers::<Product>(200, "The changed product.")
            .problems(&[404, 409]),
        Endpoint::DeactivateProduct => Op::new("Deactivate a product", WRITERS)
            .describe("A soft delete: the product turns inactive (also when it already was).")
            .answers_empty(204, "Inactive.")
            .problems(&[404]),
        Endpoint::ListCategories => Op::new("List categories", Access::PublicOrBearer)
            .paged()
            .answers_page::<Category>("A page of categories.")
            .problems(&[422]),
        Endpoint::CreateCategory => Op::new("Create a category", WRITERS)
            .body::<NewCategory>()
            .answers::<Category>(201, "Created.")
            .problems(&[409]),
        Endpoint::Search => Op::new("Search products", Access::PublicOrBearer)
            .describe("Ranked results as one page (`next_cursor` is always null).")
            .query::<String>("q", true, "The text to search for.")
            .query::<u32>("limit", false, "Results, 1 to 100 (default 20).")
            .answers_page::<Product>("The best matches first.")
            .problems(&[422]),
    }
}
