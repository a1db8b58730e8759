//! Shared helpers for the client's integration tests: a small hand-written deal entity (the
//! shape `#[bitrix_entity]` generates, for a few fields of the demo portal), emulator start-up
//! and client construction.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use bitrix_emulator::{Config, Emulator};
use bitrix_runtime::__private::{DecodeSeed, Encode, EncodePatch};
use bitrix_runtime::codec::{self, Codec};
use bitrix_runtime::types::{ContactId, CurrencyId, DealId, StatusId};
use bitrix_runtime::{
    Client, CreatePayload, Entity, EntityField, Field, FieldMeta, Patch, Plan, RetryPolicy,
    UpdatePayload,
};
use rust_decimal::Decimal;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The demo portal's required enumeration user field ("Канал"), item "Сайт".
pub const CHANNEL: &str = "UF_CRM_1721244590123";
pub const CHANNEL_SITE: &str = "3476";
pub const CHANNEL_CALL: &str = "3478";

/// A deal with a few typed fields; every other field lands in `extra`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deal {
    pub id: Option<DealId>,
    pub title: Option<String>,
    pub stage_id: Option<StatusId>,
    pub opportunity: Option<Decimal>,
    pub currency_id: Option<CurrencyId>,
    pub comments: Option<String>,
    pub contact_ids: Option<Vec<ContactId>>,
    pub channel: Option<String>,
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DealField {
    Id,
    Title,
    StageId,
    Opportunity,
    CurrencyId,
    Comments,
    ContactIds,
    Channel,
}

const fn meta(
    code: &'static str,
    rust_name: &'static str,
    bitrix_type: &'static str,
    multiple: bool,
    dynamic: bool,
    read_only: bool,
) -> FieldMeta {
    FieldMeta {
        code,
        rust_name,
        title: code,
        label: None,
        bitrix_type,
        status_type: None,
        required: false,
        read_only,
        immutable: false,
        multiple,
        dynamic,
        deprecated: false,
    }
}

static META: [FieldMeta; 8] = [
    meta("ID", "id", "integer", false, false, true),
    meta("TITLE", "title", "string", false, false, false),
    meta("STAGE_ID", "stage_id", "crm_status", false, false, false),
    meta("OPPORTUNITY", "opportunity", "double", false, false, false),
    meta(
        "CURRENCY_ID",
        "currency_id",
        "crm_currency",
        false,
        false,
        false,
    ),
    meta("COMMENTS", "comments", "string", false, false, false),
    meta(
        "CONTACT_IDS",
        "contact_ids",
        "crm_contact",
        true,
        false,
        false,
    ),
    meta(CHANNEL, "channel", "enumeration", false, true, false),
];

impl EntityField for DealField {
    const ALL: &'static [Self] = &[
        DealField::Id,
        DealField::Title,
        DealField::StageId,
        DealField::Opportunity,
        DealField::CurrencyId,
        DealField::Comments,
        DealField::ContactIds,
        DealField::Channel,
    ];

    fn meta(self) -> &'static FieldMeta {
        &META[self as usize]
    }
}

impl<C> From<Field<Deal, C>> for DealField {
    fn from(f: Field<Deal, C>) -> Self {
        f.field()
    }
}

type IdC = codec::Id<DealId>;
type ContactsC = codec::NoFilter<codec::Multi<codec::Id<ContactId>>>;

impl Deal {
    pub const ID: Field<Deal, IdC> = Field::new(DealField::Id);
    pub const TITLE: Field<Deal, codec::Text> = Field::new(DealField::Title);
    pub const STAGE_ID: Field<Deal, codec::Status> = Field::new(DealField::StageId);
    pub const OPPORTUNITY: Field<Deal, codec::Decimal> = Field::new(DealField::Opportunity);
    pub const CURRENCY_ID: Field<Deal, codec::Currency> = Field::new(DealField::CurrencyId);
    pub const COMMENTS: Field<Deal, codec::Text> = Field::new(DealField::Comments);
    pub const CONTACT_IDS: Field<Deal, ContactsC> = Field::new(DealField::ContactIds);
    pub const CHANNEL: Field<Deal, codec::Text> = Field::new(DealField::Channel);
}

impl<'de> Deserialize<'de> for Deal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Deal;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a deal object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Deal, A::Error> {
                let mut deal = Deal::default();
                while let Some(key) = m.next_key::<String>()? {
                    match key.as_str() {
                        "ID" => deal.id = m.next_value_seed(DecodeSeed::<IdC>::new("ID"))?,
                        "TITLE" => {
                            deal.title =
                                m.next_value_seed(DecodeSeed::<codec::Text>::new("TITLE"))?
                        }
                        "STAGE_ID" => {
                            deal.stage_id =
                                m.next_value_seed(DecodeSeed::<codec::Status>::new("STAGE_ID"))?
                        }
                        "OPPORTUNITY" => {
                            deal.opportunity =
                                m.next_value_seed(DecodeSeed::<codec::Decimal>::new("OPPORTUNITY"))?
                        }
                        "CURRENCY_ID" => {
                            deal.currency_id = m.next_value_seed(
                                DecodeSeed::<codec::Currency>::new("CURRENCY_ID"),
                            )?
                        }
                        "COMMENTS" => {
                            deal.comments =
                                m.next_value_seed(DecodeSeed::<codec::Text>::new("COMMENTS"))?
                        }
                        "CONTACT_IDS" => {
                            deal.contact_ids =
                                m.next_value_seed(DecodeSeed::<ContactsC>::new("CONTACT_IDS"))?
                        }
                        CHANNEL => {
                            deal.channel =
                                m.next_value_seed(DecodeSeed::<codec::Text>::new(CHANNEL))?
                        }
                        _ => {
                            let v: Value = m.next_value()?;
                            deal.extra.insert(key, v);
                        }
                    }
                }
                Ok(deal)
            }
        }
        d.deserialize_map(V)
    }
}

fn put<M: SerializeMap, C: Codec>(
    m: &mut M,
    code: &str,
    v: &Option<C::Value>,
) -> Result<(), M::Error> {
    if let Some(v) = v {
        m.serialize_entry(code, &Encode::<C>::new(v))?;
    }
    Ok(())
}

impl Serialize for Deal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        put::<_, IdC>(&mut m, "ID", &self.id)?;
        put::<_, codec::Text>(&mut m, "TITLE", &self.title)?;
        put::<_, codec::Status>(&mut m, "STAGE_ID", &self.stage_id)?;
        put::<_, codec::Decimal>(&mut m, "OPPORTUNITY", &self.opportunity)?;
        put::<_, codec::Currency>(&mut m, "CURRENCY_ID", &self.currency_id)?;
        put::<_, codec::Text>(&mut m, "COMMENTS", &self.comments)?;
        put::<_, ContactsC>(&mut m, "CONTACT_IDS", &self.contact_ids)?;
        put::<_, codec::Text>(&mut m, CHANNEL, &self.channel)?;
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Entity for Deal {
    const NAME: &'static str = "deal";
    const METHOD_PREFIX: &'static str = "crm.deal";
    const ENTITY_TYPE_ID: u32 = 2;
    type Id = DealId;
    type New = NewDeal;
    type Patch = DealPatch;
    type Field = DealField;

    fn id(&self) -> Option<DealId> {
        self.id
    }
}

/// Create payload: only set fields are sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewDeal {
    pub title: Option<String>,
    pub stage_id: Option<StatusId>,
    pub opportunity: Option<Decimal>,
    pub currency_id: Option<CurrencyId>,
    pub comments: Option<String>,
    pub contact_ids: Option<Vec<ContactId>>,
    pub channel: Option<String>,
}

impl NewDeal {
    /// A deal with a title and the required channel.
    pub fn titled(title: &str) -> Self {
        NewDeal {
            title: Some(title.to_owned()),
            channel: Some(CHANNEL_SITE.to_owned()),
            ..NewDeal::default()
        }
    }
}

impl Serialize for NewDeal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        put::<_, codec::Text>(&mut m, "TITLE", &self.title)?;
        put::<_, codec::Status>(&mut m, "STAGE_ID", &self.stage_id)?;
        put::<_, codec::Decimal>(&mut m, "OPPORTUNITY", &self.opportunity)?;
        put::<_, codec::Currency>(&mut m, "CURRENCY_ID", &self.currency_id)?;
        put::<_, codec::Text>(&mut m, "COMMENTS", &self.comments)?;
        put::<_, ContactsC>(&mut m, "CONTACT_IDS", &self.contact_ids)?;
        put::<_, codec::Text>(&mut m, CHANNEL, &self.channel)?;
        m.end()
    }
}

impl CreatePayload for NewDeal {
    type Entity = Deal;
}

/// Update payload: only touched fields are sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DealPatch {
    pub title: Patch<String>,
    pub opportunity: Patch<Decimal>,
    pub comments: Patch<String>,
    pub contact_ids: Patch<Vec<ContactId>>,
}

fn put_patch<M: SerializeMap, C: Codec>(
    m: &mut M,
    code: &str,
    p: &Patch<C::Value>,
) -> Result<(), M::Error> {
    if p.is_touched() {
        m.serialize_entry(code, &EncodePatch::<C>::new(p))?;
    }
    Ok(())
}

impl Serialize for DealPatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        put_patch::<_, codec::Text>(&mut m, "TITLE", &self.title)?;
        put_patch::<_, codec::Decimal>(&mut m, "OPPORTUNITY", &self.opportunity)?;
        put_patch::<_, codec::Text>(&mut m, "COMMENTS", &self.comments)?;
        put_patch::<_, ContactsC>(&mut m, "CONTACT_IDS", &self.contact_ids)?;
        m.end()
    }
}

impl UpdatePayload for DealPatch {
    type Entity = Deal;

    fn is_empty(&self) -> bool {
        !(self.title.is_touched()
            || self.opportunity.is_touched()
            || self.comments.is_touched()
            || self.contact_ids.is_touched())
    }

    fn cleared_fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (p, code) in [
            (matches!(self.title, Patch::Clear), "TITLE"),
            (matches!(self.opportunity, Patch::Clear), "OPPORTUNITY"),
            (matches!(self.comments, Patch::Clear), "COMMENTS"),
            (matches!(self.contact_ids, Patch::Clear), "CONTACT_IDS"),
        ] {
            if p {
                out.push(code);
            }
        }
        out
    }
}

/// A retry policy with short delays, so tests do not sleep long.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default().with_base_delay(Duration::from_millis(5))
}

/// A webhook client for an emulator, without client-side pacing.
pub fn client(emu: &Emulator) -> Client {
    Client::builder()
        .webhook(emu.webhook_url())
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .build()
        .expect("the emulator's webhook URL is valid")
}

/// Starts an emulator with `deals` seeded deals and no limits.
pub async fn emulator(deals: usize) -> Emulator {
    Emulator::start(Config {
        deals,
        ..Config::default()
    })
    .await
    .expect("the emulator starts")
}
