//! Cursor pagination: `?limit=` (default 20, max 100) and an opaque `?cursor=` that is
//! the base64url JSON of the last item's keyset position (e.g. `(created_at, id)`),
//! answered with `{ "items": [...], "next_cursor": ... }`.

use crate::db::SqlValue;
use crate::problem::{FieldError, Problem};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// A list request: how many items, and after which keyset position `K`.
#[derive(Debug, Clone, PartialEq)]
pub struct PageParams<K> {
    pub limit: u32,
    pub after: Option<K>,
}

impl<K: DeserializeOwned> PageParams<K> {
    /// Reads `limit` and `cursor` from a URL query string (other parameters are the
    /// route's business); an invalid value is 422 naming it.
    pub fn from_query(query: &str) -> Result<Self, Problem> {
        let mut params = Self {
            limit: DEFAULT_LIMIT,
            after: None,
        };
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "limit" => params.limit = parse_limit(&value)?,
                "cursor" if !value.is_empty() => params.after = Some(decode_cursor(&value)?),
                _ => {}
            }
        }
        Ok(params)
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

fn parse_limit(value: &str) -> Result<u32, Problem> {
    match value.parse::<u32>() {
        Ok(limit @ 1..=MAX_LIMIT) => Ok(limit),
        _ => Err(Problem::validation(vec![FieldError::new(
            "limit",
            format!("must be an integer from 1 to {MAX_LIMIT}"),
        )])),
    }
}

/// The opaque cursor for keyset position `key`.
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    // A keyset of plain values always serializes.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// The keyset position in `cursor`; anything not made by [`encode_cursor`] is 422.
pub fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, Problem> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| {
            Problem::validation(vec![FieldError::new(
                "cursor",
                "is not a cursor this API returned",
            )])
        })
}

/// Where a row stands in every list of the API: `(created_at, id)`, in creation order
/// (the id breaks ties between rows created in the same microsecond). A page's last
/// item's position is its cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub created_at: String,
    pub id: String,
}

impl Position {
    pub fn of(created_at: &str, id: &str) -> Self {
        Self {
            created_at: created_at.to_owned(),
            id: id.to_owned(),
        }
    }
}

/// Which end of a list comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    OldestFirst,
    NewestFirst,
}

impl PageParams<Position> {
    /// Ends a list query whose `WHERE` clause is open (its conditions bound to `params`
    /// so far): only rows after this page's position, in `order` by `(created_at, id)`
    /// — of `table`'s columns when the query joins others — and one more row than the
    /// page, to learn whether another follows.
    pub fn finish_query(
        &self,
        sql: &mut String,
        params: &mut Vec<SqlValue>,
        order: ListOrder,
        table: Option<&str>,
    ) {
        let column = |name: &str| match table {
            Some(table) => format!("{table}.{name}"),
            None => name.to_owned(),
        };
        let (created_at, id) = (column("created_at"), column("id"));
        let (after, direction) = match order {
            ListOrder::OldestFirst => (">", ""),
            ListOrder::NewestFirst => ("<", " DESC"),
        };
        if let Some(position) = &self.after {
            params.push(position.created_at.as_str().into());
            params.push(position.id.as_str().into());
            let n = params.len();
            sql.push_str(&format!(
                " AND ({created_at}, {id}) {after} (${}, ${n})",
                n - 1
            ));
        }
        params.push(self.fetch_limit().into());
        sql.push_str(&format!(
            " ORDER BY {created_at}{direction}, {id}{direction} LIMIT ${}",
            params.len()
        ));
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from rows fetched with [`PageParams::fetch_limit`]: when there is an extra
    /// row, it is dropped and the cursor points after the page's last item.
    pub fn from_rows<K: Serialize>(mut rows: Vec<T>, limit: u32, key_of: impl Fn(&T) -> K) -> Self {
        let limit = limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| encode_cursor(&key_of(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Key = (String, String);

    #[test]
    fn defaults_and_limits() {
        let params = PageParams::<Key>::from_query("").unwrap();
        assert_eq!(
            params,
            PageParams {
                limit: 20,
                after: None
            }
        );
        assert_eq!(params.fetch_limit(), 21);
        let params = PageParams::<Key>::from_query("q=mug&limit=100").unwrap();
        assert_eq!(params.limit, 100);
        for bad in ["limit=0", "limit=101", "limit=-1", "limit=ten", "limit="] {
            let problem = PageParams::<Key>::from_query(bad).unwrap_err();
            assert_eq!(problem.status, 422, "{bad}");
            assert_eq!(problem.errors[0].field, "limit");
        }
    }

    #[test]
    fn cursor_round_trips_through_the_query() {
        let key: Key = ("2025-01-01T00:00:00.000000Z".into(), "0190-a".into());
        let cursor = encode_cursor(&key);
        assert!(
            cursor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let params = PageParams::<Key>::from_query(&format!("limit=5&cursor={cursor}")).unwrap();
        assert_eq!(params.after, Some(key));
    }

    #[test]
    fn tampered_cursor_is_422() {
        let cursor = encode_cursor(&("t".to_owned(), "id".to_owned()));
        for bad in [
            format!("{cursor}!"),
            "bm90IGpzb24".to_owned(),
            cursor[1..].to_owned(),
        ] {
            let problem = decode_cursor::<Key>(&bad).unwrap_err();
            assert_eq!(problem.status, 422);
            assert_eq!(problem.errors[0].field, "cursor");
        }
        // Valid JSON of another shape is no cursor either.
        let other = encode_cursor(&42);
        assert_eq!(decode_cursor::<Key>(&other).unwrap_err().status, 422);
    }

    #[test]
    fn a_list_query_continues_after_the_position_in_its_order() {
        let tenant = || vec![SqlValue::from("t1")];
        let first = PageParams::<Position> {
            limit: 2,
            after: None,
        };
        let mut sql = "SELECT id FROM orders WHERE tenant = $1".to_owned();
        let mut params = tenant();
        first.finish_query(&mut sql, &mut params, ListOrder::NewestFirst, None);
        assert_eq!(
            sql,
            "SELECT id FROM orders WHERE tenant = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        assert_eq!(params, [SqlValue::from("t1"), SqlValue::from(3)]);

        let next = PageParams {
            limit: 2,
            after: Some(Position::of("2026-01-01T00:00:00Z", "o9")),
        };
        let mut sql = "SELECT p.id FROM products p WHERE p.tenant = $1".to_owned();
        let mut params = tenant();
        next.finish_query(&mut sql, &mut params, ListOrder::OldestFirst, Some("p"));
        assert_eq!(
            sql,
            "SELECT p.id FROM products p WHERE p.tenant = $1 \
             AND (p.created_at, p.id) > ($2, $3) ORDER BY p.created_at, p.id LIMIT $4"
        );
        assert_eq!(
            params,
            [
                SqlValue::from("t1"),
                SqlValue::from("2026-01-01T00:00:00Z"),
                SqlValue::from("o9"),
                SqlValue::from(3)
            ]
        );
    }

    #[test]
    fn page_drops_the_probe_row_and_points_after_the_last_item() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| *n);
        assert_eq!(page.items, [1, 2]);
        assert_eq!(
            decode_cursor::<i32>(page.next_cursor.as_deref().unwrap()).unwrap(),
            2
        );
        let last = Page::from_rows(vec![1, 2], 2, |n| *n);
        assert_eq!(last.next_cursor, None);
        let json = serde_json::to_value(&last).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"items": [1, 2], "next_cursor": null})
        );
    }
}
