//! The catalog's route table, its list and search query parameters, and who sees
//! inactive products.

use catalog_domain::{MAX_SKU_FILTER, Position, ProductFilter};
use http::Method;
use kit::auth::Role;
use kit::json::FieldErrors;
use kit::pagination::PageParams;
use kit::route::Route;
use kit::{FieldError, Problem};

/// What a request asks the catalog to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListProducts,
    CreateProduct,
    GetProduct,
    UpdateProduct,
    DeactivateProduct,
    ListCategories,
    CreateCategory,
    Search,
}

/// DESIGN §3's catalog routes; `{id}` is a product id.
pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::GET, "/api/v1/products", Endpoint::ListProducts),
    Route::new(Method::POST, "/api/v1/products", Endpoint::CreateProduct),
    Route::new(Method::GET, "/api/v1/products/{id}", Endpoint::GetProduct),
    Route::new(
        Method::PATCH,
        "/api/v1/products/{id}",
        Endpoint::UpdateProduct,
    ),
    Route::new(
        Method::DELETE,
        "/api/v1/products/{id}",
        Endpoint::DeactivateProduct,
    ),
    Route::new(Method::GET, "/api/v1/categories", Endpoint::ListCategories),
    Route::new(Method::POST, "/api/v1/categories", Endpoint::CreateCategory),
    Route::new(Method::GET, "/api/v1/search", Endpoint::Search),
];

/// Whether `endpoint` reads (every reader of a tenant without a token gets the same).
pub fn is_read(endpoint: Endpoint) -> bool {
    matches!(
        endpoint,
        Endpoint::ListProducts | Endpoint::GetProduct | Endpoint::ListCategories | Endpoint::Search
    )
}

/// What a cache may do with an anonymous read: keep it, for any reader of the same
/// tenant, and revalidate it on each use with the edge's `ETag` (a 304 costs no body).
/// No max-age: nothing tells a cache when a product changes.
pub const PUBLIC_READ_CACHE_CONTROL: &str = "public, no-cache";
/// What an anonymous read depends on besides its URL.
pub const PUBLIC_READ_VARY: &str = "authorization, x-tenant-id";

/// The roles that write the catalog, and so also see its inactive products.
pub const WRITERS: &[Role] = &[Role::Admin, Role::Vendor];

/// Whether a reader of `role` (`None`: anonymous) sees inactive products.
pub fn sees_inactive(role: Option<Role>) -> bool {
    role.is_some_and(|role| WRITERS.contains(&role))
}

/// `GET /api/v1/products`: `category_id`, `active` and `sku` filters, `limit` and
/// `cursor`. `sku` may repeat and each may list several, comma-separated (at most
/// [`MAX_SKU_FILTER`] distinct skus); a product matches one of them. A reader who does not see inactive products gets active ones only, and asking them
/// for `active=false` is 403 rather than a silently empty list.
pub fn product_list_query(
    query: &str,
    sees_inactive: bool,
) -> Result<(ProductFilter, PageParams<Position>), Problem> {
    let page = PageParams::from_query(query)?;
    let mut filter = ProductFilter::default();
    let mut errors = FieldErrors::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "category_id" if value.is_empty() => errors.push("category_id", "must not be empty"),
            "category_id" => filter.category_id = Some(value.into_owned()),
            "active" => match value.as_ref() {
                "true" => filter.active = Some(true),
                "false" => filter.active = Some(false),
                _ => errors.push("active", "must be true or false"),
            },
            "sku" => {
                for sku in value.split(',') {
                    if sku.is_empty() {
                        errors.push("sku", "must not be empty");
                    } else if !filter.skus.iter().any(|known| known == sku) {
                        filter.skus.push(sku.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    if filter.skus.len() > MAX_SKU_FILTER {
        errors.push("sku", format!("may name at most {MAX_SKU_FILTER} skus"));
    }
    errors.into_result().map_err(Problem::validation)?;
    if !sees_inactive {
        if filter.active == Some(false) {
            return Err(Problem::forbidden(
                "only admins and vendors may list inactive products",
            ));
        }
        filter.active = Some(true);
    }
    Ok((filter, page))
}

/// `GET /api/v1/search`: the text `q` (required, not blank) and `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub q: String,
    pub limit: u32,
}

impl SearchQuery {
    /// Search results are one ranked page, so a `cursor` is refused rather than ignored.
    pub fn from_query(query: &str) -> Result<Self, Problem> {
        let page = PageParams::<Position>::from_query(query)?;
        if page.after.is_some() {
            return Err(invalid(
                "cursor",
                "search results are not paginated; use limit",
            ));
        }
        let q = form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "q")
            .map(|(_, value)| value.trim().to_owned())
            .filter(|q| !q.is_empty())
            .ok_or_else(|| invalid("q", "is required: the text to search for"))?;
        Ok(Self {
            q,
            limit: page.limit,
        })
    }
}

fn invalid(field: &str, message: &str) -> Problem {
    Problem::validation(vec![FieldError::new(field, message)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::pagination::encode_cursor;
    use kit::route::{NoRoute, find};

    fn field_of(problem: &Problem) -> &str {
        assert_eq!(problem.status, 422, "{problem}");
        &problem.errors[0].field
    }

    #[test]
    fn routes_cover_design_section_3() {
        let cases = [
            (Method::GET, "/api/v1/products", Endpoint::ListProducts),
            (Method::POST, "/api/v1/products/", Endpoint::CreateProduct),
            (Method::GET, "/api/v1/products/p1", Endpoint::GetProduct),
            (
                Method::PATCH,
                "/api/v1/products/p1",
                Endpoint::UpdateProduct,
            ),
            (
                Method::DELETE,
                "/api/v1/products/p1",
                Endpoint::DeactivateProduct,
            ),
            (Method::GET, "/api/v1/categories", Endpoint::ListCategories),
            (Method::POST, "/api/v1/categories", Endpoint::CreateCategory),
            (Method::GET, "/api/v1/search", Endpoint::Search),
        ];
        for (method, path, endpoint) in cases {
            assert_eq!(find(ROUTES, &method, path).unwrap().0, endpoint, "{path}");
        }
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/products/p1").unwrap().1,
            ["p1"]
        );
    }

    #[test]
    fn wrong_methods_and_paths() {
        assert_eq!(
            find(ROUTES, &Method::PUT, "/api/v1/products/p1"),
            Err(NoRoute::MethodNotAllowed(vec![
                Method::GET,
                Method::PATCH,
                Method::DELETE
            ]))
        );
        assert_eq!(
            find(ROUTES, &Method::DELETE, "/api/v1/search"),
            Err(NoRoute::MethodNotAllowed(vec![Method::GET]))
        );
        for path in ["/api/v1/products/p1/x", "/api/v1/categories/c1", "/api/v2"] {
            assert_eq!(
                find(ROUTES, &Method::GET, path),
                Err(NoRoute::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn only_writers_see_inactive_products() {
        assert!(sees_inactive(Some(Role::Admin)));
        assert!(sees_inactive(Some(Role::Vendor)));
        assert!(!sees_inactive(Some(Role::Customer)));
        assert!(!sees_inactive(None));
    }

    #[test]
    fn product_list_filters() {
        let cursor = encode_cursor(&Position {
            created_at: "2025-01-01T00:00:00.000000Z".into(),
            id: "p1".into(),
        });
        let (filter, page) = product_list_query(
            &format!("category_id=c%201&active=false&limit=5&cursor={cursor}"),
            true,
        )
        .unwrap();
        assert_eq!(filter.category_id.as_deref(), Some("c 1"));
        assert_eq!(filter.active, Some(false));
        assert_eq!(page.limit, 5);
        assert_eq!(page.after.unwrap().id, "p1");

        let (filter, _) = product_list_query("", true).unwrap();
        assert_eq!(filter, ProductFilter::default());
    }

    #[test]
    fn sku_filters_repeat_and_split_on_commas() {
        let (filter, page) = product_list_query("sku=A&sku=B,C&sku=A&limit=100", false).unwrap();
        assert_eq!(filter.skus, ["A", "B", "C"]);
        assert_eq!(filter.active, Some(true), "visibility rules still apply");
        assert_eq!(page.limit, 100);
        let (filter, _) = product_list_query("sku=M%2CN&category_id=c1", true).unwrap();
        assert_eq!(filter.skus, ["M", "N"]);
        assert_eq!(filter.category_id.as_deref(), Some("c1"));

        let hundred: Vec<String> = (0..100).map(|n| format!("S{n}")).collect();
        let (filter, _) = product_list_query(&format!("sku={}", hundred.join(",")), true).unwrap();
        assert_eq!(filter.skus.len(), 100);
        let problem =
            product_list_query(&format!("sku={}&sku=S100", hundred.join(",")), true).unwrap_err();
        assert_eq!(field_of(&problem), "sku");
        for query in ["sku=", "sku=A,,B", "sku=A,"] {
            let problem = product_list_query(query, true).unwrap_err();
            assert_eq!(field_of(&problem), "sku", "{query}");
        }
    }

    #[test]
    fn public_lists_show_active_products_only() {
        for query in ["", "active=true"] {
            let (filter, _) = product_list_query(query, false).unwrap();
            assert_eq!(filter.active, Some(true), "{query}");
        }
        let problem = product_list_query("active=false", false).unwrap_err();
        assert_eq!(problem.status, 403);
    }

    #[test]
    fn bad_list_parameters_name_the_field() {
        for (query, field) in [
            ("active=yes", "active"),
            ("category_id=", "category_id"),
            ("limit=0", "limit"),
            ("cursor=junk", "cursor"),
        ] {
            let problem = product_list_query(query, true).unwrap_err();
            assert_eq!(field_of(&problem), field, "{query}");
        }
    }

    #[test]
    fn search_needs_q() {
        assert_eq!(
            SearchQuery::from_query("q=red+mug&limit=3").unwrap(),
            SearchQuery {
                q: "red mug".into(),
                limit: 3
            }
        );
        assert_eq!(SearchQuery::from_query("q=mug").unwrap().limit, 20);
        for query in ["", "q=", "q=%20%20", "limit=5"] {
            let problem = SearchQuery::from_query(query).unwrap_err();
            assert_eq!(field_of(&problem), "q", "{query}");
        }
        let cursor = encode_cursor(&Position {
            created_at: "t".into(),
            id: "p".into(),
        });
        let problem = SearchQuery::from_query(&format!("q=mug&cursor={cursor}")).unwrap_err();
        assert_eq!(field_of(&problem), "cursor");
        let problem = SearchQuery::from_query("q=mug&limit=500").unwrap_err();
        assert_eq!(field_of(&problem), "limit");
    }
}
