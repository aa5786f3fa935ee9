//! Ranked full-text search over the tenant's active products: PostgreSQL's `tsvector`
//! with `websearch_to_tsquery` and `ts_rank`, SQLite's FTS5 with `bm25`.

use crate::CatalogError;
use crate::products::{PRODUCT_COLUMNS, Product, product_from_row};
use kit::db::{Db, Dialect};
use kit::pagination::MAX_LIMIT;

/// Words of a query beyond this many are ignored (they only narrow an AND further).
const MAX_QUERY_TERMS: usize = 16;

/// Ranked by weighted fields (name A, brand and sku B, description C), then oldest first.
const POSTGRES_SEARCH: &str = "FROM products p, websearch_to_tsquery('english', $2) query \
     WHERE p.tenant = $1 AND p.active AND p.search @@ query \
     ORDER BY ts_rank(p.search, query) DESC, p.created_at, p.id LIMIT $3";

/// bm25 is lower for better matches; its weights follow the FTS columns (name, brand,
/// sku, description) so a hit in the name outranks one in the description.
const SQLITE_SEARCH: &str = "FROM products_fts JOIN products p ON p.seq = products_fts.rowid \
     WHERE products_fts MATCH $2 AND p.tenant = $1 AND p.active \
     ORDER BY bm25(products_fts, 10.0, 4.0, 4.0, 1.0), p.created_at, p.id LIMIT $3";

/// The FTS5 query for what a user typed: each word (a run of letters and digits) as a
/// quoted string, all of them required. Quoting makes every word a plain term — `AND`,
/// `NEAR`, `*`, `"`, `:` or parentheses in the input are never syntax — so no input can
/// make the query fail. `None` when the input has no word.
pub fn fts5_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(MAX_QUERY_TERMS)
        .map(|word| format!("\"{word}\""))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// The tenant's active products matching `query`, best first, at most `limit` (1–100).
/// PostgreSQL reads `query` as web search syntax (`"phrases"`, `or`, `-exclusions`);
/// SQLite requires every word. Input with no word finds nothing.
pub async fn search<D: Db>(
    db: &D,
    tenant: &str,
    query: &str,
    limit: u32,
) -> Result<Vec<Product>, CatalogError> {
    let (from_where_order, query) = match db.dialect() {
        Dialect::Postgres if !query.trim().is_empty() => (POSTGRES_SEARCH, query.to_owned()),
        Dialect::Sqlite => match fts5_query(query) {
            Some(fts5) => (SQLITE_SEARCH, fts5),
            None => return Ok(Vec::new()),
        },
        Dialect::Postgres => return Ok(Vec::new()),
    };
    let limit = i64::from(limit.clamp(1, MAX_LIMIT));
    let rows = db
        .query(
            &format!("SELECT {PRODUCT_COLUMNS} {from_where_order}"),
            &[tenant.into(), query.into(), limit.into()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(product_from_row)
        .collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::products::{NewProduct, create_product, deactivate_product, update_product};
    use crate::test_support::{REQUEST_ID, TENANT, database};
    use crate::{Patch, ProductPatch};
    use futures::executor::block_on;
    use kit::db::NativeSqlite;

    fn add(db: &NativeSqlite, tenant: &str, sku: &str, name: &str, description: &str) -> Product {
        let new = NewProduct {
            sku: sku.into(),
            name: name.into(),
            slug: None,
            description: Some(description.into()),
            price: Some(100),
            currency: "EUR".into(),
            category_id: None,
            brand: None,
            image_url: None,
            attributes: None,
            active: None,
            options: None,
            variants: None,
        };
        block_on(create_product(db, tenant, REQUEST_ID, &new)).unwrap()
    }

    fn skus(db: &NativeSqlite, query: &str) -> Vec<String> {
        block_on(search(db, TENANT, query, 20))
            .unwrap()
            .into_iter()
            .map(|p| p.sku)
            .collect()
    }

    #[test]
    fn query_words_become_quoted_terms() {
        assert_eq!(
            fts5_query("blue kettle").as_deref(),
            Some("\"blue\" \"kettle\"")
        );
        assert_eq!(
            fts5_query("AND( tea* \"x").as_deref(),
            Some("\"AND\" \"tea\" \"x\"")
        );
        assert_eq!(
            fts5_query("Café-crème").as_deref(),
            Some("\"Café\" \"crème\"")
        );
        for nothing in ["", "   ", "\"", "*", "()", "-:^"] {
            assert_eq!(fts5_query(nothing), None, "{nothing:?}");
        }
        let many = "w ".repeat(100);
        assert_eq!(
            fts5_query(&many).unwrap().matches('"').count(),
            2 * MAX_QUERY_TERMS
        );
    }

    #[test]
    fn a_name_match_ranks_above_a_description_match() {
        let db = database();
        add(
            &db,
            TENANT,
            "TEAPOT",
            "Porcelain teapot",
            "Pairs well with our kettle and cups.",
        );
        add(
            &db,
            TENANT,
            "KETTLE",
            "Electric kettle",
            "Boils water in two minutes.",
        );
        add(&db, TENANT, "MUG", "Mug", "Holds tea.");
        assert_eq!(skus(&db, "kettle"), ["KETTLE", "TEAPOT"]);
        // Stemmed, case-insensitive, every word required.
        assert_eq!(skus(&db, "KETTLES"), ["KETTLE", "TEAPOT"]);
        assert_eq!(skus(&db, "kettle boils"), ["KETTLE"]);
        assert_eq!(skus(&db, "mug"), ["MUG"]);
        assert!(skus(&db, "toaster").is_empty());
    }

    #[test]
    fn search_sees_only_the_tenants_active_products_as_they_are_now() {
        let db = database();
        let kettle = add(&db, TENANT, "KETTLE", "Kettle", "");
        let teapot = add(&db, TENANT, "TEAPOT", "Teapot", "");
        add(&db, "other", "KETTLE-X", "Kettle", "");
        assert_eq!(skus(&db, "kettle"), ["KETTLE"]);

        block_on(deactivate_product(&db, TENANT, REQUEST_ID, &kettle.id)).unwrap();
        assert!(skus(&db, "kettle").is_empty());

        // The index follows renames.
        let rename = ProductPatch {
            name: Patch::Set("Kettle-shaped teapot".into()),
            ..ProductPatch::default()
        };
        block_on(update_product(&db, TENANT, REQUEST_ID, &teapot.id, &rename)).unwrap();
        assert_eq!(skus(&db, "kettle"), ["TEAPOT"]);
        assert_eq!(skus(&db, "teapot"), ["TEAPOT"]);
    }

    #[test]
    fn hostile_input_is_never_an_error() {
        let db = database();
        add(&db, TENANT, "AND-1", "And more", "NEAR the end");
        for input in [
            "\"",
            "*",
            "AND(",
            "NEAR(",
            "OR",
            "NOT",
            "a OR",
            "(",
            ")",
            "^",
            ":",
            "-",
            "'",
            "name:and",
            "\"unterminated",
            "a AND",
            "*and*",
            "{and}",
            "\0",
            "🫖",
        ] {
            let found = block_on(search(&db, TENANT, input, 20));
            assert!(found.is_ok(), "{input:?}: {found:?}");
        }
        assert_eq!(skus(&db, "AND("), ["AND-1"]);
        assert_eq!(skus(&db, "near"), ["AND-1"]);
    }

    #[test]
    fn limit_is_clamped() {
        let db = database();
        for n in 0..3 {
            add(&db, TENANT, &format!("MUG-{n}"), "Mug", "");
        }
        assert_eq!(block_on(search(&db, TENANT, "mug", 2)).unwrap().len(), 2);
        assert_eq!(block_on(search(&db, TENANT, "mug", 0)).unwrap().len(), 1);
    }
}
