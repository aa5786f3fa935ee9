//! [`Db`] over rusqlite, for native unit tests of domain crates' real SQL.

use super::{Db, DbError, Dialect, Row, SqlValue, to_sqlite_placeholders};
use rusqlite::types::{Value, ValueRef};

/// An SQLite database in this process.
pub struct NativeSqlite {
    connection: rusqlite::Connection,
}

impl NativeSqlite {
    /// A fresh, private in-memory database.
    pub fn open_in_memory() -> Result<Self, DbError> {
        let connection = rusqlite::Connection::open_in_memory().map_err(db_error)?;
        Ok(Self { connection })
    }

    fn prepare(&self, sql: &str) -> Result<rusqlite::Statement<'_>, DbError> {
        self.connection
            .prepare(&to_sqlite_placeholders(sql))
            .map_err(db_error)
    }
}

fn bind(params: &[SqlValue]) -> impl Iterator<Item = Value> + '_ {
    params.iter().map(|value| match value {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(n) => Value::Integer(*n),
        SqlValue::Bool(b) => Value::Integer(i64::from(*b)),
        SqlValue::Real(x) => Value::Real(*x),
        SqlValue::Text(s) => Value::Text(s.clone()),
        SqlValue::Blob(b) => Value::Blob(b.clone()),
    })
}

fn read(value: ValueRef<'_>) -> SqlValue {
    match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(n) => SqlValue::Integer(n),
        ValueRef::Real(x) => SqlValue::Real(x),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
    }
}

fn db_error(error: rusqlite::Error) -> DbError {
    super::sqlite_error_from_message(error.to_string())
}

impl Db for NativeSqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, DbError> {
        let changed = self
            .prepare(sql)?
            .execute(rusqlite::params_from_iter(bind(params)))
            .map_err(db_error)?;
        Ok(changed as u64)
    }

    async fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, DbError> {
        let mut statement = self.prepare(sql)?;
        let columns = statement.column_count();
        let mut rows = statement
            .query(rusqlite::params_from_iter(bind(params)))
            .map_err(db_error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db_error)? {
            let values = (0..columns)
                .map(|i| row.get_ref(i).map(read))
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_error)?;
            out.push(Row::new(values));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Migration, migrate, transaction};
    use futures::executor::block_on;

    const ITEMS: Migration = Migration {
        name: "0001_items",
        sqlite: "CREATE TABLE items (id TEXT PRIMARY KEY, qty BIGINT NOT NULL, active BOOLEAN NOT NULL);\n\
                 CREATE INDEX items_qty ON items (qty);",
        postgres: "unused here",
    };

    async fn count(db: &NativeSqlite, sql: &str) -> i64 {
        db.query(sql, &[]).await.unwrap()[0].get_i64(0).unwrap()
    }

    #[test]
    fn placeholders_bind_by_number() {
        block_on(async {
            let db = NativeSqlite::open_in_memory().unwrap();
            let rows = db
                .query(
                    "SELECT $2, $1, $2 || 'x', $3",
                    &["a".into(), "b".into(), SqlValue::Null],
                )
                .await
                .unwrap();
            assert_eq!(rows[0].get_str(0).unwrap(), "b");
            assert_eq!(rows[0].get_str(1).unwrap(), "a");
            assert_eq!(rows[0].get_str(2).unwrap(), "bx");
            assert_eq!(rows[0].get_opt_str(3).unwrap(), None);
        });
    }

    #[test]
    fn migrations_apply_once_and_in_order() {
        block_on(async {
            let db = NativeSqlite::open_in_memory().unwrap();
            let add_column = Migration {
                name: "0002_items_note",
                sqlite: "ALTER TABLE items ADD COLUMN note TEXT",
                postgres: "unused here",
            };
            migrate(&db, "shop", &[ITEMS]).await.unwrap();
            migrate(&db, "shop", &[ITEMS, add_column]).await.unwrap();
            // A second run would fail on `ALTER TABLE … ADD COLUMN` if it re-applied.
            migrate(&db, "shop", &[ITEMS, add_column]).await.unwrap();
            let names = db
                .query(
                    "SELECT name FROM schema_migrations WHERE context = $1 ORDER BY name",
                    &["shop".into()],
                )
                .await
                .unwrap();
            let names: Vec<&str> = names.iter().map(|r| r.get_str(0).unwrap()).collect();
            assert_eq!(names, ["0001_items", "0002_items_note"]);
            db.execute(
                "INSERT INTO items (id, qty, active, note) VALUES ($1, $2, $3, NULL)",
                &["a".into(), 1.into(), true.into()],
            )
            .await
            .unwrap();
            let row = &db.query("SELECT active FROM items", &[]).await.unwrap()[0];
            assert!(row.get_bool(0).unwrap());
        });
    }

    #[test]
    fn a_failing_migration_leaves_nothing_behind() {
        block_on(async {
            let db = NativeSqlite::open_in_memory().unwrap();
            let broken = Migration {
                name: "0002_broken",
                sqlite: "CREATE TABLE half (x TEXT); SELEC nonsense;",
                postgres: "unused here",
            };
            let error = migrate(&db, "shop", &[ITEMS, broken]).await.unwrap_err();
            assert!(error.to_string().contains("0002_broken"), "{error}");
            assert_eq!(
                count(
                    &db,
                    "SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'"
                )
                .await,
                0
            );
            assert_eq!(
                count(&db, "SELECT COUNT(*) FROM schema_migrations").await,
                1
            );
        });
    }

    #[test]
    fn migrations_are_recorded_per_context() {
        block_on(async {
            let db = NativeSqlite::open_in_memory().unwrap();
            migrate(&db, "one", &[ITEMS]).await.unwrap();
            let error = migrate(&db, "two", &[ITEMS]).await.unwrap_err();
            assert!(error.to_string().contains("already exists"), "{error}");
        });
    }

    #[test]
    fn unique_violations_are_recognised() {
        block_on(async {
            let db = NativeSqlite::open_in_memory().unwrap();
            migrate(&db, "shop", &[ITEMS]).await.unwrap();
            let insert = "INSERT INTO items (id, qty, active) VALUES ($1, 1, 1)";
            db.execute(insert, &["a".into()]).await.unwrap();
            let error = db.execute(insert, &["a".into()]).await.unwrap_err();
            assert!(matches!(error, DbError::UniqueViolation(_)), "{error}");
        });
    }

    #[test]
    fn transactions_commit_or_roll_back() {
        block_on(async {
            let db = NativeSqlite::open_in_memory().unwrap();
            migrate(&db, "shop", &[ITEMS]).await.unwrap();
            let insert = "INSERT INTO items (id, qty, active) VALUES ($1, 1, 1)";
            transaction(&db, async |db| db.execute(insert, &["kept".into()]).await)
                .await
                .unwrap();
            let failed: Result<(), DbError> = transaction(&db, async |db| {
                db.execute(insert, &["dropped".into()]).await?;
                db.execute(insert, &["kept".into()]).await?;
                Ok(())
            })
            .await;
            assert!(matches!(failed, Err(DbError::UniqueViolation(_))));
            assert_eq!(count(&db, "SELECT COUNT(*) FROM items").await, 1);
        });
    }
}
