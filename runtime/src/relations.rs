//! Relations of records: moving a record to another pipeline, the stage guard of updates,
//! the contacts bound to a deal (lead, quote, company, smart process) and the product rows
//! of deals, leads, quotes, smart invoices and smart processes.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::api::Route;
use crate::batch::{Batch, Handle, decode_updated};
use crate::calls::{expect_true, payload_object};
use crate::client::Client;
use crate::entity::{Api, Entity};
use crate::error::{Error, json_decode_error};
use crate::pipeline::Stage;
use crate::transport::u64_of;
use crate::types::{ContactId, ProductRowId};

mod product_row;
use product_row::legacy_key;
pub use product_row::{Discount, DiscountType, ProductRow, ProductRowFields};

// ---------------------------------------------------------------------------------------------
// Moving between pipelines.

/// `crm.item.update {entityTypeId, id, fields: {categoryId, stageId}}`: the one call that
/// moves a record to another pipeline.
fn move_body<S: Stage>(id: u64, stage: &S) -> (Route, String, Map<String, Value>) {
    let route = Route::of::<S::Entity>(Some(Api::Item));
    let method = route.method("update");
    let mut body = route.id_body(Some(id));
    body.insert(
        "fields".into(),
        json!({"categoryId": stage.category_id().0, "stageId": stage.code()}),
    );
    (route, method, body)
}

impl Batch {
    /// Adds a move of a record to `stage` and its pipeline (`crm.item.update` with
    /// `categoryId` and `stageId`), like [`Client::move_to_stage`].
    pub fn move_to_stage<S: Stage>(
        &mut self,
        id: <S::Entity as Entity>::Id,
        stage: S,
    ) -> Handle<()> {
        let (route, method, body) = move_body(id.into(), &stage);
        self.push(route, method, Ok(Some(body)), false, decode_updated)
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers.

async fn call(
    client: &Client,
    method: &str,
    body: &Map<String, Value>,
    idempotent: bool,
) -> Result<Value, Error> {
    client
        .engine
        .execute_one(method, body, idempotent, false)
        .await
}

fn decode<T: DeserializeOwned>(client: &Client, method: &str, value: Value) -> Result<T, Error> {
    let redact = |t: &str| client.engine.redact(t);
    T::deserialize(value).map_err(|e| json_decode_error(method, e, &redact))
}

fn refuse(method: &str, message: String) -> Error {
    Error::InvalidRequest {
        method: method.to_owned(),
        message,
        source: None,
    }
}

/// The short type code of an entity type id (`ownerType` of product rows): `L`, `D`, `Q`,
/// `SI`, `T{hex}` for smart processes; `None` for types without product rows.
pub(crate) fn owner_type(entity_type_id: u32) -> Option<String> {
    match entity_type_id {
        1 => Some("L".into()),
        2 => Some("D".into()),
        7 => Some("Q".into()),
        31 => Some("SI".into()),
        n if n >= 128 => Some(format!("T{n:x}")),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Contacts.

/// One contact bound to a record (`crm.deal.contact.items.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContactBinding {
    /// The contact.
    pub contact_id: ContactId,
    /// Whether it is the record's primary contact (`IS_PRIMARY`). When no binding is
    /// primary, the portal makes the first one primary.
    pub is_primary: bool,
    /// The sort index (`SORT`); `None` lets the portal number the bindings
    /// (`(i + 1) * 10`). Smart processes keep no sort: it reads as `None` there.
    pub sort: Option<u64>,
}

impl ContactBinding {
    /// A binding of `contact`, not primary, without a sort index.
    pub fn new(contact: ContactId) -> ContactBinding {
        ContactBinding {
            contact_id: contact,
            is_primary: false,
            sort: None,
        }
    }

    /// This binding as the primary one.
    pub fn primary(mut self) -> ContactBinding {
        self.is_primary = true;
        self
    }

    /// This binding with a sort index.
    pub fn sort(mut self, sort: u64) -> ContactBinding {
        self.sort = Some(sort);
        self
    }

    fn legacy_fields(&self) -> Value {
        let mut m = Map::new();
        m.insert("CONTACT_ID".into(), Value::from(self.contact_id.0));
        m.insert(
            "IS_PRIMARY".into(),
            Value::from(if self.is_primary { "Y" } else { "N" }),
        );
        if let Some(sort) = self.sort {
            m.insert("SORT".into(), Value::from(sort));
        }
        Value::Object(m)
    }
}

/// `{"CONTACT_ID": 55, "SORT": 100, "ROLE_ID": 0, "IS_PRIMARY": "Y"}`.
#[derive(Deserialize)]
struct LegacyBinding {
    #[serde(rename = "CONTACT_ID", deserialize_with = "contact_id")]
    contact_id: Option<ContactId>,
    #[serde(rename = "IS_PRIMARY", default, deserialize_with = "flag")]
    is_primary: Option<bool>,
    #[serde(rename = "SORT", default, deserialize_with = "sort")]
    sort: Option<i64>,
}

fn contact_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ContactId>, D::Error> {
    <crate::codec::Id<ContactId> as crate::codec::Codec>::decode(d, "CONTACT_ID")
}

fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    <crate::codec::YesNo as crate::codec::Codec>::decode(d, "IS_PRIMARY")
}

fn sort<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    <crate::codec::Integer as crate::codec::Codec>::decode(d, "SORT")
}

/// `contactId` and `contactIds` of a `crm.item.get` answer.
#[derive(Deserialize)]
struct ItemContacts {
    #[serde(rename = "contactId", default, deserialize_with = "contact_id")]
    primary: Option<ContactId>,
    #[serde(rename = "contactIds", default)]
    ids: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct ItemEnvelope<T> {
    item: T,
}

/// The contacts bound to one record: [`Client::contacts`].
///
/// Deals, leads, quotes and companies use `crm.<entity>.contact.*` (bindings with a primary
/// flag and a sort index, whatever the client's API setting); smart processes and smart
/// invoices read and write `contactIds` through `crm.item.get` / `crm.item.update` (only
/// [`get`](Contacts::get), [`replace_all`](Contacts::replace_all) and
/// [`clear`](Contacts::clear)).
pub struct Contacts<E: Entity> {
    client: Client,
    id: u64,
    _entity: PhantomData<fn() -> E>,
}

impl<E: Entity> fmt::Debug for Contacts<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contacts")
            .field("entity", &E::NAME)
            .field("id", &self.id)
            .finish()
    }
}

/// Whether entity `E` has the legacy `crm.<entity>.contact.*` methods.
fn has_contact_methods<E: Entity>() -> bool {
    E::HAS_LEGACY && matches!(E::ENTITY_TYPE_ID, 1 | 2 | 4 | 7)
}

impl<E: Entity> Contacts<E> {
    fn method(&self, action: &str) -> Result<String, Error> {
        if has_contact_methods::<E>() {
            Ok(format!("{}.contact.{action}", E::METHOD_PREFIX))
        } else if E::ENTITY_TYPE_ID == 31 || E::ENTITY_TYPE_ID >= 128 {
            Ok(format!("crm.item.{action}"))
        } else {
            Err(refuse(
                &format!("{}.contact.{action}", E::METHOD_PREFIX),
                format!(
                    "a {} has no contact bindings (deals, leads, quotes, companies, smart invoices and smart processes have)",
                    E::NAME
                ),
            ))
        }
    }

    /// The bound contacts (`crm.deal.contact.items.get`; `contactIds` of `crm.item.get` for
    /// smart processes, where the item's `contactId` is the primary one).
    pub async fn get(&self) -> Result<Vec<ContactBinding>, Error> {
        if !has_contact_methods::<E>() {
            let method = self.method("get")?;
            let route = Route::of::<E>(Some(Api::Item));
            let result = call(&self.client, &method, &route.id_body(Some(self.id)), true).await?;
            let ItemEnvelope { item } =
                decode::<ItemEnvelope<ItemContacts>>(&self.client, &method, result)?;
            let ids = item.ids.unwrap_or_default();
            return ids
                .iter()
                .map(|v| match u64_of(v) {
                    Some(id) if id > 0 => Ok(ContactBinding {
                        contact_id: ContactId(id),
                        is_primary: item.primary == Some(ContactId(id)),
                        sort: None,
                    }),
                    _ => Err(Error::Decode {
                        method: method.clone(),
                        message: format!("contactIds holds {v}, not a contact id"),
                        source: None,
                    }),
                })
                .collect();
        }
        let method = self.method("items.get")?;
        let result = call(&self.client, &method, &id_body(self.id), true).await?;
        let rows: Vec<LegacyBinding> = match result {
            // An empty PHP array may arrive as `{}`.
            Value::Object(m) if m.is_empty() => Vec::new(),
            other => decode(&self.client, &method, other)?,
        };
        rows.into_iter()
            .filter_map(|r| {
                r.contact_id.map(|contact_id| ContactBinding {
                    contact_id,
                    is_primary: r.is_primary.unwrap_or(false),
                    sort: r.sort.and_then(|s| u64::try_from(s).ok()),
                })
            })
            .map(Ok)
            .collect()
    }

    /// Replaces EVERY binding by `bindings`: a contact not listed is unbound
    /// (`crm.deal.contact.items.set`; `contactIds` through `crm.item.update` for smart
    /// processes, the primary binding first). An empty list unbinds every contact.
    pub async fn replace_all(&self, bindings: &[ContactBinding]) -> Result<(), Error> {
        if !has_contact_methods::<E>() {
            let method = self.method("update")?;
            let route = Route::of::<E>(Some(Api::Item));
            // The primary binding first, each contact once.
            let primary = bindings.iter().find(|b| b.is_primary);
            let mut ids: Vec<u64> = primary.iter().map(|b| b.contact_id.0).collect();
            for b in bindings {
                if !ids.contains(&b.contact_id.0) {
                    ids.push(b.contact_id.0);
                }
            }
            let mut body = route.id_body(Some(self.id));
            body.insert("fields".into(), json!({ "contactIds": ids }));
            let result = call(&self.client, &method, &body, false).await?;
            return route.confirm_update(&method, &result);
        }
        let method = self.method("items.set")?;
        let mut body = id_body(self.id);
        body.insert(
            "items".into(),
            Value::Array(bindings.iter().map(ContactBinding::legacy_fields).collect()),
        );
        let result = call(&self.client, &method, &body, false).await?;
        expect_true(&method, &result)
    }

    /// Binds one more contact (`crm.deal.contact.add`): `true` when it was bound, `false`
    /// when it already was. Without a primary binding on the record, it becomes primary.
    pub async fn add(&self, binding: ContactBinding) -> Result<bool, Error> {
        let method = self.single("add")?;
        let mut body = id_body(self.id);
        body.insert("fields".into(), binding.legacy_fields());
        let result = call(&self.client, &method, &body, false).await?;
        changed(&method, result)
    }

    /// Unbinds one contact (`crm.deal.contact.delete`): `true` when it was unbound, `false`
    /// when it was not bound. When the primary one goes, the next becomes primary.
    pub async fn remove(&self, contact: ContactId) -> Result<bool, Error> {
        let method = self.single("delete")?;
        let mut body = id_body(self.id);
        body.insert("fields".into(), json!({"CONTACT_ID": contact.0}));
        let result = call(&self.client, &method, &body, false).await?;
        changed(&method, result)
    }

    /// Unbinds every contact (`crm.deal.contact.items.delete`; an empty `contactIds` for
    /// smart processes).
    pub async fn clear(&self) -> Result<(), Error> {
        if !has_contact_methods::<E>() {
            return self.replace_all(&[]).await;
        }
        let method = self.method("items.delete")?;
        let result = call(&self.client, &method, &id_body(self.id), false).await?;
        expect_true(&method, &result)
    }

    /// The method of a one-binding change, which only the legacy entities have.
    fn single(&self, action: &str) -> Result<String, Error> {
        let method = self.method(action)?;
        if has_contact_methods::<E>() {
            return Ok(method);
        }
        Err(refuse(
            &method,
            format!(
                "a {} has no method that binds or unbinds one contact; read the bindings with get() and write them all with replace_all()",
                E::NAME
            ),
        ))
    }
}

/// The answer of a one-binding change: `true` (done) or `false` (nothing to do).
fn changed(method: &str, result: Value) -> Result<bool, Error> {
    match result {
        Value::Bool(done) => Ok(done),
        other => expect_true(method, &other).map(|()| true),
    }
}

// ---------------------------------------------------------------------------------------------
// Product rows.

/// The product rows of one record: [`Client::product_rows`].
///
/// [`list`](ProductRows::list) and [`replace_all`](ProductRows::replace_all) follow the
/// client's route: `crm.item.productrow.list/set` on [`Api::Item`], the legacy
/// `crm.deal.productrows.get/set` (lead, quote) on [`Api::Legacy`]; [`add`](ProductRows::add)
/// exists only as `crm.item.productrow.add`. The owner type (`D`, `L`, `Q`, `SI`, `T{hex}`)
/// comes from the entity, so it cannot be wrong.
pub struct ProductRows<E: Entity> {
    client: Client,
    id: u64,
    _entity: PhantomData<fn() -> E>,
}

impl<E: Entity> fmt::Debug for ProductRows<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProductRows")
            .field("entity", &E::NAME)
            .field("id", &self.id)
            .finish()
    }
}

/// `{"productRow": {..}}` / `{"productRows": [..]}` of `crm.item.productrow.*`.
#[derive(Deserialize)]
struct OneRow {
    #[serde(rename = "productRow")]
    row: ProductRow,
}

#[derive(Deserialize)]
struct Rows {
    #[serde(rename = "productRows")]
    rows: Vec<ProductRow>,
}

/// The page size of `crm.item.productrow.list`.
const ROW_PAGE: usize = 50;

impl<E: Entity> ProductRows<E> {
    fn owner(&self, method: &str) -> Result<String, Error> {
        owner_type(E::ENTITY_TYPE_ID).ok_or_else(|| {
            refuse(
                method,
                format!(
                    "a {} has no product rows (deals, leads, quotes, smart invoices and smart processes have)",
                    E::NAME
                ),
            )
        })
    }

    /// Whether the rows go through `crm.<entity>.productrows.*`.
    fn legacy(&self) -> bool {
        Route::of::<E>(self.client.api).api == Api::Legacy && matches!(E::ENTITY_TYPE_ID, 1 | 2 | 7)
    }

    /// Every row of the record, in the portal's order (`crm.item.productrow.list`, page by
    /// page; or `crm.deal.productrows.get`).
    pub async fn list(&self) -> Result<Vec<ProductRow>, Error> {
        if self.legacy() {
            let method = format!("{}.productrows.get", E::METHOD_PREFIX);
            let result = call(&self.client, &method, &id_body(self.id), true).await?;
            return match result {
                Value::Object(m) if m.is_empty() => Ok(Vec::new()),
                other => decode(&self.client, &method, other),
            };
        }
        let method = "crm.item.productrow.list";
        let owner = self.owner(method)?;
        let mut out = Vec::new();
        loop {
            let mut body = Map::new();
            body.insert(
                "filter".into(),
                json!({"=ownerType": owner, "=ownerId": self.id}),
            );
            body.insert("start".into(), Value::from(out.len()));
            let result = call(&self.client, method, &body, true).await?;
            let Rows { rows } = decode(&self.client, method, result)?;
            let n = rows.len();
            out.extend(rows);
            if n < ROW_PAGE {
                return Ok(out);
            }
        }
    }

    /// Adds one row (`crm.item.productrow.add`) and returns it as stored, with its id and
    /// the prices the portal computed.
    pub async fn add(&self, row: &ProductRowFields) -> Result<ProductRow, Error> {
        let method = "crm.item.productrow.add";
        let mut fields = payload_object(method, row)?;
        fields.insert("ownerType".into(), Value::from(self.owner(method)?));
        fields.insert("ownerId".into(), Value::from(self.id));
        let mut body = Map::new();
        body.insert("fields".into(), Value::Object(fields));
        let result = call(&self.client, method, &body, false).await?;
        decode::<OneRow>(&self.client, method, result).map(|r| r.row)
    }

    /// Replaces EVERY row of the record by `rows` (`crm.item.productrow.set`, or
    /// `crm.deal.productrows.set`): rows not listed are deleted, an empty list deletes them
    /// all. Returns the rows as stored; on the legacy route, whose answer is only `true`, they
    /// are read back with `crm.deal.productrows.get` (so when that read fails, the rows WERE
    /// replaced).
    pub async fn replace_all(&self, rows: &[ProductRowFields]) -> Result<Vec<ProductRow>, Error> {
        if self.legacy() {
            let method = format!("{}.productrows.set", E::METHOD_PREFIX);
            let mut legacy_rows = Vec::with_capacity(rows.len());
            for row in rows {
                let fields = payload_object(&method, row)?;
                legacy_rows.push(Value::Object(
                    fields
                        .into_iter()
                        .map(|(k, v)| (legacy_key(&k), v))
                        .collect(),
                ));
            }
            let mut body = id_body(self.id);
            body.insert("rows".into(), Value::Array(legacy_rows));
            let result = call(&self.client, &method, &body, false).await?;
            expect_true(&method, &result)?;
            return self.list().await;
        }
        let method = "crm.item.productrow.set";
        let mut body = Map::new();
        body.insert("ownerType".into(), Value::from(self.owner(method)?));
        body.insert("ownerId".into(), Value::from(self.id));
        let mut list = Vec::with_capacity(rows.len());
        for row in rows {
            list.push(Value::Object(payload_object(method, row)?));
        }
        body.insert("productRows".into(), Value::Array(list));
        let result = call(&self.client, method, &body, false).await?;
        decode::<Rows>(&self.client, method, result).map(|r| r.rows)
    }
}

impl Client {
    /// Moves a record to `stage` and the pipeline it belongs to: `crm.item.update` with
    /// `categoryId` and `stageId`, whatever the client's API setting (`crm.deal.update`
    /// cannot move a deal: `CATEGORY_ID` is immutable there).
    pub async fn move_to_stage<S: Stage>(
        &self,
        id: <S::Entity as Entity>::Id,
        stage: S,
    ) -> Result<(), Error> {
        let (route, method, body) = move_body(id.into(), &stage);
        let result = call(self, &method, &body, false).await?;
        route
            .confirm_update(&method, &result)
            .map_err(|e| e.redacted(&|t| self.engine.redact(t)))
    }

    /// The contacts bound to record `id` of `E` (a deal, lead, quote, company, smart invoice
    /// or smart process); see [`Contacts`].
    pub fn contacts<E: Entity>(&self, id: E::Id) -> Contacts<E> {
        Contacts {
            client: self.clone(),
            id: id.into(),
            _entity: PhantomData,
        }
    }

    /// The product rows of record `id` of `E` (a deal, lead, quote, smart invoice or smart
    /// process); see [`ProductRows`].
    pub fn product_rows<E: Entity>(&self, id: E::Id) -> ProductRows<E> {
        ProductRows {
            client: self.clone(),
            id: id.into(),
            _entity: PhantomData,
        }
    }

    /// One product row by its id (`crm.item.productrow.get`).
    pub async fn product_row(&self, id: ProductRowId) -> Result<ProductRow, Error> {
        let method = "crm.item.productrow.get";
        let result = call(self, method, &id_body(id.0), true).await?;
        decode::<OneRow>(self, method, result).map(|r| r.row)
    }

    /// Changes the fields set in `fields` of one product row (`crm.item.productrow.update`)
    /// and returns the row as stored.
    pub async fn update_product_row(
        &self,
        id: ProductRowId,
        fields: &ProductRowFields,
    ) -> Result<ProductRow, Error> {
        let method = "crm.item.productrow.update";
        let mut body = id_body(id.0);
        body.insert(
            "fields".into(),
            Value::Object(payload_object(method, fields)?),
        );
        let result = call(self, method, &body, false).await?;
        decode::<OneRow>(self, method, result).map(|r| r.row)
    }

    /// Deletes one product row (`crm.item.productrow.delete`).
    pub async fn delete_product_row(&self, id: ProductRowId) -> Result<(), Error> {
        let method = "crm.item.productrow.delete";
        self.engine
            .execute_one::<Value>(method, &id_body(id.0), true, true)
            .await
            .map(drop)
    }

    /// The portal's descriptors of product-row fields (`crm.item.productrow.fields`), keyed
    /// by camelCase name.
    pub async fn product_row_fields(&self) -> Result<Map<String, Value>, Error> {
        let method = "crm.item.productrow.fields";
        let result = call(self, method, &Map::new(), true).await?;
        match result.get("fields") {
            Some(Value::Object(m)) => Ok(m.clone()),
            _ => Err(Error::Decode {
                method: method.to_owned(),
                message: "expected {\"fields\": {..}} of field descriptors".into(),
                source: None,
            }),
        }
    }
}

/// `{"id": id}`: the body of the legacy relation methods and of one product row's calls.
fn id_body(id: u64) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("id".into(), Value::from(id));
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_types_follow_the_docs() {
        assert_eq!(owner_type(2).as_deref(), Some("D"));
        assert_eq!(owner_type(1).as_deref(), Some("L"));
        assert_eq!(owner_type(7).as_deref(), Some("Q"));
        assert_eq!(owner_type(31).as_deref(), Some("SI"));
        assert_eq!(owner_type(128).as_deref(), Some("T80"));
        assert_eq!(owner_type(1058).as_deref(), Some("T422"));
        assert_eq!(owner_type(1100).as_deref(), Some("T44c"));
        assert_eq!(owner_type(3), None);
        assert_eq!(owner_type(4), None);
    }

    #[test]
    fn bindings_write_the_legacy_form() {
        let b = ContactBinding::new(ContactId(55)).primary().sort(100);
        assert_eq!(
            b.legacy_fields(),
            json!({"CONTACT_ID": 55, "IS_PRIMARY": "Y", "SORT": 100})
        );
        assert_eq!(
            ContactBinding::new(ContactId(4)).legacy_fields(),
            json!({"CONTACT_ID": 4, "IS_PRIMARY": "N"})
        );
    }
}
