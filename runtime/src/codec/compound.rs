//! Values with a text form of their own: money, addresses, CRM links.

use std::fmt;

use serde::de::{self, Deserializer, Expected, Unexpected};
use serde::ser::Serializer;

use super::Codec;
use super::Filterable;
use super::form::{Form, decode_form};
use crate::types::{self, CrmLink as Link};

/// `money` user fields: [`types::Money`].
///
/// Reads `"300|RUB"`, `"300.50|USD"` exactly (no float rounding). Tolerates a bare amount
/// (`"300"`, or a JSON number) as money without a currency: [`Money::currency`](types::Money)
/// is then empty, meaning the portal's base currency. An empty amount (`"|RUB"`) is an empty
/// value (`None`). Writes `"300.50|USD"` (or `"300.50"` when the currency is empty).
#[derive(Debug, Clone, Copy, Default)]
pub struct Money;

impl Form for Money {
    type Out = types::Money;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("money as \"amount|CURRENCY\" (such as \"300.50|USD\")")
    }

    fn from_str<E: de::Error>(v: &str, exp: &dyn Expected) -> Result<Option<types::Money>, E> {
        types::Money::parse_wire(v).map_err(|()| E::invalid_value(Unexpected::Str(v), exp))
    }

    fn from_u64<E: de::Error>(v: u64, _exp: &dyn Expected) -> Result<Option<types::Money>, E> {
        Ok(Some(types::Money::new(v, "")))
    }

    fn from_i64<E: de::Error>(v: i64, _exp: &dyn Expected) -> Result<Option<types::Money>, E> {
        Ok(Some(types::Money::new(v, "")))
    }

    fn from_f64<E: de::Error>(v: f64, exp: &dyn Expected) -> Result<Option<types::Money>, E> {
        let amount = <super::Decimal as Form>::from_f64::<E>(v, exp)?;
        Ok(amount.map(|amount| types::Money::new(amount, "")))
    }
}

impl Codec for Money {
    type Value = types::Money;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<types::Money>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &types::Money, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }
}

impl Filterable for Money {}

/// `address` user fields: [`types::Address`].
///
/// Reads `"text|lat;lng|locationId"` where every part after the text may be empty or missing
/// (`"Москва, Тверская 1|;|577"`, `"text|55.75;37.61"`, plain `"text"`); the form is split
/// from the right, so the text may contain `|`. A value with blank text and no coordinates or
/// location is empty. Writes the same form (see [`types::Address`]'s `Display`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Address;

impl Form for Address {
    type Out = types::Address;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an address (\"text|lat;lng|locationId\")")
    }

    fn from_str<E: de::Error>(v: &str, _exp: &dyn Expected) -> Result<Option<types::Address>, E> {
        let address = types::Address::parse_wire(v);
        Ok((!address.is_empty()).then_some(address))
    }
}

impl Codec for Address {
    type Value = types::Address;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<types::Address>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &types::Address, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }
}

/// `crm` user fields: [`types::CrmLink`].
///
/// Reads `"D_1"`, `"C_2"`, `"CO_3"`, `"L_4"`, `"Q_5"`, `"SI_7"`, `"T80_6"` (hex entity type
/// id), and a bare id `"12"` / `12` when the field allows one entity type. An id of 0 means no
/// link. Writes the same prefixed text, a bare id as a number.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrmLink;

impl Form for CrmLink {
    type Out = Link;

    fn expecting(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CRM link (\"D_1\", \"C_2\", \"CO_3\", \"L_4\", \"Q_5\", \"SI_7\", \"T80_6\" or a bare id)")
    }

    fn from_str<E: de::Error>(v: &str, exp: &dyn Expected) -> Result<Option<Link>, E> {
        if crate::codec::trim(v).is_empty() {
            return Ok(None);
        }
        match Link::parse_wire(v) {
            Some(link) => Ok((link.id() != 0).then_some(link)),
            None => Err(E::invalid_value(Unexpected::Str(v), exp)),
        }
    }

    fn from_u64<E: de::Error>(v: u64, _exp: &dyn Expected) -> Result<Option<Link>, E> {
        Ok((v != 0).then_some(Link::Bare(v)))
    }
}

impl Codec for CrmLink {
    type Value = Link;

    fn decode<'de, D: Deserializer<'de>>(
        deserializer: D,
        field: &'static str,
    ) -> Result<Option<Link>, D::Error> {
        decode_form::<Self, D>(deserializer, field)
    }

    fn encode<S: Serializer>(value: &Link, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Link::Bare(id) => serializer.serialize_u64(*id),
            link => serializer.collect_str(link),
        }
    }
}

impl Filterable for CrmLink {}
