//! Helpers for generated code. Not a public API: it changes without notice.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::Ordering::Relaxed;

use serde::de::{Deserialize, Deserializer, Visitor};

#[path = "private/emit.rs"]
mod emit;

pub use crate::codec::{Codec, DecodeSeed, Encode, EncodePatch};
pub use crate::entity::{Api, CreatePayload, Entity, EntityField, FieldMeta, UpdatePayload};
pub use crate::patch::Patch;
pub use crate::query::{Field, StandardCompany, StandardContact, StandardDeal, StandardLead};
pub use crate::{codec, types};
pub use emit::*;
pub use serde;
pub use serde::de::MapAccess;
pub use serde_json;
pub use std::sync::OnceLock;
pub use std::sync::atomic::AtomicU32;

/// Builder state of a required field that has been given: holds its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Set<T>(pub T);

/// Implemented by [`Set`] only: `build()` needs every required field to be in this state.
///
/// Defined here and re-exported (hidden) at the crate root, so compile errors name it
/// `Provided<..>` rather than by a long path.
#[diagnostic::on_unimplemented(
    message = "the required field `{Self}` is not set",
    label = "`{Self}` is required on this portal",
    note = "the portal marks `{Self}` as required (isRequired) and refuses to create the record without it; call its setter before `.build()`"
)]
pub trait Provided<T> {
    /// The given value.
    fn into_value(self) -> T;
    /// The given value, borrowed.
    fn value(&self) -> &T;
}
// Not offered as a fix in compile errors: the fix is to call the field's setter.
#[diagnostic::do_not_recommend]
impl<T> Provided<T> for Set<T> {
    fn into_value(self) -> T {
        self.0
    }
    fn value(&self) -> &T {
        &self.0
    }
}

/// A builder with many required fields keeps their states in a balanced binary tree of
/// `Node`s instead of one type parameter each (whose setters would each name every other
/// parameter: code quadratic in the required fields). A leaf is the field's marker while unset
/// and [`Set`] once given; a setter names only its leaf's path ([`Left`]/[`Right`] steps ending
/// in [`Here`]), so the code grows as fields x log2(fields).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Node<A, B>(pub A, pub B);

/// The last step of a path into a [`Node`] tree: this leaf.
#[derive(Debug, Clone, Copy)]
pub enum Here {}

/// A path step into the left subtree of a [`Node`], then `P`.
#[derive(Debug, Clone, Copy)]
pub struct Left<P>(std::marker::PhantomData<P>);

/// A path step into the right subtree of a [`Node`], then `P`.
#[derive(Debug, Clone, Copy)]
pub struct Right<P>(std::marker::PhantomData<P>);

/// Replaces the leaf at path `P` of a [`Node`] tree with `V`.
pub trait Put<P, V> {
    /// The tree with the new leaf.
    type Out;
    /// Puts `value` at the leaf, dropping the old one.
    fn put(self, value: V) -> Self::Out;
}

impl<X, V> Put<Here, V> for X {
    type Out = V;
    fn put(self, value: V) -> V {
        value
    }
}

impl<A: Put<P, V>, B, P, V> Put<Left<P>, V> for Node<A, B> {
    type Out = Node<A::Out, B>;
    fn put(self, value: V) -> Self::Out {
        Node(self.0.put(value), self.1)
    }
}

impl<A, B: Put<P, V>, P, V> Put<Right<P>, V> for Node<A, B> {
    type Out = Node<A, B::Out>;
    fn put(self, value: V) -> Self::Out {
        Node(self.0, self.1.put(value))
    }
}

/// Implemented by the unset state `M` (the field's marker) only: a required field's setter
/// can be called once.
#[diagnostic::on_unimplemented(
    message = "the required field `{M}` is already set",
    label = "`{M}` was set earlier in this chain",
    note = "a required field's setter takes the builder with the field unset; set it once"
)]
pub trait Unset<M> {}
#[diagnostic::do_not_recommend]
impl<M> Unset<M> for M {}

/// The leaf at path `P` of a [`Node`] tree is unset: its field's marker `M`. Checked leaf by
/// leaf (through [`Unset`]), so a compile error names the field.
pub trait UnsetAt<P, M> {}
impl<X: Unset<M>, M> UnsetAt<Here, M> for X {}
impl<A: UnsetAt<P, M>, B, P, M> UnsetAt<Left<P>, M> for Node<A, B> {}
impl<A, B: UnsetAt<P, M>, P, M> UnsetAt<Right<P>, M> for Node<A, B> {}

/// The leaf at path `P` of a [`Node`] tree holds a `T`: `build()` bounds each required field
/// by it separately (checked through [`Provided`]), so a compile error names the missing field.
pub trait ProvidedAt<P, T> {
    /// The leaf's value, borrowed.
    fn value_at(&self) -> &T;
}

impl<X: Provided<T>, T> ProvidedAt<Here, T> for X {
    fn value_at(&self) -> &T {
        self.value()
    }
}

impl<A: ProvidedAt<P, T>, B, P, T> ProvidedAt<Left<P>, T> for Node<A, B> {
    fn value_at(&self) -> &T {
        self.0.value_at()
    }
}

impl<A, B: ProvidedAt<P, T>, P, T> ProvidedAt<Right<P>, T> for Node<A, B> {
    fn value_at(&self) -> &T {
        self.1.value_at()
    }
}

/// Never implemented: a setter bounded by it explains that field `F` is read-only.
#[diagnostic::on_unimplemented(
    message = "`{F}` is read-only: the portal silently drops it on add and update",
    label = "read-only field `{F}` cannot be written",
    note = "`{F}` is marked isReadOnly in the portal snapshot, so the generated payload types have no setter for it"
)]
pub trait ReadOnly<F> {
    /// Uninhabited: no value of a read-only guard exists.
    fn unreachable(self) -> std::convert::Infallible;
}

/// Never implemented: a setter bounded by it explains that field `F` is immutable.
#[diagnostic::on_unimplemented(
    message = "`{F}` is immutable: the portal silently ignores it on update",
    label = "immutable field `{F}` cannot be changed by an update",
    note = "`{F}` is marked isImmutable in the portal snapshot: set it on the create payload instead (for CATEGORY_ID, move deals between pipelines with crm.item.update)"
)]
pub trait Immutable<F> {
    /// Uninhabited: no value of an immutable guard exists.
    fn unreachable(self) -> std::convert::Infallible;
}

/// A map key that borrows from the input when it can (no allocation per key).
#[derive(Debug)]
pub struct Key<'de>(pub Cow<'de, str>);

impl Key<'_> {
    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field code")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Looks up `code` in a table sorted by code (generated code keeps one per entity).
///
/// Every key of every decoded row goes through here (400 fields x 50 rows = 20,000 lookups per
/// page on a wide portal). A portal sends the fields of every row in the same order, so the
/// lookup first tries the entry that followed the previous key last time (one equality check);
/// only a miss pays the binary search, whose probes compare 8 bytes at a time inline instead of
/// calling `memcmp` for the short, common-prefixed codes (`UF_CRM_...`). The prediction is a
/// per-thread cache for the table used last; it is always verified, so it never changes a
/// result.
pub fn find_code<T: Copy>(sorted: &[(&str, T)], code: &str) -> Option<T> {
    let index = ORDER_HINTS.with(|hints| match hints.try_borrow_mut() {
        Ok(mut hints) => hints.find(sorted, code),
        Err(_) => search(sorted, code),
    });
    index.map(|i| sorted[i].1)
}

/// The order in which a portal sends the fields of a row, learned while decoding: slot `i` holds
/// the sorted-table index of the key that followed key `i` last time, and the last slot the
/// index of a row's first key. Generated decoders keep one per entity in a `static`.
///
/// A portal sends every row's fields in the same order, so after the first row nearly every
/// lookup is one verified guess instead of a binary search. The slots are relaxed atomics:
/// threads decoding at once may overwrite each other's hints, which costs a search, never a
/// wrong answer (every guess is checked against the key).
pub struct RowOrder<const SLOTS: usize>([AtomicU32; SLOTS]);

impl<const SLOTS: usize> RowOrder<SLOTS> {
    /// No order learned yet. `SLOTS` is at least the number of entries of the field table plus
    /// one ([`order_slots`] of the number of fields is always enough).
    pub const fn new() -> Self {
        RowOrder([const { AtomicU32::new(u32::MAX) }; SLOTS])
    }
}

impl<const SLOTS: usize> RowOrder<SLOTS> {
    /// The slots, for [`find_code_in_slots`].
    pub fn slots(&self) -> &[AtomicU32] {
        &self.0
    }
}

impl<const SLOTS: usize> Default for RowOrder<SLOTS> {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a row's decoding stands in [`find_code_in_row`]: create one per row.
#[derive(Debug, Default)]
pub struct RowCursor(Option<usize>);

/// Looks up `code` in a table sorted by code, like [`find_code`], guessing from the key order
/// of earlier rows first (see [`RowOrder`]).
#[inline]
pub fn find_code_in_row<T: Copy, const SLOTS: usize>(
    sorted: &[(&str, T)],
    order: &RowOrder<SLOTS>,
    cursor: &mut RowCursor,
    code: &str,
) -> Option<T> {
    find_code_in_slots(sorted, &order.0, cursor, code)
}

/// [`find_code_in_row`] with the order's slots as a slice (`RowOrder::slots`).
#[inline]
pub fn find_code_in_slots<T: Copy>(
    sorted: &[(&str, T)],
    order: &[AtomicU32],
    cursor: &mut RowCursor,
    code: &str,
) -> Option<T> {
    // More slots than entries are fine (the table may hold item names or not); fewer cannot
    // index every entry.
    if order.len() <= sorted.len() {
        return find_code(sorted, code);
    }
    let slot = &order[cursor.0.unwrap_or(sorted.len())];
    let guess = slot.load(Relaxed) as usize;
    if let Some((c, value)) = sorted.get(guess) {
        if *c == code {
            cursor.0 = Some(guess);
            return Some(*value);
        }
    }
    let found = search(sorted, code);
    if let Some(found) = found {
        slot.store(u32::try_from(found).unwrap_or(u32::MAX), Relaxed);
    }
    // An unknown key breaks the chain: the next known key is guessed as a row's first key.
    cursor.0 = found;
    found.map(|i| sorted[i].1)
}

fn search<T>(sorted: &[(&str, T)], code: &str) -> Option<usize> {
    let code = code.as_bytes();
    sorted
        .binary_search_by(|(c, _)| cmp_bytes(c.as_bytes(), code))
        .ok()
}

/// Tables with a key-order hint per thread: an entity's field table and the enumerations
/// looked up while decoding its rows.
const HINTED_TABLES: usize = 4;

thread_local! {
    static ORDER_HINTS: RefCell<OrderHints> = const {
        RefCell::new(OrderHints { tables: Vec::new(), evict: 0 })
    };
}

/// Key-order hints of the tables used last.
struct OrderHints {
    tables: Vec<OrderHint>,
    /// The slot replaced when a new table arrives (round robin).
    evict: usize,
}

/// The order in which one table's keys arrived.
struct OrderHint {
    /// Address of the table.
    table: usize,
    /// Index of the key found last.
    previous: Option<usize>,
    /// For each index, the index of the key that followed it last time (`u32::MAX`: unknown).
    next: Vec<u32>,
}

impl OrderHints {
    fn find<T>(&mut self, sorted: &[(&str, T)], code: &str) -> Option<usize> {
        let table = sorted.as_ptr() as usize;
        let slot = match self
            .tables
            .iter()
            .position(|h| h.table == table && h.next.len() == sorted.len())
        {
            Some(slot) => slot,
            None => {
                let hint = OrderHint {
                    table,
                    previous: None,
                    next: vec![u32::MAX; sorted.len()],
                };
                if self.tables.len() < HINTED_TABLES {
                    self.tables.push(hint);
                    self.tables.len() - 1
                } else {
                    let slot = self.evict;
                    self.evict = (self.evict + 1) % HINTED_TABLES;
                    self.tables[slot] = hint;
                    slot
                }
            }
        };
        self.tables[slot].find(sorted, code)
    }
}

impl OrderHint {
    fn find<T>(&mut self, sorted: &[(&str, T)], code: &str) -> Option<usize> {
        if let Some(previous) = self.previous {
            let guess = self.next[previous] as usize;
            if sorted.get(guess).is_some_and(|(c, _)| *c == code) {
                self.previous = Some(guess);
                return Some(guess);
            }
        }
        let found = search(sorted, code);
        if let (Some(previous), Some(found)) = (self.previous, found) {
            self.next[previous] = u32::try_from(found).unwrap_or(u32::MAX);
        }
        // An unknown key breaks the chain: the next known key starts a new one.
        self.previous = found;
        found
    }
}

/// Lexicographic byte order (the order of `str::cmp`), 8 bytes per step.
#[inline]
fn cmp_bytes(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let (mut a_rest, mut b_rest) = (a, b);
    while let (Some((x, a_next)), Some((y, b_next))) = (
        a_rest.split_first_chunk::<8>(),
        b_rest.split_first_chunk::<8>(),
    ) {
        let (x, y) = (u64::from_be_bytes(*x), u64::from_be_bytes(*y));
        if x != y {
            return x.cmp(&y);
        }
        (a_rest, b_rest) = (a_next, b_next);
    }
    for (x, y) in a_rest.iter().zip(b_rest) {
        if x != y {
            return x.cmp(y);
        }
    }
    a_rest.len().cmp(&b_rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_is_the_order_of_str_cmp() {
        let words = [
            "",
            "A",
            "ID",
            "IDS",
            "UF_CRM_",
            "UF_CRM_1",
            "UF_CRM_17",
            "UF_CRM_1700000031676",
            "UF_CRM_1700000031677",
            "UF_CRM_17000000316760",
            "UF_CRM_69EE4F34001F",
            "UF_CRM_7_1777887301591",
            "UF_CRM_F3",
            "UF_CRM_STAGE_ID",
            "UF_CRM_STAGE_ID\0",
            "Поле",
            "Поле номер 7",
            "\u{7f}\u{80}",
            "ÿÿÿÿÿÿÿÿÿ",
        ];
        for a in words {
            for b in words {
                assert_eq!(
                    cmp_bytes(a.as_bytes(), b.as_bytes()),
                    a.cmp(b),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn find_code_finds_every_code_and_nothing_else() {
        let mut codes: Vec<String> = (0..400)
            .map(|i| match i % 4 {
                0 => format!("UF_CRM_{}", 1_700_000_000_000u64 + i * 7919),
                1 => format!("UF_CRM_{:X}", 0x69EE_4F34_0000u64 + i * 31),
                2 => format!("UF_CRM_7_{}", 1_777_887_301_589u64 + i),
                _ => format!("UF_CRM_F{i}"),
            })
            .collect();
        codes.sort();
        let table: Vec<(&str, usize)> = codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(find_code(&table, code), Some(i));
            assert_eq!(find_code(&table, &format!("{code}0")), None);
            let shorter = &code[..code.len() - 1];
            let expected = codes.iter().position(|c| c == shorter);
            assert_eq!(find_code(&table, shorter), expected);
        }
        assert_eq!(find_code(&table, ""), None);
        assert_eq!(find_code::<usize>(&[], "ID"), None);
    }

    #[test]
    fn row_order_learns_the_order_and_never_changes_a_result() {
        let codes = [
            "ID",
            "OPPORTUNITY",
            "STAGE_ID",
            "TITLE",
            "UF_CRM_1",
            "UF_CRM_2",
        ];
        let table: Vec<(&str, usize)> = codes.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        static ORDER: RowOrder<7> = RowOrder::new();
        let rows: [&[&str]; 4] = [
            &["TITLE", "ID", "UF_CRM_2", "STAGE_ID"],
            &["TITLE", "ID", "UF_CRM_2", "STAGE_ID"],
            &["ID", "NEW_FIELD", "TITLE", "UF_CRM_1", "OPPORTUNITY"],
            &["TITLE", "ID", "UF_CRM_2", "STAGE_ID", "NEW_FIELD"],
        ];
        for row in rows {
            let mut cursor = RowCursor::default();
            for key in row {
                let expected = codes.iter().position(|c| c == key);
                assert_eq!(
                    find_code_in_row(&table, &ORDER, &mut cursor, key),
                    expected,
                    "{key}"
                );
            }
        }
        // The second row's order was learned from the first: every key is the guess.
        let mut cursor = RowCursor::default();
        let mut previous = table.len();
        for key in ["TITLE", "ID", "UF_CRM_2", "STAGE_ID"] {
            let guess = ORDER.0[previous].load(Relaxed) as usize;
            assert_eq!(table[guess].0, key);
            previous = find_code_in_row(&table, &ORDER, &mut cursor, key).unwrap();
        }
        // A table of another size than the order falls back to the plain search.
        let short = &table[..3];
        let mut cursor = RowCursor::default();
        assert_eq!(find_code_in_row(short, &ORDER, &mut cursor, "ID"), Some(0));
        assert_eq!(find_code_in_row(short, &ORDER, &mut cursor, "TITLE"), None);
    }

    #[test]
    fn order_hints_never_change_a_result() {
        // Five tables (one more than the hints keep), looked up in rows whose key order
        // changes, with unknown keys in between: every answer equals the binary search's.
        let tables: Vec<Vec<String>> = (0..5)
            .map(|t| {
                let mut codes: Vec<String> = (0..40 + t).map(|i| format!("F{t}_{i}")).collect();
                codes.sort();
                codes
            })
            .collect();
        let tables: Vec<Vec<(&str, usize)>> = tables
            .iter()
            .map(|codes| {
                codes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), i))
                    .collect()
            })
            .collect();
        for round in 0..6 {
            for (t, table) in tables.iter().enumerate().take(2 + round % 4) {
                let mut keys: Vec<String> = table.iter().map(|(c, _)| c.to_string()).collect();
                let shift = round * 7 % keys.len();
                keys.rotate_left(shift);
                if round % 2 == 1 {
                    keys.reverse();
                }
                keys.insert(round % 5, format!("UNKNOWN_{round}"));
                keys.push(format!("F{}_0", (t + 1) % 5));
                for key in &keys {
                    let expected = search(table, key).map(|i| table[i].1);
                    assert_eq!(
                        find_code(table, key),
                        expected,
                        "table {t}, round {round}, {key}"
                    );
                }
            }
        }
    }
}
