//! Decodes every value of the documentation's `crm.deal.get` example response with the codec
//! the generator picks for the field's type in the demo snapshot (`schemas/demo/deal.json`).

use std::str::FromStr;

use bitrix_runtime::codec::{
    Address, Boolean, Codec, CrmLink, Currency, Date, DateTime, Decimal, DecodeSeed, Enum, File,
    Id, Integer, Location, Money, Multi, Status, Text, YesNo,
};
use bitrix_runtime::types::{
    CategoryId, CompanyId, ContactId, CurrencyId, DealId, IblockElementId, IblockSectionId, ItemId,
    LeadId, QuoteId, StatusId, UserId,
};
use chrono::NaiveDate;
use serde::de::DeserializeSeed;
use serde_json::Value;

use crate::AnyItem;

/// The example response of `crm.deal.get` from the seed documentation (page "crm.deal.get",
/// request `{"ID":410}`), verbatim.
const GET_RESPONSE: &str = r#"{
    "result": {
        "ID": "410",
        "TITLE": "Новая сделка #1",
        "TYPE_ID": "COMPLEX",
        "STAGE_ID": "PREPARATION",
        "PROBABILITY": "99",
        "CURRENCY_ID": "EUR",
        "OPPORTUNITY": "1000000.00",
        "IS_MANUAL_OPPORTUNITY": "Y",
        "TAX_VALUE": "0.00",
        "LEAD_ID": null,
        "COMPANY_ID": "9",
        "CONTACT_ID": "84",
        "QUOTE_ID": null,
        "BEGINDATE": "2024-08-30T02:00:00+02:00",
        "CLOSEDATE": "2024-09-09T02:00:00+02:00",
        "ASSIGNED_BY_ID": "1",
        "CREATED_BY_ID": "1",
        "MODIFY_BY_ID": "1",
        "DATE_CREATE": "2024-08-30T14:29:00+02:00",
        "DATE_MODIFY": "2024-08-30T14:29:00+02:00",
        "OPENED": "Y",
        "CLOSED": "N",
        "COMMENTS": "[B]Пример комментария[\/B]",
        "ADDITIONAL_INFO": "Дополнительная информация",
        "LOCATION_ID": null,
        "CATEGORY_ID": "0",
        "STAGE_SEMANTIC_ID": "P",
        "IS_NEW": "N",
        "IS_RECURRING": "N",
        "IS_RETURN_CUSTOMER": "N",
        "IS_REPEATED_APPROACH": "N",
        "SOURCE_ID": "CALLBACK",
        "SOURCE_DESCRIPTION": "Дополнительно об источнике",
        "ORIGINATOR_ID": null,
        "ORIGIN_ID": null,
        "MOVED_BY_ID": "1",
        "MOVED_TIME": "2024-08-30T14:29:00+02:00",
        "LAST_ACTIVITY_TIME": "2024-08-30T14:29:00+02:00",
        "UTM_SOURCE": "google",
        "UTM_MEDIUM": "CPC",
        "UTM_CAMPAIGN": null,
        "UTM_CONTENT": null,
        "UTM_TERM": null,
        "PARENT_ID_1220": "22",
        "LAST_ACTIVITY_BY": "1",
        "UF_CRM_1721244482250": "Привет мир!"
    },
    "time": {
        "start": 1725020945.541275,
        "finish": 1725020946.179076,
        "duration": 0.637800931930542,
        "processing": 0.21427488327026367,
        "date_start": "2024-08-30T14:29:05+02:00",
        "date_finish": "2024-08-30T14:29:06+02:00",
        "operating": 0
    }
}"#;

/// Decodes the JSON text of one value with `C`, from text and from a `Value`; both must agree.
fn decode_text<C: Codec>(field: &'static str, json: &str) -> Result<Option<C::Value>, String> {
    let mut de = serde_json::Deserializer::from_str(json);
    let from_text = DecodeSeed::<C>::new(field)
        .deserialize(&mut de)
        .map_err(|e| e.to_string());
    let value: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let from_value = DecodeSeed::<C>::new(field)
        .deserialize(&value)
        .map_err(|e| e.to_string());
    assert_eq!(
        from_text.is_ok(),
        from_value.is_ok(),
        "{field}: {from_text:?} / {from_value:?}"
    );
    if let (Ok(a), Ok(b)) = (&from_text, &from_value) {
        assert_eq!(a, b, "{field}");
    }
    from_text
}

fn debug<C: Codec>(multiple: bool, field: &'static str, json: &str) -> Result<String, String> {
    if multiple {
        decode_text::<Multi<C>>(field, json).map(|v| format!("{v:?}"))
    } else {
        decode_text::<C>(field, json).map(|v| format!("{v:?}"))
    }
}

/// The codec the generator picks for a deal field of this Bitrix type.
fn decode_as(code: &'static str, ty: &str, multiple: bool, json: &str) -> Result<String, String> {
    match ty {
        "integer" if code == "ID" => debug::<Id<DealId>>(multiple, code, json),
        "integer" => debug::<Integer>(multiple, code, json),
        "string" | "url" => debug::<Text>(multiple, code, json),
        "char" => debug::<YesNo>(multiple, code, json),
        "double" => debug::<Decimal>(multiple, code, json),
        "boolean" => debug::<Boolean>(multiple, code, json),
        "date" => debug::<Date>(multiple, code, json),
        "datetime" => debug::<DateTime>(multiple, code, json),
        "user" | "employee" => debug::<Id<UserId>>(multiple, code, json),
        "crm_status" => debug::<Status>(multiple, code, json),
        "crm_category" => debug::<Id<CategoryId>>(multiple, code, json),
        "crm_currency" => debug::<Currency>(multiple, code, json),
        "crm_company" => debug::<Id<CompanyId>>(multiple, code, json),
        "crm_contact" => debug::<Id<ContactId>>(multiple, code, json),
        "crm_lead" => debug::<Id<LeadId>>(multiple, code, json),
        "crm_quote" => debug::<Id<QuoteId>>(multiple, code, json),
        "location" => debug::<Location>(multiple, code, json),
        "crm_entity" => debug::<Id<ItemId>>(multiple, code, json),
        "money" => debug::<Money>(multiple, code, json),
        "address" => debug::<Address>(multiple, code, json),
        "enumeration" => debug::<Enum<AnyItem>>(multiple, code, json),
        "file" => debug::<File>(multiple, code, json),
        "iblock_element" => debug::<Id<IblockElementId>>(multiple, code, json),
        "iblock_section" => debug::<Id<IblockSectionId>>(multiple, code, json),
        "crm" => debug::<CrmLink>(multiple, code, json),
        other => Err(format!("no codec for type {other:?} of {code}")),
    }
}

fn snapshot() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/demo/deal.json");
    let text = std::fs::read_to_string(path).expect("the demo snapshot is committed");
    serde_json::from_str(&text).expect("the demo snapshot is JSON")
}

fn result() -> serde_json::Map<String, Value> {
    let mut response: Value = serde_json::from_str(GET_RESPONSE).expect("example is JSON");
    match response["result"].take() {
        Value::Object(map) => map,
        other => panic!("result is not an object: {other}"),
    }
}

#[test]
fn every_value_of_the_example_decodes_with_its_fields_codec() {
    let snapshot = snapshot();
    let fields = snapshot["fields"].as_object().expect("fields object");
    let result = result();
    assert_eq!(result.len(), 46, "the example has 46 fields");
    let mut decoded = 0;
    for (code, value) in &result {
        let meta = fields
            .get(code)
            .unwrap_or_else(|| panic!("{code} is not in the demo snapshot"));
        let ty = meta["type"].as_str().expect("type");
        let multiple = meta["isMultiple"].as_bool().expect("isMultiple");
        let code: &'static str = Box::leak(code.clone().into_boxed_str());
        let json = value.to_string();
        let out = decode_as(code, ty, multiple, &json)
            .unwrap_or_else(|e| panic!("{code} ({ty}) = {json}: {e}"));
        // Only JSON null is empty in this example.
        assert_eq!(
            out == "None",
            value.is_null(),
            "{code} ({ty}) = {json} -> {out}"
        );
        decoded += 1;
    }
    assert_eq!(decoded, 46);
}

/// Decodes one field of the example with codec `C`.
fn field<C: Codec>(code: &'static str) -> Option<C::Value> {
    let json = result()[code].to_string();
    decode_text::<C>(code, &json).unwrap_or_else(|e| panic!("{code}: {e}"))
}

#[test]
fn exact_values_of_the_example() {
    assert_eq!(field::<Id<DealId>>("ID"), Some(DealId(410)));
    assert_eq!(field::<Text>("TITLE").as_deref(), Some("Новая сделка #1"));
    assert_eq!(field::<Status>("TYPE_ID"), Some(StatusId::from("COMPLEX")));
    assert_eq!(
        field::<Status>("STAGE_ID"),
        Some(StatusId::from("PREPARATION"))
    );
    assert_eq!(field::<Integer>("PROBABILITY"), Some(99));
    assert_eq!(
        field::<Currency>("CURRENCY_ID"),
        Some(CurrencyId::from("EUR"))
    );

    let opportunity = field::<Decimal>("OPPORTUNITY").expect("OPPORTUNITY");
    assert_eq!(
        opportunity,
        rust_decimal::Decimal::from_str("1000000.00").unwrap()
    );
    assert_eq!(opportunity.to_string(), "1000000.00");
    assert_eq!(
        field::<Decimal>("TAX_VALUE")
            .map(|d| d.to_string())
            .as_deref(),
        Some("0.00")
    );

    assert_eq!(field::<YesNo>("IS_MANUAL_OPPORTUNITY"), Some(true));
    assert_eq!(field::<YesNo>("OPENED"), Some(true));
    assert_eq!(field::<YesNo>("CLOSED"), Some(false));
    assert_eq!(field::<YesNo>("IS_NEW"), Some(false));

    assert_eq!(field::<Id<LeadId>>("LEAD_ID"), None);
    assert_eq!(field::<Id<QuoteId>>("QUOTE_ID"), None);
    assert_eq!(field::<Id<CompanyId>>("COMPANY_ID"), Some(CompanyId(9)));
    assert_eq!(field::<Id<ContactId>>("CONTACT_ID"), Some(ContactId(84)));
    assert_eq!(field::<Id<UserId>>("ASSIGNED_BY_ID"), Some(UserId(1)));
    assert_eq!(field::<Id<UserId>>("LAST_ACTIVITY_BY"), Some(UserId(1)));
    // The default pipeline is 0, a value.
    assert_eq!(field::<Id<CategoryId>>("CATEGORY_ID"), Some(CategoryId(0)));
    assert_eq!(field::<Id<ItemId>>("PARENT_ID_1220"), Some(ItemId(22)));
    assert_eq!(field::<Location>("LOCATION_ID"), None);

    assert_eq!(
        field::<Date>("BEGINDATE"),
        NaiveDate::from_ymd_opt(2024, 8, 30)
    );
    assert_eq!(
        field::<Date>("CLOSEDATE"),
        NaiveDate::from_ymd_opt(2024, 9, 9)
    );
    let created = field::<DateTime>("DATE_CREATE").expect("DATE_CREATE");
    assert_eq!(created.to_rfc3339(), "2024-08-30T14:29:00+02:00");
    assert_eq!(created.offset().local_minus_utc(), 2 * 3600);
    assert_eq!(created.timestamp(), 1_725_020_940);

    // `[\/B]` in the JSON text is `[/B]` in the value.
    assert_eq!(
        field::<Text>("COMMENTS").as_deref(),
        Some("[B]Пример комментария[/B]")
    );
    assert_eq!(field::<Text>("ORIGINATOR_ID"), None);
    assert_eq!(field::<Text>("UTM_SOURCE").as_deref(), Some("google"));
    assert_eq!(
        field::<Text>("UF_CRM_1721244482250").as_deref(),
        Some("Привет мир!")
    );
}
