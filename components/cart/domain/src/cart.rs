//! A customer's cart in key-value, and its operations.
//!
//! Keys, under `cart:<tenant>:<user>` (both percent-encoded, so neither can forge the
//! other's `:`):
//! - `…:generation` — the current generation's id (absent: `0`). Clearing the cart
//!   writes a fresh id, one atomic step, so every key of the old generation is out of
//!   sight at once; they are then deleted best-effort.
//! - `…:<generation>:item:<sku>` — the line's version (absent: `0`), and
//!   `…:<generation>:item:<sku>:<version>` — its quantity, a counter that only the
//!   atomic `increment` changes. Concurrent updates of different skus never touch the
//!   same key, and concurrent adds of one sku each count.
//! - `…:<generation>:index:<node>:{claim,door,sku}` — the chain of [`Index`] that lists
//!   the skus, so no insert of a line is lost (the argument is there).
//!
//! A line is an indexed sku whose current version counts more than 0. Adding a line
//! indexes the sku *before* counting it, so a counted line is always indexed. Setting a
//! quantity or removing the line starts a new version (setting counts it first), so a
//! concurrent add lands either before (and is replaced, as `PUT` means) or after it.
//! Hence: once an add returned, every later read shows the line, until it is set,
//! removed or the cart cleared. An add that races a clear may land in the old
//! generation and vanish with it, as if it ran just before the clear.

use crate::index::{Index, InsertError};
use crate::key_value::{KeyValue, StoreError};
use crate::{CartError, MAX_LINE_QUANTITY, MAX_LINES};
use kit::FieldError;

/// Whose cart: the caller's tenant and user id, from the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    pub tenant: &'a str,
    pub user_id: &'a str,
}

/// One line of a cart as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub sku: String,
    pub quantity: u32,
}

/// The generation a cart starts in, before it was ever cleared, and the version a line
/// starts in, before its quantity was ever set.
const FIRST: &str = "0";

/// The keys of one owner's cart.
struct Keys {
    base: String,
}

/// A line's current version and quantity (0: no line).
struct Held {
    version: String,
    quantity: i64,
}

impl Keys {
    fn of(owner: Owner<'_>) -> Self {
        let encode =
            |part: &str| form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>();
        Self {
            base: format!("cart:{}:{}", encode(owner.tenant), encode(owner.user_id)),
        }
    }

    fn generation(&self) -> String {
        format!("{}:generation", self.base)
    }

    fn version(&self, generation: &str, sku: &str) -> String {
        format!("{}:{generation}:item:{sku}", self.base)
    }

    fn quantity(&self, generation: &str, sku: &str, version: &str) -> String {
        format!("{}:{generation}:item:{sku}:{version}", self.base)
    }

    fn index(&self, generation: &str) -> Index {
        Index::new(format!("{}:{generation}:index", self.base))
    }

    async fn current_generation<K: KeyValue>(&self, kv: &K) -> Result<String, StoreError> {
        Ok(kv
            .get(&self.generation())
            .await?
            .map(|id| String::from_utf8_lossy(&id).into_owned())
            .unwrap_or_else(|| FIRST.to_owned()))
    }

    async fn held<K: KeyValue>(
        &self,
        kv: &K,
        generation: &str,
        sku: &str,
    ) -> Result<Held, StoreError> {
        let version = kv
            .get(&self.version(generation, sku))
            .await?
            .map(|id| String::from_utf8_lossy(&id).into_owned())
            .unwrap_or_else(|| FIRST.to_owned());
        let quantity = kv
            .counter(&self.quantity(generation, sku, &version))
            .await?;
        Ok(Held { version, quantity })
    }

    /// Starts a new version of the line of `sku` holding `quantity` (0: no line), and
    /// deletes the version it replaces.
    async fn replace<K: KeyValue>(
        &self,
        kv: &K,
        generation: &str,
        sku: &str,
        old: &Held,
        quantity: u32,
    ) -> Result<(), StoreError> {
        let version = uuid::Uuid::now_v7().simple().to_string();
        if quantity > 0 {
            kv.increment(
                &self.quantity(generation, sku, &version),
                i64::from(quantity),
            )
            .await?;
        }
        kv.set(&self.version(generation, sku), version.as_bytes())
            .await?;
        kv.delete(&self.quantity(generation, sku, &old.version))
            .await
    }

    async fn lines_in<K: KeyValue>(
        &self,
        kv: &K,
        generation: &str,
    ) -> Result<Vec<Line>, StoreError> {
        let mut lines = Vec::new();
        for sku in self.index(generation).skus(kv).await? {
            let held = self.held(kv, generation, &sku).await?;
            if let Ok(quantity @ 1..) = u32::try_from(held.quantity) {
                lines.push(Line { sku, quantity });
            }
        }
        Ok(lines)
    }
}

/// The cart's lines, in the order their skus were first added.
pub async fn lines<K: KeyValue>(kv: &K, owner: Owner<'_>) -> Result<Vec<Line>, StoreError> {
    let keys = Keys::of(owner);
    let generation = keys.current_generation(kv).await?;
    keys.lines_in(kv, &generation).await
}

/// Adds `quantity` of `sku` (a valid, sold sku) to the cart: the line's new total must
/// stay within [`MAX_LINE_QUANTITY`] (422 at `quantity`), and a new line needs room
/// among [`MAX_LINES`] (409).
pub async fn add<K: KeyValue>(
    kv: &K,
    owner: Owner<'_>,
    sku: &str,
    quantity: u32,
) -> Result<Line, CartError> {
    let keys = Keys::of(owner);
    let generation = keys.current_generation(kv).await?;
    let lines = keys.lines_in(kv, &generation).await?;
    if lines.len() >= MAX_LINES && !lines.iter().any(|line| line.sku == sku) {
        return Err(CartError::TooManyLines);
    }
    keys.index(&generation)
        .insert(kv, sku)
        .await
        .map_err(|error| match error {
            InsertError::Full(_) => CartError::TooManyChanges,
            InsertError::Store(error) => CartError::Store(error),
        })?;
    let version = kv
        .get(&keys.version(&generation, sku))
        .await?
        .map(|id| String::from_utf8_lossy(&id).into_owned())
        .unwrap_or_else(|| FIRST.to_owned());
    let counter = keys.quantity(&generation, sku, &version);
    let total = kv.increment(&counter, i64::from(quantity)).await?;
    if total > i64::from(MAX_LINE_QUANTITY) {
        // Counted, then taken back: no add is lost and none stays over the limit, but
        // a concurrent reader may glimpse the excess (and a concurrent add be refused
        // for it, as if it came just after this one).
        kv.increment(&counter, -i64::from(quantity)).await?;
        let held = total - i64::from(quantity);
        return Err(CartError::Invalid(vec![FieldError::new(
            "quantity",
            format!(
                "the cart already holds {held} of {sku}; a line holds at most {MAX_LINE_QUANTITY}"
            ),
        )]));
    }
    Ok(Line {
        sku: sku.to_owned(),
        quantity: u32::try_from(total).unwrap_or(MAX_LINE_QUANTITY),
    })
}

/// Sets the quantity of the line of `sku`, removing it at 0; 404 without such a line.
pub async fn set_quantity<K: KeyValue>(
    kv: &K,
    owner: Owner<'_>,
    sku: &str,
    quantity: u32,
) -> Result<(), CartError> {
    let keys = Keys::of(owner);
    let generation = keys.current_generation(kv).await?;
    let held = keys.held(kv, &generation, sku).await?;
    // A counted line is always indexed (see the module comment), so it may be set anew.
    if held.quantity <= 0 {
        return Err(CartError::NoSuchLine);
    }
    keys.replace(kv, &generation, sku, &held, quantity).await?;
    Ok(())
}

/// Removes the line of `sku`; 404 without such a line.
pub async fn remove<K: KeyValue>(kv: &K, owner: Owner<'_>, sku: &str) -> Result<(), CartError> {
    set_quantity(kv, owner, sku, 0).await
}

/// Empties the cart: a new generation hides every line at once; the old generation's
/// keys are then deleted (a failure there leaves only unreachable keys behind).
pub async fn clear<K: KeyValue>(kv: &K, owner: Owner<'_>) -> Result<(), StoreError> {
    let keys = Keys::of(owner);
    let old = keys.current_generation(kv).await?;
    let new = uuid::Uuid::now_v7().simple().to_string();
    kv.set(&keys.generation(), new.as_bytes()).await?;
    let index = keys.index(&old);
    for sku in index.skus(kv).await? {
        let held = keys.held(kv, &old, &sku).await?;
        kv.delete(&keys.quantity(&old, &sku, &held.version)).await?;
        kv.delete(&keys.version(&old, &sku)).await?;
    }
    index.erase(kv).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use futures::executor::block_on;
    use futures::future::join_all;

    const ADA: Owner<'static> = Owner {
        tenant: "acme",
        user_id: "u-ada",
    };

    fn summary(kv: &MemoryStore, owner: Owner<'_>) -> Vec<(String, u32)> {
        block_on(lines(kv, owner))
            .unwrap()
            .into_iter()
            .map(|line| (line.sku, line.quantity))
            .collect()
    }

    fn pairs(expected: &[(&str, u32)]) -> Vec<(String, u32)> {
        expected
            .iter()
            .map(|(sku, quantity)| ((*sku).to_owned(), *quantity))
            .collect()
    }

    #[test]
    fn adds_accumulate_per_line_in_first_added_order() {
        let kv = MemoryStore::new();
        assert_eq!(summary(&kv, ADA), pairs(&[]));
        assert_eq!(
            block_on(add(&kv, ADA, "MUG-1", 2)).unwrap(),
            Line {
                sku: "MUG-1".into(),
                quantity: 2
            }
        );
        block_on(add(&kv, ADA, "TEA-1", 1)).unwrap();
        block_on(add(&kv, ADA, "MUG-1", 3)).unwrap();
        assert_eq!(summary(&kv, ADA), pairs(&[("MUG-1", 5), ("TEA-1", 1)]));
        // The first version of a line is 0; its quantity is a counter.
        assert_eq!(kv.value("cart:acme:u-ada:0:item:MUG-1"), None);
        assert_eq!(
            kv.value("cart:acme:u-ada:0:item:MUG-1:0").as_deref(),
            Some("5")
        );
    }

    #[test]
    fn a_line_holds_at_most_1000() {
        let kv = MemoryStore::new();
        block_on(add(&kv, ADA, "MUG-1", 999)).unwrap();
        let Err(CartError::Invalid(errors)) = block_on(add(&kv, ADA, "MUG-1", 2)) else {
            panic!("1001 accepted");
        };
        assert_eq!(errors[0].field, "quantity");
        assert_eq!(summary(&kv, ADA), pairs(&[("MUG-1", 999)]));
        block_on(add(&kv, ADA, "MUG-1", 1)).unwrap();
        assert_eq!(summary(&kv, ADA), pairs(&[("MUG-1", 1000)]));
    }

    #[test]
    fn a_cart_holds_at_most_100_lines() {
        let kv = MemoryStore::new();
        for n in 0..MAX_LINES {
            block_on(add(&kv, ADA, &format!("S{n}"), 1)).unwrap();
        }
        assert!(matches!(
            block_on(add(&kv, ADA, "ONE-MORE", 1)),
            Err(CartError::TooManyLines)
        ));
        // An existing line still grows, and a removed one makes room.
        block_on(add(&kv, ADA, "S0", 1)).unwrap();
        block_on(remove(&kv, ADA, "S1")).unwrap();
        block_on(add(&kv, ADA, "ONE-MORE", 1)).unwrap();
    }

    #[test]
    fn set_and_remove_need_the_line() {
        let kv = MemoryStore::new();
        block_on(add(&kv, ADA, "MUG-1", 2)).unwrap();
        block_on(add(&kv, ADA, "TEA-1", 2)).unwrap();
        block_on(set_quantity(&kv, ADA, "MUG-1", 7)).unwrap();
        assert_eq!(summary(&kv, ADA), pairs(&[("MUG-1", 7), ("TEA-1", 2)]));
        block_on(set_quantity(&kv, ADA, "MUG-1", 0)).unwrap();
        assert_eq!(summary(&kv, ADA), pairs(&[("TEA-1", 2)]));
        for outcome in [
            block_on(set_quantity(&kv, ADA, "MUG-1", 1)),
            block_on(set_quantity(&kv, ADA, "MUG-1", 0)),
            block_on(remove(&kv, ADA, "MUG-1")),
        ] {
            assert!(matches!(outcome, Err(CartError::NoSuchLine)));
        }
        block_on(remove(&kv, ADA, "TEA-1")).unwrap();
        assert_eq!(summary(&kv, ADA), pairs(&[]));
        // A removed line comes back where it was first added.
        block_on(add(&kv, ADA, "TEA-1", 1)).unwrap();
        block_on(add(&kv, ADA, "MUG-1", 1)).unwrap();
        assert_eq!(summary(&kv, ADA), pairs(&[("MUG-1", 1), ("TEA-1", 1)]));
    }

    #[test]
    fn clearing_starts_a_new_generation_and_deletes_the_old() {
        let kv = MemoryStore::new();
        block_on(add(&kv, ADA, "MUG-1", 2)).unwrap();
        block_on(add(&kv, ADA, "TEA-1", 1)).unwrap();
        block_on(clear(&kv, ADA)).unwrap();
        assert_eq!(summary(&kv, ADA), pairs(&[]));
        assert_eq!(kv.keys(), ["cart:acme:u-ada:generation"]);
        block_on(add(&kv, ADA, "TEA-1", 4)).unwrap();
        assert_eq!(summary(&kv, ADA), pairs(&[("TEA-1", 4)]));
        block_on(clear(&kv, ADA)).unwrap();
        assert_eq!(summary(&kv, ADA), pairs(&[]));
    }

    #[test]
    fn carts_are_per_tenant_and_user_and_keys_cannot_be_forged() {
        let kv = MemoryStore::new();
        let others = [
            Owner {
                tenant: "acme",
                user_id: "u-bob",
            },
            Owner {
                tenant: "globex",
                user_id: "u-ada",
            },
            // Would collide with acme / u-ada if `:` were not encoded.
            Owner {
                tenant: "acme:u-ada",
                user_id: "",
            },
        ];
        block_on(add(&kv, ADA, "MUG-1", 1)).unwrap();
        for other in others {
            assert_eq!(summary(&kv, other), pairs(&[]), "{other:?}");
            block_on(add(&kv, other, "TEA-1", 2)).unwrap();
        }
        block_on(clear(&kv, others[0])).unwrap();
        assert_eq!(summary(&kv, ADA), pairs(&[("MUG-1", 1)]));
        assert_eq!(summary(&kv, others[1]), pairs(&[("TEA-1", 2)]));
    }

    #[test]
    fn twenty_concurrent_adds_of_different_skus_lose_no_line() {
        for seed in 1..=100 {
            let kv = MemoryStore::interleaved(seed);
            let skus: Vec<String> = (0..20).map(|n| format!("SKU-{n:02}")).collect();
            let adds = skus.iter().map(|sku| add(&kv, ADA, sku, 1));
            for outcome in block_on(join_all(adds)) {
                outcome.unwrap();
            }
            let mut held = summary(&kv, ADA);
            held.sort();
            let expected: Vec<(String, u32)> = skus.iter().map(|sku| (sku.clone(), 1)).collect();
            assert_eq!(held, expected, "seed {seed}");
        }
    }

    #[test]
    fn concurrent_adds_of_one_sku_each_count() {
        for seed in 1..=100 {
            let kv = MemoryStore::interleaved(seed);
            let adds = (0..10).map(|_| add(&kv, ADA, "TEA-1", 3));
            for outcome in block_on(join_all(adds)) {
                outcome.unwrap();
            }
            assert_eq!(summary(&kv, ADA), pairs(&[("TEA-1", 30)]), "seed {seed}");
        }
    }

    #[test]
    fn an_add_beside_a_set_of_one_line_is_counted_before_or_after_it() {
        for seed in 1..=100 {
            let kv = MemoryStore::interleaved(seed);
            block_on(add(&kv, ADA, "TEA-1", 2)).unwrap();
            let (added, set) = block_on(futures::future::join(
                add(&kv, ADA, "TEA-1", 3),
                set_quantity(&kv, ADA, "TEA-1", 10),
            ));
            added.unwrap();
            set.unwrap();
            let held = summary(&kv, ADA);
            assert!(
                held == pairs(&[("TEA-1", 10)]) || held == pairs(&[("TEA-1", 13)]),
                "seed {seed}: {held:?}"
            );
        }
    }

    #[test]
    fn concurrent_adds_past_the_limit_never_leave_a_line_over_it() {
        for seed in 1..=50 {
            let kv = MemoryStore::interleaved(seed);
            let adds = (0..8).map(|_| add(&kv, ADA, "TEA-1", 300));
            let passed = block_on(join_all(adds))
                .into_iter()
                .filter(Result::is_ok)
                .count();
            assert_eq!(passed, 3, "seed {seed}");
            assert_eq!(summary(&kv, ADA), pairs(&[("TEA-1", 900)]), "seed {seed}");
        }
    }

    #[test]
    fn lines_removed_while_others_are_added_stay_removed_and_the_rest_stay() {
        for seed in 1..=100 {
            let kv = MemoryStore::interleaved(seed);
            for sku in ["OLD-1", "OLD-2"] {
                block_on(add(&kv, ADA, sku, 1)).unwrap();
            }
            let adds = (0..6).map(|n| {
                let kv = &kv;
                async move { add(kv, ADA, &format!("NEW-{n}"), 2).await.map(drop) }
            });
            let removal = remove(&kv, ADA, "OLD-1");
            let (added, removed) = block_on(futures::future::join(join_all(adds), removal));
            removed.unwrap();
            assert!(added.into_iter().all(|outcome| outcome.is_ok()));
            let mut held = summary(&kv, ADA);
            held.sort();
            let mut expected = pairs(&[("OLD-2", 1)]);
            expected.extend((0..6).map(|n| (format!("NEW-{n}"), 2)));
            expected.sort();
            assert_eq!(held, expected, "seed {seed}");
        }
    }

    #[test]
    fn a_broken_store_or_value_is_a_store_error() {
        let kv = MemoryStore::failing();
        assert!(block_on(lines(&kv, ADA)).is_err());
        assert!(matches!(
            block_on(add(&kv, ADA, "MUG-1", 1)),
            Err(CartError::Store(_))
        ));
        let kv = MemoryStore::new();
        block_on(add(&kv, ADA, "MUG-1", 1)).unwrap();
        kv.put("cart:acme:u-ada:0:item:MUG-1:0", "three");
        assert!(block_on(lines(&kv, ADA)).is_err());
    }
}
