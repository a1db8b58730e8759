//! What the portal keeps beside its records: contact bindings and product rows. The data
//! only: the methods that read and write them are in [`crate::contacts`] and
//! [`crate::product_rows`].

use std::collections::BTreeMap;

/// One contact binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Binding {
    pub contact_id: i64,
    pub sort: i64,
    pub primary: bool,
}

/// Sort indexes and primary flags of the bindings, by `(entityTypeId, record id)`.
pub(crate) type Bindings = BTreeMap<(u32, u32), Vec<Binding>>;

/// One stored product row (what was written; the derived prices are computed on output).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ProductRow {
    pub(crate) id: u32,
    pub(crate) owner_type: u32,
    pub(crate) owner_id: u32,
    pub(crate) product_id: i64,
    pub(crate) product_name: String,
    pub(crate) price: f64,
    pub(crate) quantity: f64,
    pub(crate) discount_type_id: i64,
    pub(crate) discount_rate: f64,
    pub(crate) discount_sum: f64,
    pub(crate) tax_rate: Option<f64>,
    pub(crate) tax_included: bool,
    pub(crate) measure_code: i64,
    pub(crate) measure_name: String,
    pub(crate) sort: i64,
    pub(crate) xml_id: String,
}

/// Every product row of the portal.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProductRows {
    pub(crate) rows: BTreeMap<u32, ProductRow>,
    pub(crate) next_id: u32,
}

impl ProductRows {
    pub(crate) fn take_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    /// Removes every row of one owner (the owner was deleted).
    pub(crate) fn remove_owner(&mut self, owner_type: u32, owner_id: u32) {
        self.rows
            .retain(|_, r| r.owner_type != owner_type || r.owner_id != owner_id);
    }

    /// The rows of one owner in id order.
    pub(crate) fn of(&self, owner_type: u32, owner_id: u32) -> impl Iterator<Item = &ProductRow> {
        self.rows
            .values()
            .filter(move |r| r.owner_type == owner_type && r.owner_id == owner_id)
    }
}
