//! `crm.currency.*`: the seeded currencies in the documented `crm_currency` form.

use crate::common::*;
use bitrix_emulator::Config;
use serde_json::{Value, json};

/// The first row of the `crm.currency.list` example (a base currency).
fn doc_row() -> Value {
    json!({"CURRENCY": "USD", "AMOUNT_CNT": "1", "AMOUNT": "1.0000", "SORT": "100", "BASE": "Y",
        "FULL_NAME": "United States Dollar", "LID": "de", "FORMAT_STRING": "# $",
        "DEC_POINT": ".", "THOUSANDS_SEP": "&nbsp;", "DECIMALS": "2",
        "DATE_UPDATE": "2024-01-29T12:28:40+02:00"})
}

#[tokio::test]
async fn currencies_list_get_and_fields_answer_as_documented() {
    let s = Session::start(Config::default().with_seed_portal()).await;

    let list = s
        .call(
            "crm.currency.list",
            json!({"order": {"sort": "asc", "currency": "asc"}}),
        )
        .await;
    let rows = list.ok().as_array().expect("a list").clone();
    assert_eq!(list.json["total"], 0, "the docs: total is always 0");
    let codes: Vec<&str> = rows
        .iter()
        .map(|r| r["CURRENCY"].as_str().unwrap())
        .collect();
    assert_eq!(codes[..3], ["RUB", "USD", "EUR"]);
    assert_same_shape(&doc_row(), &rows[0], "crm.currency.list[0]", &[]);
    assert_eq!(rows[0]["BASE"], "Y");
    assert_eq!(rows[0]["AMOUNT"], "1.0000");
    assert!(rows[1..].iter().all(|r| r["BASE"] == "N"));
    assert_eq!(rows[1]["THOUSANDS_SEP"], Value::Null, "USD as in the docs");

    let desc = s
        .call("crm.currency.list", json!({"order": {"currency": "desc"}}))
        .await;
    let first = desc.ok()[0]["CURRENCY"].as_str().unwrap().to_owned();
    assert_eq!(first, "USD", "the last code alphabetically comes first");

    let usd = s.call("crm.currency.get", json!({"id": "USD"})).await;
    let usd = usd.ok();
    assert_eq!(usd["CURRENCY"], "USD");
    assert_eq!(usd["LANG"]["en"]["FULL_NAME"], "US Dollar");
    assert_eq!(usd["LANG"]["en"]["HIDE_ZERO"], "Y");
    s.call("crm.currency.get", json!({"id": "XXX"}))
        .await
        .assert_error(400, "", "Not found");

    let fields = s.call("crm.currency.fields", json!({})).await;
    let fields = fields.ok();
    assert_eq!(
        fields["AMOUNT"],
        json!({"type": "double", "isRequired": false, "isReadOnly": false,
            "isImmutable": false, "isMultiple": false, "isDynamic": false,
            "title": "Exchange rate"})
    );
    assert_eq!(fields["LANG"]["isMultiple"], true);
    assert_eq!(fields["BASE"]["isReadOnly"], true);

    let base = s.call("crm.currency.base.get", json!({})).await;
    assert_eq!(*base.ok(), json!("RUB"));
}
