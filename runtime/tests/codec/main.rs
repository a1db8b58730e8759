//! The wire codecs, in one test binary: table tests of every form (`wire`), random JSON
//! through every codec (`fuzz`), the seed documentation's examples (`seed`), and the value
//! types' text forms (`types`).

mod fuzz;
mod multifield;
mod seed;
mod types;
mod wire;

#[path = "../support/color.rs"]
mod color;

use bitrix_runtime::types::EnumValue;

/// Stands in for a generated enumeration in the codec tests: any item id.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AnyItem(pub(crate) String);

impl EnumValue for AnyItem {
    fn from_id(id: &str) -> Self {
        AnyItem(id.to_owned())
    }
    fn id(&self) -> &str {
        &self.0
    }
}
