//! Product rows of deals, leads, quotes, smart invoices and smart processes
//! (`crm.item.productrow.*` and the legacy `crm.<entity>.productrows.*`).

use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::codec::{self, Codec};
use crate::types::{Decimal, ProductId, ProductRowId};

/// How a row's discount is given (`discountTypeId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscountType {
    /// `1`: an absolute amount per unit (`discountSum`).
    Monetary,
    /// `2`: a percentage of the price (`discountRate`); the portal's default.
    Percentage,
    /// A type id the documentation does not list.
    Other(u64),
}

impl DiscountType {
    /// The wire id (`1`, `2`).
    pub fn id(self) -> u64 {
        match self {
            DiscountType::Monetary => 1,
            DiscountType::Percentage => 2,
            DiscountType::Other(id) => id,
        }
    }

    /// The type of a wire id.
    pub fn from_id(id: u64) -> DiscountType {
        match id {
            1 => DiscountType::Monetary,
            2 => DiscountType::Percentage,
            other => DiscountType::Other(other),
        }
    }
}

/// The discount of a row being written: the type and its value in one, so the two cannot
/// disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Discount {
    /// An absolute amount per unit (`discountTypeId` 1, `discountSum`).
    Monetary(Decimal),
    /// A percentage of the price (`discountTypeId` 2, `discountRate`).
    Percentage(Decimal),
}

/// A product row as the portal returns it.
///
/// Reads both forms: `crm.item.productrow.*` (camelCase keys, amounts as JSON numbers, read
/// from the number's shortest round-trip text as the [`Decimal`](crate::codec::Decimal) codec
/// does: exact up to 15 significant digits, scale not kept) and the legacy
/// `crm.<entity>.productrows.get` (UPPER keys, ids and some amounts as strings, which keep
/// every digit). A field the answer lacks is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ProductRow {
    /// `id` / `ID`.
    #[serde(default, alias = "ID", deserialize_with = "row_id")]
    pub id: Option<ProductRowId>,
    /// `ownerId` / `OWNER_ID`: the id of the deal, lead, quote or item.
    #[serde(
        default,
        rename = "ownerId",
        alias = "OWNER_ID",
        deserialize_with = "uint"
    )]
    pub owner_id: Option<u64>,
    /// `ownerType` / `OWNER_TYPE`: `D`, `L`, `Q`, `SI`, `T{hex}`.
    #[serde(
        default,
        rename = "ownerType",
        alias = "OWNER_TYPE",
        deserialize_with = "text"
    )]
    pub owner_type: Option<String>,
    /// `productId` / `PRODUCT_ID`: the catalog product (`None` for 0, not from the catalog).
    #[serde(
        default,
        rename = "productId",
        alias = "PRODUCT_ID",
        deserialize_with = "product_id"
    )]
    pub product_id: Option<ProductId>,
    /// `productName` / `PRODUCT_NAME`.
    #[serde(
        default,
        rename = "productName",
        alias = "PRODUCT_NAME",
        deserialize_with = "text"
    )]
    pub product_name: Option<String>,
    /// `price` / `PRICE`: the price per unit, discount and tax applied.
    #[serde(default, alias = "PRICE", deserialize_with = "dec")]
    pub price: Option<Decimal>,
    /// `priceAccount` / `PRICE_ACCOUNT`: [`price`](ProductRow::price) in the report currency.
    #[serde(
        default,
        rename = "priceAccount",
        alias = "PRICE_ACCOUNT",
        deserialize_with = "dec"
    )]
    pub price_account: Option<Decimal>,
    /// `priceExclusive` / `PRICE_EXCLUSIVE`: per unit, discount applied, tax excluded.
    #[serde(
        default,
        rename = "priceExclusive",
        alias = "PRICE_EXCLUSIVE",
        deserialize_with = "dec"
    )]
    pub price_exclusive: Option<Decimal>,
    /// `priceNetto` / `PRICE_NETTO`: per unit, without discount and tax.
    #[serde(
        default,
        rename = "priceNetto",
        alias = "PRICE_NETTO",
        deserialize_with = "dec"
    )]
    pub price_netto: Option<Decimal>,
    /// `priceBrutto` / `PRICE_BRUTTO`: per unit, tax included, without discount.
    #[serde(
        default,
        rename = "priceBrutto",
        alias = "PRICE_BRUTTO",
        deserialize_with = "dec"
    )]
    pub price_brutto: Option<Decimal>,
    /// `quantity` / `QUANTITY`.
    #[serde(default, alias = "QUANTITY", deserialize_with = "dec")]
    pub quantity: Option<Decimal>,
    /// `discountTypeId` / `DISCOUNT_TYPE_ID`.
    #[serde(
        default,
        rename = "discountTypeId",
        alias = "DISCOUNT_TYPE_ID",
        deserialize_with = "discount_type"
    )]
    pub discount_type: Option<DiscountType>,
    /// `discountRate` / `DISCOUNT_RATE`: the discount in percent.
    #[serde(
        default,
        rename = "discountRate",
        alias = "DISCOUNT_RATE",
        deserialize_with = "dec"
    )]
    pub discount_rate: Option<Decimal>,
    /// `discountSum` / `DISCOUNT_SUM`: the discount per unit as an amount.
    #[serde(
        default,
        rename = "discountSum",
        alias = "DISCOUNT_SUM",
        deserialize_with = "dec"
    )]
    pub discount_sum: Option<Decimal>,
    /// `taxRate` / `TAX_RATE`: the tax in percent (`None`: no tax).
    #[serde(
        default,
        rename = "taxRate",
        alias = "TAX_RATE",
        deserialize_with = "dec"
    )]
    pub tax_rate: Option<Decimal>,
    /// `taxIncluded` / `TAX_INCLUDED`: whether the price includes the tax.
    #[serde(
        default,
        rename = "taxIncluded",
        alias = "TAX_INCLUDED",
        deserialize_with = "flag"
    )]
    pub tax_included: Option<bool>,
    /// `measureCode` / `MEASURE_CODE`: the unit of measure's code (796: pieces).
    #[serde(
        default,
        rename = "measureCode",
        alias = "MEASURE_CODE",
        deserialize_with = "uint"
    )]
    pub measure_code: Option<u64>,
    /// `measureName` / `MEASURE_NAME`: the unit's name (`pcs`).
    #[serde(
        default,
        rename = "measureName",
        alias = "MEASURE_NAME",
        deserialize_with = "text"
    )]
    pub measure_name: Option<String>,
    /// `sort` / `SORT`.
    #[serde(default, alias = "SORT", deserialize_with = "uint")]
    pub sort: Option<u64>,
    /// `type` / `TYPE`: 1 a simple product, 4 an offer (variation), 7 a service.
    #[serde(default, rename = "type", alias = "TYPE", deserialize_with = "uint")]
    pub product_type: Option<u64>,
    /// `xmlId` / `XML_ID`: the product's external code.
    #[serde(default, rename = "xmlId", alias = "XML_ID", deserialize_with = "text")]
    pub xml_id: Option<String>,
    /// `storeId` / `STORE_ID`: the warehouse.
    #[serde(
        default,
        rename = "storeId",
        alias = "STORE_ID",
        deserialize_with = "uint"
    )]
    pub store_id: Option<u64>,
}

fn dec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    codec::Decimal::decode(d, "product row amount")
}

fn uint<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    codec::Integer::decode(d, "product row number")
        .map(|v| v.and_then(|n: i64| u64::try_from(n).ok()))
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    codec::Text::decode(d, "product row text")
}

fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    codec::YesNo::decode(d, "taxIncluded")
}

fn row_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ProductRowId>, D::Error> {
    codec::Id::<ProductRowId>::decode(d, "id")
}

fn product_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ProductId>, D::Error> {
    codec::Id::<ProductId>::decode(d, "productId")
}

fn discount_type<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DiscountType>, D::Error> {
    uint(d).map(|v| v.map(DiscountType::from_id))
}

/// The fields of a product row being written: the rows of
/// [`ProductRows::replace_all`](crate::ProductRows::replace_all) and
/// [`ProductRows::add`](crate::ProductRows::add), or the changes of
/// [`Client::update_product_row`](crate::Client::update_product_row) (only the fields set
/// here are sent; the portal keeps the others).
///
/// ```
/// use bitrix_runtime::types::{Decimal, ProductId};
/// use bitrix_runtime::{Discount, ProductRowFields};
///
/// let row = ProductRowFields::new()
///     .product(ProductId(9621))
///     .name("iPhone 14")
///     .price(Decimal::new(8000000, 2))
///     .quantity(Decimal::from(2))
///     .discount(Discount::Percentage(Decimal::from(20)))
///     .tax(Decimal::from(20), true);
/// assert_eq!(
///     serde_json::to_value(&row).unwrap(),
///     serde_json::json!({"productId": 9621, "productName": "iPhone 14", "price": "80000.00",
///                        "quantity": "2", "discountTypeId": 2, "discountRate": "20",
///                        "taxRate": "20", "taxIncluded": "Y"})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductRowFields {
    product_id: Option<ProductId>,
    product_name: Option<String>,
    price: Option<Decimal>,
    quantity: Option<Decimal>,
    discount: Option<Discount>,
    tax_rate: Option<Decimal>,
    tax_included: Option<bool>,
    measure_code: Option<u64>,
    measure_name: Option<String>,
    sort: Option<u64>,
}

impl ProductRowFields {
    /// No field set.
    pub fn new() -> Self {
        Self::default()
    }

    /// `productId`: the catalog product (its name and unit are the defaults of the row).
    pub fn product(mut self, id: ProductId) -> Self {
        self.product_id = Some(id);
        self
    }

    /// `productName`: the row's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.product_name = Some(name.into());
        self
    }

    /// `price`: the price per unit, discount and tax applied.
    pub fn price(mut self, price: Decimal) -> Self {
        self.price = Some(price);
        self
    }

    /// `quantity` (1 by default).
    pub fn quantity(mut self, quantity: Decimal) -> Self {
        self.quantity = Some(quantity);
        self
    }

    /// The discount: `discountTypeId` with `discountSum` or `discountRate`.
    pub fn discount(mut self, discount: Discount) -> Self {
        self.discount = Some(discount);
        self
    }

    /// `taxRate` (percent) and `taxIncluded` (whether the price includes it).
    pub fn tax(mut self, rate: Decimal, included: bool) -> Self {
        self.tax_rate = Some(rate);
        self.tax_included = Some(included);
        self
    }

    /// `measureCode`: the unit of measure's code (796: pieces).
    pub fn measure_code(mut self, code: u64) -> Self {
        self.measure_code = Some(code);
        self
    }

    /// `measureName`: the unit's name (`pcs`).
    pub fn measure_name(mut self, name: impl Into<String>) -> Self {
        self.measure_name = Some(name.into());
        self
    }

    /// `sort`.
    pub fn sort(mut self, sort: u64) -> Self {
        self.sort = Some(sort);
        self
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Writes the `crm.item.productrow.*` form: camelCase keys, decimals as exact strings, the
/// tax flag as `Y`/`N`.
impl Serialize for ProductRowFields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(v) = self.product_id {
            m.serialize_entry("productId", &v.0)?;
        }
        if let Some(v) = &self.product_name {
            m.serialize_entry("productName", v)?;
        }
        if let Some(v) = &self.price {
            m.serialize_entry("price", &v.to_string())?;
        }
        if let Some(v) = &self.quantity {
            m.serialize_entry("quantity", &v.to_string())?;
        }
        match &self.discount {
            Some(Discount::Monetary(sum)) => {
                m.serialize_entry("discountTypeId", &DiscountType::Monetary.id())?;
                m.serialize_entry("discountSum", &sum.to_string())?;
            }
            Some(Discount::Percentage(rate)) => {
                m.serialize_entry("discountTypeId", &DiscountType::Percentage.id())?;
                m.serialize_entry("discountRate", &rate.to_string())?;
            }
            None => {}
        }
        if let Some(v) = &self.tax_rate {
            m.serialize_entry("taxRate", &v.to_string())?;
        }
        if let Some(v) = self.tax_included {
            m.serialize_entry("taxIncluded", if v { "Y" } else { "N" })?;
        }
        if let Some(v) = self.measure_code {
            m.serialize_entry("measureCode", &v)?;
        }
        if let Some(v) = &self.measure_name {
            m.serialize_entry("measureName", v)?;
        }
        if let Some(v) = self.sort {
            m.serialize_entry("sort", &v)?;
        }
        m.end()
    }
}

/// The legacy key of a `crm.item.productrow.*` key: `productId` -> `PRODUCT_ID`.
pub(crate) fn legacy_key(item: &str) -> String {
    let mut out = String::with_capacity(item.len() + 4);
    for c in item.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::str::FromStr;

    #[test]
    fn rows_read_in_both_forms() {
        // crm.item.productrow.get (docs' example): numbers.
        let item: ProductRow = serde_json::from_value(json!({
            "id": 17622, "ownerId": 13141, "ownerType": "D", "productId": 9621,
            "productName": "iphone 14", "price": 79999.1, "priceAccount": 79999.1,
            "quantity": 11, "discountTypeId": 2, "discountRate": 0, "discountSum": 0,
            "taxRate": null, "taxIncluded": "Y", "measureCode": 796, "measureName": "pcs",
            "sort": 10, "type": 4, "storeId": 19, "customized": "Y"
        }))
        .unwrap();
        assert_eq!(item.id, Some(ProductRowId(17622)));
        assert_eq!(item.owner_type.as_deref(), Some("D"));
        assert_eq!(item.product_id, Some(ProductId(9621)));
        assert_eq!(item.price, Some(Decimal::from_str("79999.1").unwrap()));
        assert_eq!(item.quantity, Some(Decimal::from(11)));
        assert_eq!(item.discount_type, Some(DiscountType::Percentage));
        assert_eq!(item.tax_rate, None);
        assert_eq!(item.tax_included, Some(true));
        assert_eq!(item.measure_code, Some(796));
        assert_eq!(item.store_id, Some(19));
        // crm.deal.productrows.get (docs' example): UPPER keys, strings keep the scale.
        let legacy: ProductRow = serde_json::from_value(json!({
            "ID": "5", "OWNER_ID": "5", "OWNER_TYPE": "D", "PRODUCT_ID": 0,
            "PRODUCT_NAME": "Product #2", "PRICE": 899.1, "PRICE_ACCOUNT": "899.10",
            "QUANTITY": 1, "DISCOUNT_TYPE_ID": 1, "DISCOUNT_SUM": 99.9, "TAX_INCLUDED": "N",
            "MEASURE_CODE": 796, "SORT": 10, "TYPE": 1
        }))
        .unwrap();
        assert_eq!(legacy.id, Some(ProductRowId(5)));
        assert_eq!(legacy.owner_id, Some(5));
        assert_eq!(legacy.product_id, None, "0 is not from the catalog");
        assert_eq!(
            legacy.price_account.map(|d| d.to_string()).as_deref(),
            Some("899.10")
        );
        assert_eq!(legacy.discount_type, Some(DiscountType::Monetary));
        assert_eq!(
            legacy.discount_sum,
            Some(Decimal::from_str("99.9").unwrap())
        );
        assert_eq!(legacy.tax_included, Some(false));
        let bad = serde_json::from_value::<ProductRow>(json!({"price": "abc"})).unwrap_err();
        assert!(bad.to_string().contains("abc"), "{bad}");
    }

    #[test]
    fn fields_write_exactly_and_name_their_legacy_keys() {
        let row = ProductRowFields::new()
            .discount(Discount::Monetary(Decimal::from_str("0.10").unwrap()))
            .measure_code(796)
            .measure_name("pcs")
            .sort(20);
        assert_eq!(
            serde_json::to_value(&row).unwrap(),
            json!({"discountTypeId": 1, "discountSum": "0.10", "measureCode": 796,
                   "measureName": "pcs", "sort": 20})
        );
        assert!(ProductRowFields::new().is_empty());
        assert!(!row.is_empty());
        assert_eq!(legacy_key("productId"), "PRODUCT_ID");
        assert_eq!(legacy_key("taxIncluded"), "TAX_INCLUDED");
        assert_eq!(legacy_key("discountTypeId"), "DISCOUNT_TYPE_ID");
        assert_eq!(legacy_key("price"), "PRICE");
        assert_eq!(DiscountType::from_id(7), DiscountType::Other(7));
        assert_eq!(DiscountType::Other(7).id(), 7);
    }
}
