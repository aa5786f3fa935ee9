//! A customer's cart in key-value, and its operations.
//!
//! Keys, under `cart:<tenant>:<user>` (both percent-encoded, so neither can forge the
//! other's `:`):
//! - `…:generation` — the current generation's id (absent: `0`). Clearing the cart
//!   writes a fresh id, one atomic step, so every key of the old generation is out of
//!   sight at once; they are then deleted best-effort.
//! - `…:<generation>:item:<sku>` — one key per line, `{"quantity": n}`. Concurrent
//!   updates of different skus never touch the same key.
//! - `…:<generation>:index:<node>:{claim,door,sku}` — the chain of [`Index`] that lists
//!   the skus, so no insert of a line is lost (the argument is there).
//!
//! A line is its item key; the index only says where to look. Adding a line indexes the
//! sku *before* writing the item key, so an item key is always indexed; an indexed sku
//! without an item key (removed, or its add still running) is no line. Hence: once an
//! add returned, every later read shows the line, until it is removed or the cart
//! cleared.
//!
//! Adds to one line are compare-and-swap on its item key, so concurrent adds of the same
//! sku each count; two `PUT`s of a quantity are last-writer-wins, as `PUT` means. An add
//! that races a clear may land in the old generation and vanish with it, as if it ran
//! just before the clear.

use crate::index::{Index, InsertError};
use crate::key_value::{KeyValue, StoreError};
use crate::{CartError, MAX_LINE_QUANTITY, MAX_LINES};
use kit::FieldError;
use serde::{Deserialize, Serialize};

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

#[derive(Serialize, Deserialize)]
struct StoredQuantity {
    quantity: u32,
}

/// The generation a cart starts in, before it was ever cleared.
const FIRST_GENERATION: &str = "0";

/// The keys of one owner's cart.
struct Keys {
    base: String,
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

    fn item(&self, generation: &str, sku: &str) -> String {
        format!("{}:{generation}:item:{sku}", self.base)
    }

    fn index(&self, generation: &str) -> Index {
        Index::new(format!("{}:{generation}:index", self.base))
    }

    async fn current_generation<K: KeyValue>(&self, kv: &K) -> Result<String, StoreError> {
        Ok(kv
            .get(&self.generation())
            .await?
            .map(|id| String::from_utf8_lossy(&id).into_owned())
            .unwrap_or_else(|| FIRST_GENERATION.to_owned()))
    }

    async fn quantity<K: KeyValue>(
        &self,
        kv: &K,
        generation: &str,
        sku: &str,
    ) -> Result<Option<u32>, StoreError> {
        let value = kv.get(&self.item(generation, sku)).await?;
        decode_quantity(sku, value.as_deref())
    }

    async fn set_quantity<K: KeyValue>(
        &self,
        kv: &K,
        generation: &str,
        sku: &str,
        quantity: u32,
    ) -> Result<(), StoreError> {
        kv.set(&self.item(generation, sku), &encode_quantity(quantity)?)
            .await
    }

    async fn lines_in<K: KeyValue>(
        &self,
        kv: &K,
        generation: &str,
    ) -> Result<Vec<Line>, StoreError> {
        let mut lines = Vec::new();
        for sku in self.index(generation).skus(kv).await? {
            if let Some(quantity) = self.quantity(kv, generation, &sku).await? {
                lines.push(Line { sku, quantity });
            }
        }
        Ok(lines)
    }
}

fn decode_quantity(sku: &str, value: Option<&[u8]>) -> Result<Option<u32>, StoreError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let stored: StoredQuantity = serde_json::from_slice(value)
        .map_err(|error| StoreError(format!("the cart line {sku:?} is not a quantity: {error}")))?;
    Ok(Some(stored.quantity))
}

fn encode_quantity(quantity: u32) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&StoredQuantity { quantity }).map_err(|error| StoreError(error.to_string()))
}

/// Compare-and-swap attempts of one add before it gives up as busy (503): each failed
/// attempt means another add of the same line succeeded meanwhile.
const ADD_SWAP_ATTEMPTS: usize = 32;

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
    let claimant = uuid::Uuid::now_v7().to_string();
    keys.index(&generation)
        .insert(kv, sku, &claimant)
        .await
        .map_err(|error| match error {
            InsertError::Full(_) => CartError::TooManyChanges,
            InsertError::Store(error) => CartError::Store(error),
        })?;
    let item = keys.item(&generation, sku);
    for _ in 0..ADD_SWAP_ATTEMPTS {
        let (watched, value) = kv.watch(&item).await?;
        let held = decode_quantity(sku, value.as_deref())?.unwrap_or(0);
        let total = held.saturating_add(quantity);
        if total > MAX_LINE_QUANTITY {
            return Err(CartError::Invalid(vec![FieldError::new(
                "quantity",
                format!(
                    "the cart already holds {held} of {sku}; a line holds at most {MAX_LINE_QUANTITY}"
                ),
            )]));
        }
        if kv.swap(watched, &encode_quantity(total)?).await? {
            return Ok(Line {
                sku: sku.to_owned(),
                quantity: total,
            });
        }
    }
    Err(CartError::Store(StoreError(format!(
        "the cart line {sku:?} kept changing under {ADD_SWAP_ATTEMPTS} concurrent adds"
    ))))
}

/// Sets the quantity of the line of `sku`, removing it at 0; 404 without such a line.
pub async fn set_quantity<K: KeyValue>(
    kv: &K,
    owner: Owner<'_>,
    sku: &str,
    quantity: u32,
) -> Result<(), CartError> {
    if quantity == 0 {
        return remove(kv, owner, sku).await;
    }
    let keys = Keys::of(owner);
    let generation = keys.current_generation(kv).await?;
    // An item key is always indexed (see the module comment), so it may be set anew.
    if keys.quantity(kv, &generation, sku).await?.is_none() {
        return Err(CartError::NoSuchLine);
    }
    keys.set_quantity(kv, &generation, sku, quantity).await?;
    Ok(())
}

/// Removes the line of `sku`; 404 without such a line.
pub async fn remove<K: KeyValue>(kv: &K, owner: Owner<'_>, sku: &str) -> Result<(), CartError> {
    let keys = Keys::of(owner);
    let generation = keys.current_generation(kv).await?;
    if keys.quantity(kv, &generation, sku).await?.is_none() {
        return Err(CartError::NoSuchLine);
    }
    kv.delete(&keys.item(&generation, sku)).await?;
    Ok(())
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
        kv.delete(&keys.item(&old, &sku)).await?;
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
        assert_eq!(
            kv.value("cart:acme:u-ada:0:item:MUG-1").as_deref(),
            Some(r#"{"quantity":5}"#)
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
        kv.put("cart:acme:u-ada:0:item:MUG-1", "three");
        assert!(block_on(lines(&kv, ADA)).is_err());
    }
}
