//! Categories: a name and a slug, unique per tenant.

use crate::slug::{MAX_SLUG_CHARS, check_slug, slugify};
use crate::{CatalogError, Position};
use kit::FieldError;
use kit::db::{Db, DbError, Row};
use kit::json::{FieldErrors, Validate};
use kit::pagination::{ListOrder, Page, PageParams};
use serde::{Deserialize, Serialize};

pub const MAX_CATEGORY_NAME_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub slug: String,
    /// The list's keyset, not part of the API's category shape.
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub created_at: String,
}

/// `POST /api/v1/categories`; the slug is derived from the name when absent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewCategory {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    pub slug: Option<String>,
}

impl Validate for NewCategory {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim();
        errors
            .check(!name.is_empty(), "name", "must not be empty")
            .check(
                name.chars().count() <= MAX_CATEGORY_NAME_CHARS,
                "name",
                "must be at most 200 characters",
            );
        match &self.slug {
            Some(slug) => {
                if let Err(message) = check_slug(slug) {
                    errors.push("slug", message);
                }
            }
            None => {
                errors.check(
                    name.is_empty() || !slugify(name, MAX_SLUG_CHARS).is_empty(),
                    "name",
                    "has no ASCII letter or digit to derive a slug from; give a slug",
                );
            }
        }
        errors.into_result()
    }
}

const CATEGORY_COLUMNS: &str = "c.id, c.name, c.slug, c.created_at";

fn category_from_row(row: &Row) -> Result<Category, DbError> {
    Ok(Category {
        id: row.get_str(0)?.to_owned(),
        name: row.get_str(1)?.to_owned(),
        slug: row.get_str(2)?.to_owned(),
        created_at: row.get_str(3)?.to_owned(),
    })
}

/// Creates a category; a slug already used in the tenant is a conflict on `slug`.
pub async fn create_category<D: Db>(
    db: &D,
    tenant: &str,
    new: &NewCategory,
) -> Result<Category, CatalogError> {
    new.validate().map_err(CatalogError::Invalid)?;
    let name = new.name.trim();
    let category = Category {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.to_owned(),
        slug: new
            .slug
            .clone()
            .unwrap_or_else(|| slugify(name, MAX_SLUG_CHARS)),
        created_at: contracts::now_rfc3339(),
    };
    let inserted = db
        .execute(
            "INSERT INTO categories (id, tenant, name, slug, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                category.id.as_str().into(),
                tenant.into(),
                category.name.as_str().into(),
                category.slug.as_str().into(),
                category.created_at.as_str().into(),
            ],
        )
        .await;
    match inserted {
        Ok(_) => Ok(category),
        Err(DbError::UniqueViolation(_)) => Err(CatalogError::Conflict(FieldError::new(
            "slug",
            format!("{:?} is taken by another category", category.slug),
        ))),
        Err(error) => Err(error.into()),
    }
}

/// One page of the tenant's categories, oldest first.
pub async fn list_categories<D: Db>(
    db: &D,
    tenant: &str,
    page: &PageParams<Position>,
) -> Result<Page<Category>, CatalogError> {
    let mut sql = format!("SELECT {CATEGORY_COLUMNS} FROM categories c WHERE c.tenant = $1");
    let mut params = vec![tenant.into()];
    page.finish_query(&mut sql, &mut params, ListOrder::OldestFirst, Some("c"));
    let rows = db.query(&sql, &params).await?;
    let categories = rows
        .iter()
        .map(category_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(categories, page.limit, |category| {
        Position::of(&category.created_at, &category.id)
    }))
}

/// Whether `id` names a category of `tenant`.
pub(crate) async fn category_exists<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<bool, DbError> {
    let rows = db
        .query(
            "SELECT 1 FROM categories WHERE tenant = $1 AND id = $2",
            &[tenant.into(), id.into()],
        )
        .await?;
    Ok(!rows.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{TENANT, database};
    use futures::executor::block_on;

    fn new_category(name: &str, slug: Option<&str>) -> NewCategory {
        NewCategory {
            name: name.into(),
            slug: slug.map(str::to_owned),
        }
    }

    fn invalid_fields(error: CatalogError) -> Vec<String> {
        match error {
            CatalogError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn create_derives_the_slug_and_lists_in_order() {
        let db = database();
        let kitchen = block_on(create_category(
            &db,
            TENANT,
            &new_category(" Kitchen & Dining ", None),
        ))
        .unwrap();
        assert_eq!(
            (kitchen.name.as_str(), kitchen.slug.as_str()),
            ("Kitchen & Dining", "kitchen-dining")
        );
        let tea = block_on(create_category(
            &db,
            TENANT,
            &new_category("Tea", Some("tea-time")),
        ))
        .unwrap();
        block_on(create_category(
            &db,
            "other",
            &new_category("Elsewhere", None),
        ))
        .unwrap();

        let all = PageParams {
            limit: 20,
            after: None,
        };
        let page = block_on(list_categories(&db, TENANT, &all)).unwrap();
        assert_eq!(page.items, [kitchen.clone(), tea.clone()]);
        assert_eq!(page.next_cursor, None);

        let first = block_on(list_categories(
            &db,
            TENANT,
            &PageParams {
                limit: 1,
                after: None,
            },
        ))
        .unwrap();
        assert_eq!(first.items, [kitchen]);
        let after: Position =
            kit::pagination::decode_cursor(first.next_cursor.as_deref().unwrap()).unwrap();
        let second = block_on(list_categories(
            &db,
            TENANT,
            &PageParams {
                limit: 1,
                after: Some(after),
            },
        ))
        .unwrap();
        assert_eq!((second.items, second.next_cursor), (vec![tea], None));

        let json = serde_json::to_value(&page.items[0]).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 3, "{json}");
    }

    #[test]
    fn slug_is_unique_per_tenant() {
        let db = database();
        block_on(create_category(&db, TENANT, &new_category("Tea", None))).unwrap();
        let error =
            block_on(create_category(&db, TENANT, &new_category("TEA!", None))).unwrap_err();
        assert!(
            matches!(&error, CatalogError::Conflict(e) if e.field == "slug"),
            "{error:?}"
        );
        block_on(create_category(&db, "other", &new_category("Tea", None))).unwrap();
    }

    #[test]
    fn invalid_categories_name_the_field() {
        let db = database();
        let cases = [
            (new_category("", None), vec!["name"]),
            (new_category(&"n".repeat(201), None), vec!["name"]),
            (new_category("日本茶", None), vec!["name"]),
            (new_category("Tea", Some("Not A Slug")), vec!["slug"]),
        ];
        for (input, fields) in cases {
            let error = block_on(create_category(&db, TENANT, &input)).unwrap_err();
            assert_eq!(invalid_fields(error), fields, "{input:?}");
        }
        // A non-ASCII name is fine with an explicit slug.
        block_on(create_category(
            &db,
            TENANT,
            &new_category("日本茶", Some("japanese-tea")),
        ))
        .unwrap();
    }
}
