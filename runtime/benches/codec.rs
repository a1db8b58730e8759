//! Decoding speed of the wire codecs: 10,000 `crm.deal.list` rows decoded into typed fields,
//! against `serde_json::from_str::<serde_json::Value>` of the same text.
//!
//! Run: `cargo bench -p bitrix-runtime --bench codec`.

use std::fmt::Write as _;
use std::hint::black_box;

use bitrix_runtime::__private::Key;
use bitrix_runtime::codec::{
    Address, Boolean, Codec, CrmLink, Currency, Date, DateTime, Decimal, DecodeSeed, Enum, File,
    Id, Integer, Location, Money, Multi, Status, Text, YesNo,
};
use bitrix_runtime::types::{
    CategoryId, CompanyId, ContactId, DealId, ItemId, LeadId, QuoteId, UserId,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::de::{Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

const ROWS: usize = 10_000;

#[path = "../tests/support/color.rs"]
mod color;
use color::Color;

/// A read model shaped like generated code: one `Option` per field, decoded by a map visitor
/// that sends each key to its codec.
macro_rules! row {
    ($($code:literal => $name:ident: $codec:ty;)*) => {
        #[derive(Debug, Default)]
        #[allow(dead_code)]
        struct Row {
            $($name: Option<<$codec as Codec>::Value>,)*
        }

        impl<'de> Deserialize<'de> for Row {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct RowVisitor;
                impl<'de> Visitor<'de> for RowVisitor {
                    type Value = Row;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a deal")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
                        let mut row = Row::default();
                        while let Some(key) = map.next_key::<Key<'de>>()? {
                            match key.as_str() {
                                $($code => {
                                    row.$name = map.next_value_seed(DecodeSeed::<$codec>::new($code))?;
                                })*
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(row)
                    }
                }
                deserializer.deserialize_map(RowVisitor)
            }
        }
    };
}

row! {
    "ID" => id: Id<DealId>;
    "TITLE" => title: Text;
    "TYPE_ID" => type_id: Status;
    "STAGE_ID" => stage_id: Status;
    "PROBABILITY" => probability: Integer;
    "CURRENCY_ID" => currency_id: Currency;
    "OPPORTUNITY" => opportunity: Decimal;
    "IS_MANUAL_OPPORTUNITY" => is_manual_opportunity: YesNo;
    "TAX_VALUE" => tax_value: Decimal;
    "LEAD_ID" => lead_id: Id<LeadId>;
    "COMPANY_ID" => company_id: Id<CompanyId>;
    "CONTACT_ID" => contact_id: Id<ContactId>;
    "QUOTE_ID" => quote_id: Id<QuoteId>;
    "BEGINDATE" => begindate: Date;
    "CLOSEDATE" => closedate: Date;
    "ASSIGNED_BY_ID" => assigned_by_id: Id<UserId>;
    "CREATED_BY_ID" => created_by_id: Id<UserId>;
    "MODIFY_BY_ID" => modify_by_id: Id<UserId>;
    "DATE_CREATE" => date_create: DateTime;
    "DATE_MODIFY" => date_modify: DateTime;
    "OPENED" => opened: YesNo;
    "CLOSED" => closed: YesNo;
    "COMMENTS" => comments: Text;
    "ADDITIONAL_INFO" => additional_info: Text;
    "LOCATION_ID" => location_id: Location;
    "CATEGORY_ID" => category_id: Id<CategoryId>;
    "STAGE_SEMANTIC_ID" => stage_semantic_id: Text;
    "IS_NEW" => is_new: YesNo;
    "IS_RECURRING" => is_recurring: YesNo;
    "IS_RETURN_CUSTOMER" => is_return_customer: YesNo;
    "IS_REPEATED_APPROACH" => is_repeated_approach: YesNo;
    "SOURCE_ID" => source_id: Status;
    "SOURCE_DESCRIPTION" => source_description: Text;
    "ORIGINATOR_ID" => originator_id: Text;
    "ORIGIN_ID" => origin_id: Text;
    "MOVED_BY_ID" => moved_by_id: Id<UserId>;
    "MOVED_TIME" => moved_time: DateTime;
    "LAST_ACTIVITY_TIME" => last_activity_time: DateTime;
    "UTM_SOURCE" => utm_source: Text;
    "UTM_MEDIUM" => utm_medium: Text;
    "UTM_CAMPAIGN" => utm_campaign: Text;
    "UTM_CONTENT" => utm_content: Text;
    "UTM_TERM" => utm_term: Text;
    "PARENT_ID_1220" => parent_id_1220: Id<ItemId>;
    "LAST_ACTIVITY_BY" => last_activity_by: Id<UserId>;
    "UF_CRM_1721244482250" => uf_text: Text;
    "UF_CRM_1721244512346" => uf_integers: Multi<Integer>;
    "UF_CRM_1721244534567" => uf_boolean: Boolean;
    "UF_CRM_1721244567890" => uf_money: Money;
    "UF_CRM_1721244589012" => uf_address: Address;
    "UF_CRM_1721244590123" => uf_enum: Enum<Color>;
    "UF_CRM_1721244612345" => uf_file: File;
    "UF_CRM_1721244689012" => uf_crm: CrmLink;
}

/// `ROWS` list rows shaped like the seed's `crm.deal.get` example plus common user fields,
/// with values varying per row.
fn rows_json() -> String {
    let mut out = String::with_capacity(ROWS * 2_200);
    out.push('[');
    for i in 0..ROWS {
        if i > 0 {
            out.push(',');
        }
        let day = i % 28 + 1;
        let (hour, minute) = (i % 24, i % 60);
        let company = if i % 3 == 0 {
            "0".to_owned()
        } else {
            (i % 500).to_string()
        };
        let lead = if i % 2 == 0 {
            "null".to_owned()
        } else {
            format!("\"{}\"", i * 7)
        };
        let _ = write!(
            out,
            r#"{{"ID":"{id}","TITLE":"Сделка #{id}","TYPE_ID":"COMPLEX","STAGE_ID":"C1:PREPARATION","PROBABILITY":"{prob}","CURRENCY_ID":"EUR","OPPORTUNITY":"{amount}.{cents:02}","IS_MANUAL_OPPORTUNITY":"Y","TAX_VALUE":"0.00","LEAD_ID":{lead},"COMPANY_ID":"{company}","CONTACT_ID":"{contact}","QUOTE_ID":null,"BEGINDATE":"2024-08-{day:02}T02:00:00+02:00","CLOSEDATE":"2024-09-{day:02}T02:00:00+02:00","ASSIGNED_BY_ID":"1","CREATED_BY_ID":"1","MODIFY_BY_ID":"3","DATE_CREATE":"2024-08-{day:02}T{hour:02}:{minute:02}:00+02:00","DATE_MODIFY":"2024-08-{day:02}T{hour:02}:{minute:02}:00+02:00","OPENED":"Y","CLOSED":"N","COMMENTS":"[B]Пример комментария[\/B]\n","ADDITIONAL_INFO":"Дополнительная информация","LOCATION_ID":null,"CATEGORY_ID":"0","STAGE_SEMANTIC_ID":"P","IS_NEW":"N","IS_RECURRING":"N","IS_RETURN_CUSTOMER":"N","IS_REPEATED_APPROACH":"N","SOURCE_ID":"CALLBACK","SOURCE_DESCRIPTION":"Дополнительно об источнике","ORIGINATOR_ID":null,"ORIGIN_ID":null,"MOVED_BY_ID":"1","MOVED_TIME":"2024-08-30T14:29:00+02:00","LAST_ACTIVITY_TIME":"2024-08-30T14:29:00+02:00","UTM_SOURCE":"google","UTM_MEDIUM":"CPC","UTM_CAMPAIGN":null,"UTM_CONTENT":null,"UTM_TERM":null,"PARENT_ID_1220":"{item}","LAST_ACTIVITY_BY":"1","UF_CRM_1721244482250":"Привет мир!","UF_CRM_1721244512346":["{id}","{prob}"],"UF_CRM_1721244534567":"{flag}","UF_CRM_1721244567890":"{amount}.50|RUB","UF_CRM_1721244589012":"Москва, Тверская {prob}|55.75;37.61|577","UF_CRM_1721244590123":"{enum_id}","UF_CRM_1721244612345":{{"id":{file},"showUrl":"\/bitrix\/components\/bitrix\/crm.deal.show\/show_file.php?ownerId={id}&fieldName=UF_CRM_1721244612345&fileId={file}","downloadUrl":"\/bitrix\/components\/bitrix\/crm.deal.show\/show_file.php?auth=&ownerId={id}&fieldName=UF_CRM_1721244612345&dynamic=Y&fileId={file}"}},"UF_CRM_1721244689012":"CO_{company_link}"}}"#,
            id = 100_000 + i,
            prob = i % 100,
            amount = i * 1_000,
            cents = i % 100,
            contact = i % 900 + 1,
            item = i % 50 + 1,
            flag = i % 2,
            enum_id = 81 + i % 3,
            file = 37_000 + i,
            company_link = i % 500 + 1,
        );
    }
    out.push(']');
    out
}

/// `ROWS` values of one field, as a JSON array.
fn values_json(value: impl Fn(usize) -> String) -> String {
    let values: Vec<String> = (0..ROWS).map(value).collect();
    format!("[{}]", values.join(","))
}

fn decode_rows(c: &mut Criterion) {
    let text = rows_json();
    // The benchmark is only meaningful if every row decodes.
    let rows: Vec<Row> = serde_json::from_str(&text).expect("rows decode");
    assert_eq!(rows.len(), ROWS);
    assert!(
        rows.iter()
            .all(|r| r.id.is_some() && r.uf_money.is_some() && r.uf_file.is_some())
    );

    let mut group = c.benchmark_group("deal_list_10k_rows");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(20);
    group.bench_function("typed_codecs", |b| {
        b.iter(|| serde_json::from_str::<Vec<Row>>(black_box(&text)).expect("rows decode"))
    });
    group.bench_function("serde_json_value_baseline", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(&text)).expect("JSON"))
    });
    group.finish();
}

fn decode_per_codec(c: &mut Criterion) {
    fn bench<C: Codec>(c: &mut Criterion, name: &str, text: &str) {
        let decoded = DecodeSeed::<Multi<C>>::new("UF_BENCH")
            .deserialize(&mut serde_json::Deserializer::from_str(text))
            .expect("values decode")
            .expect("not null");
        assert_eq!(decoded.len(), ROWS, "{name}: every value decodes");
        let mut group = c.benchmark_group(format!("10k_values/{name}"));
        group.throughput(Throughput::Elements(ROWS as u64));
        group.sample_size(30);
        group.bench_function("codec", |b| {
            b.iter(|| {
                DecodeSeed::<Multi<C>>::new("UF_BENCH")
                    .deserialize(&mut serde_json::Deserializer::from_str(black_box(text)))
                    .expect("values decode")
            })
        });
        group.bench_function("serde_json_value_baseline", |b| {
            b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(text)).expect("JSON"))
        });
        group.finish();
    }
    bench::<Id<DealId>>(c, "id", &values_json(|i| format!("\"{}\"", i + 1)));
    bench::<Decimal>(
        c,
        "decimal",
        &values_json(|i| format!("\"{}.{:02}\"", i * 1000, i % 100)),
    );
    bench::<YesNo>(
        c,
        "yes_no",
        &values_json(|i| {
            if i % 2 == 0 {
                r#""Y""#.into()
            } else {
                r#""N""#.into()
            }
        }),
    );
    bench::<Date>(
        c,
        "date",
        &values_json(|i| format!("\"2024-08-{:02}T02:00:00+02:00\"", i % 28 + 1)),
    );
    bench::<DateTime>(
        c,
        "datetime",
        &values_json(|i| format!("\"2024-08-{:02}T14:{:02}:00+02:00\"", i % 28 + 1, i % 60)),
    );
    bench::<Text>(c, "text", &values_json(|i| format!("\"Сделка #{i}\"")));
    bench::<Money>(
        c,
        "money",
        &values_json(|i| format!("\"{}.50|RUB\"", i * 10)),
    );
    bench::<CrmLink>(c, "crm_link", &values_json(|i| format!("\"CO_{}\"", i + 1)));
}

// `criterion_group!` defines an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, decode_rows, decode_per_codec);
}
use group::benches;
criterion_main!(benches);
