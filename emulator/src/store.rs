//! Compact in-memory storage of deals: one 8-byte cell per single-valued field, a short list
//! for the non-empty multiple fields, strings interned once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One stored value; how to read it depends on the field's [`Kind`](crate::schema::Kind).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Cell(u64);

impl Cell {
    /// No value.
    pub(crate) const NULL: Cell = Cell(i64::MIN as u64);

    /// A whole number (also ids, dates in days, datetimes in seconds, cents, flags).
    pub(crate) fn int(v: i64) -> Cell {
        Cell(if v == i64::MIN { v + 1 } else { v } as u64)
    }

    /// A floating-point number (finite; -0.0 is stored as 0.0 so it never looks like NULL).
    pub(crate) fn float(f: f64) -> Cell {
        Cell(if f == 0.0 { 0.0f64 } else { f }.to_bits())
    }

    /// An interned string.
    pub(crate) fn text(id: u32) -> Cell {
        Cell(u64::from(id))
    }

    /// True for NULL.
    pub(crate) fn is_null(self) -> bool {
        self == Cell::NULL
    }

    /// The whole number.
    pub(crate) fn as_int(self) -> i64 {
        self.0 as i64
    }

    /// The floating-point number.
    pub(crate) fn as_float(self) -> f64 {
        f64::from_bits(self.0)
    }

    /// The interned string id.
    pub(crate) fn as_text(self) -> u32 {
        self.0 as u32
    }
}

/// Interned strings: each distinct string is stored once.
#[derive(Default, Debug)]
pub(crate) struct Strings {
    list: Vec<Arc<str>>,
    map: HashMap<Arc<str>, u32>,
}

impl Strings {
    /// The id of `s`, adding it if new.
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.list.len() as u32;
        let arc: Arc<str> = Arc::from(s);
        self.list.push(arc.clone());
        self.map.insert(arc, id);
        id
    }

    /// The string with this id.
    pub(crate) fn get(&self, id: u32) -> &str {
        self.list.get(id as usize).map(|s| &**s).unwrap_or("")
    }

    /// Number of distinct strings.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }
}

/// One deal: values of single fields by slot, then the non-empty multiple fields packed in one
/// allocation as `[header, values...]*` where a header holds `slot << 32 | count`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Row {
    cells: Box<[Cell]>,
    multi: Box<[Cell]>,
}

impl Row {
    /// A row with room for `singles` single-valued fields, all NULL.
    pub(crate) fn with_singles(singles: u16) -> Row {
        Row {
            cells: vec![Cell::NULL; usize::from(singles)].into_boxed_slice(),
            multi: Box::new([]),
        }
    }

    /// The value in a single slot (NULL for slots added after the row was written).
    pub(crate) fn single(&self, slot: u16) -> Cell {
        self.cells
            .get(usize::from(slot))
            .copied()
            .unwrap_or(Cell::NULL)
    }

    /// Sets a single slot, growing the row if the layout grew.
    pub(crate) fn set_single(&mut self, slot: u16, cell: Cell) {
        let i = usize::from(slot);
        if i >= self.cells.len() {
            if cell.is_null() {
                return;
            }
            let mut v = std::mem::take(&mut self.cells).into_vec();
            v.resize(i + 1, Cell::NULL);
            self.cells = v.into_boxed_slice();
        }
        self.cells[i] = cell;
    }

    /// `(slot, start, count)` of every packed multiple field.
    fn entries(&self) -> impl Iterator<Item = (u16, usize, usize)> + '_ {
        let mut i = 0;
        std::iter::from_fn(move || {
            let header = self.multi.get(i)?.0;
            let (slot, count) = ((header >> 32) as u16, (header & 0xffff_ffff) as usize);
            let start = i + 1;
            i = start + count;
            Some((slot, start, count))
        })
    }

    /// The values of a multiple slot (empty when none).
    pub(crate) fn multi(&self, slot: u16) -> &[Cell] {
        self.entries()
            .find(|(s, _, _)| *s == slot)
            .map(|(_, start, count)| &self.multi[start..start + count])
            .unwrap_or(&[])
    }

    /// Replaces the values of a multiple slot.
    pub(crate) fn set_multi(&mut self, slot: u16, values: Vec<Cell>) {
        let mut packed = Vec::with_capacity(self.multi.len() + values.len() + 1);
        for (s, start, count) in self.entries() {
            if s != slot {
                packed.extend_from_slice(&self.multi[start - 1..start + count]);
            }
        }
        if !values.is_empty() {
            packed.push(Cell((u64::from(slot) << 32) | values.len() as u64));
            packed.extend(values);
        }
        self.multi = packed.into_boxed_slice();
    }

    /// Approximate heap bytes of this row (for the memory figure in the docs).
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.cells.len() + self.multi.len()) * 8
    }
}

/// An uploaded file.
#[derive(Clone, Debug)]
pub(crate) struct FileEntry {
    pub name: Arc<str>,
    pub data: Arc<[u8]>,
}

/// Uploaded files by id.
#[derive(Debug)]
pub(crate) struct Files {
    map: HashMap<u32, FileEntry>,
    next: u32,
}

impl Default for Files {
    fn default() -> Self {
        Files {
            map: HashMap::new(),
            next: 37_301,
        }
    }
}

impl Files {
    /// Stores a file; returns its id.
    pub(crate) fn add(&mut self, name: &str, data: Vec<u8>) -> u32 {
        let id = self.next;
        self.next += 2;
        self.map.insert(
            id,
            FileEntry {
                name: Arc::from(name),
                data: Arc::from(data),
            },
        );
        id
    }

    /// A file by id.
    pub(crate) fn get(&self, id: u32) -> Option<&FileEntry> {
        self.map.get(&id)
    }
}

/// All deals.
#[derive(Debug)]
pub(crate) struct Store {
    pub rows: BTreeMap<u32, Row>,
    pub next_id: u32,
    pub strings: Strings,
    /// The id the next multifield value gets.
    pub next_multifield_id: u32,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            rows: BTreeMap::new(),
            next_id: 1,
            strings: Strings::default(),
            next_multifield_id: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip() {
        assert!(Cell::NULL.is_null());
        assert!(!Cell::int(0).is_null());
        assert!(!Cell::int(i64::MIN).is_null());
        assert_eq!(Cell::int(-5).as_int(), -5);
        assert!(!Cell::float(-0.0).is_null());
        assert_eq!(Cell::float(12.5).as_float(), 12.5);
        assert_eq!(Cell::text(7).as_text(), 7);
    }

    #[test]
    fn rows_grow_and_keep_multi_sorted() {
        let mut r = Row::with_singles(2);
        assert!(r.single(5).is_null());
        r.set_single(5, Cell::int(3));
        assert_eq!(r.single(5).as_int(), 3);
        r.set_multi(2, vec![Cell::int(1), Cell::int(2)]);
        r.set_multi(0, vec![Cell::int(9)]);
        assert_eq!(r.multi(2), &[Cell::int(1), Cell::int(2)]);
        r.set_multi(2, vec![]);
        assert!(r.multi(2).is_empty());
        assert_eq!(r.multi(0), &[Cell::int(9)]);
    }

    #[test]
    fn strings_are_interned_once() {
        let mut s = Strings::default();
        let a = s.intern("Сделка");
        let b = s.intern("Сделка");
        assert_eq!(a, b);
        assert_eq!(s.get(a), "Сделка");
        assert_eq!(s.len(), 1);
    }
}
