//! `CATEGORY_ID` / `categoryId` read into a generated pipeline enum.

use std::marker::PhantomData;

use serde::de::Deserializer;
use serde::ser::Serializer;

use super::Filterable;
use super::{Codec, Id};
use crate::pipeline::Category;
use crate::types::CategoryId;

/// `crm_category` fields of an entity whose snapshot records its pipelines: the generated
/// category enum `C` (`DealCategory`).
///
/// Reads what [`Id<CategoryId>`](Id) reads (`"5"`, `5`; `0` is the default pipeline) and
/// maps it through [`Category::from_id`], so a pipeline added on the portal later reads as
/// `C`'s fallback variant with its id kept. Writes the id as a number.
pub struct Pipeline<C>(PhantomData<fn() -> C>);

impl<C: Category> Codec for Pipeline<C> {
    type Value = C;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<C>, D::Error> {
        Ok(Id::<CategoryId>::decode(deserializer, field)?.map(C::from_id))
    }

    fn encode<S: Serializer>(value: &C, serializer: S) -> Result<S::Ok, S::Error> {
        Id::<CategoryId>::encode(&value.id(), serializer)
    }
}

impl<C: Category> Filterable for Pipeline<C> {}
