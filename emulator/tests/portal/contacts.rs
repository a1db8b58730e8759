//! Contact bindings (`crm.deal.contact.*`, and the lead's and quote's): the documented
//! shapes, primary and sort rules, and one list with `CONTACT_ID` / `contactIds`.

use crate::common::*;
use bitrix_emulator::Config;
use serde_json::{Value, json};

async fn bindings(s: &Session, prefix: &str, id: u64) -> Value {
    s.call(&format!("{prefix}.contact.items.get"), json!({"id": id}))
        .await
        .ok()
        .clone()
}

#[tokio::test]
async fn deal_contacts_bind_with_primary_and_sort_and_agree_with_the_record() {
    let s = Session::start(Config::default().with_seed_portal()).await;
    let deal = s.add("crm.deal.add", json!({"TITLE": "Контакты"})).await;
    assert_eq!(bindings(&s, "crm.deal", deal).await, json!([]));

    // items.set: the first IS_PRIMARY=Y is primary, SORT defaults to (i + 1) * 10.
    let set = s
        .call(
            "crm.deal.contact.items.set",
            json!({"id": deal, "items": [
                {"CONTACT_ID": 54, "SORT": 200},
                {"CONTACT_ID": 55, "SORT": 100, "IS_PRIMARY": "Y"},
                {"CONTACT_ID": 56, "IS_PRIMARY": "Y"},
            ]}),
        )
        .await;
    assert_eq!(*set.ok(), json!(true));
    let got = bindings(&s, "crm.deal", deal).await;
    let doc = json!([{"CONTACT_ID": 55, "SORT": 100, "ROLE_ID": 0, "IS_PRIMARY": "Y"}]);
    assert_same_shape(&doc, &got, "crm.deal.contact.items.get", &[]);
    assert_eq!(
        got,
        json!([
            {"CONTACT_ID": 56, "SORT": 30, "ROLE_ID": 0, "IS_PRIMARY": "N"},
            {"CONTACT_ID": 55, "SORT": 100, "ROLE_ID": 0, "IS_PRIMARY": "Y"},
            {"CONTACT_ID": 54, "SORT": 200, "ROLE_ID": 0, "IS_PRIMARY": "N"},
        ])
    );
    // The record: CONTACT_ID is the primary contact, contactIds every bound one.
    let d = s.call("crm.deal.get", json!({"id": deal})).await;
    assert_eq!(d.ok()["CONTACT_ID"], "55");
    let item = s
        .call("crm.item.get", json!({"entityTypeId": 2, "id": deal}))
        .await;
    let mut ids: Vec<u64> = item.ok()["item"]["contactIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [54, 55, 56]);

    // add: false when already bound; a new primary takes the flag.
    let again = s
        .call(
            "crm.deal.contact.add",
            json!({"id": deal, "fields": {"CONTACT_ID": 54}}),
        )
        .await;
    assert_eq!(*again.ok(), json!(false));
    let add = s
        .call(
            "crm.deal.contact.add",
            json!({"id": deal, "fields": {"CONTACT_ID": 57, "IS_PRIMARY": "Y", "SORT": 5}}),
        )
        .await;
    assert_eq!(*add.ok(), json!(true));
    let got = bindings(&s, "crm.deal", deal).await;
    assert_eq!(
        got[0],
        json!({"CONTACT_ID": 57, "SORT": 5, "ROLE_ID": 0, "IS_PRIMARY": "Y"})
    );
    assert_eq!(
        got.as_array()
            .unwrap()
            .iter()
            .filter(|b| b["IS_PRIMARY"] == "Y")
            .count(),
        1
    );
    // delete: removing the primary makes the first remaining one primary.
    let del = s
        .call(
            "crm.deal.contact.delete",
            json!({"id": deal, "fields": {"CONTACT_ID": 57}}),
        )
        .await;
    assert_eq!(*del.ok(), json!(true));
    let gone = s
        .call(
            "crm.deal.contact.delete",
            json!({"id": deal, "fields": {"CONTACT_ID": 57}}),
        )
        .await;
    assert_eq!(*gone.ok(), json!(false));
    let got = bindings(&s, "crm.deal", deal).await;
    assert_eq!(got[0]["CONTACT_ID"], 56);
    assert_eq!(got[0]["IS_PRIMARY"], "Y");

    // A legacy write of CONTACT_IDS is what the bindings show next.
    let upd = s
        .call(
            "crm.deal.update",
            json!({"id": deal, "fields": {"CONTACT_IDS": [55, 60]}}),
        )
        .await;
    assert_eq!(*upd.ok(), json!(true));
    let got = bindings(&s, "crm.deal", deal).await;
    let ids: Vec<&Value> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["CONTACT_ID"])
        .collect();
    assert_eq!(ids, [&json!(55), &json!(60)]);
    assert_eq!(got[0]["IS_PRIMARY"], "Y");

    // items.delete unbinds every contact.
    let clear = s
        .call("crm.deal.contact.items.delete", json!({"id": deal}))
        .await;
    assert_eq!(*clear.ok(), json!(true));
    assert_eq!(bindings(&s, "crm.deal", deal).await, json!([]));
    let d = s.call("crm.deal.get", json!({"id": deal})).await;
    assert_eq!(d.ok()["CONTACT_ID"], Value::Null);

    // fields, as documented.
    let fields = s.call("crm.deal.contact.fields", json!({})).await;
    assert_eq!(
        fields.ok()["CONTACT_ID"],
        json!({"type": "integer", "isRequired": true, "isReadOnly": false,
            "isImmutable": false, "isMultiple": false, "isDynamic": false, "title": "Contact"})
    );
    assert_eq!(fields.ok()["IS_PRIMARY"]["type"], "char");

    // The documented errors.
    let cases = [
        (
            "crm.deal.contact.items.get",
            json!({"id": 0}),
            "The parameter ownerEntityID is invalid or not defined.",
        ),
        (
            "crm.deal.contact.items.get",
            json!({"id": 999_999}),
            "Not found.",
        ),
        (
            "crm.deal.contact.items.set",
            json!({"id": deal, "items": "x"}),
            "The parameter items must be array.",
        ),
        (
            "crm.deal.contact.items.delete",
            json!({"id": 999_999}),
            "Not found",
        ),
        (
            "crm.deal.contact.add",
            json!({"fields": {"CONTACT_ID": 1}}),
            "The parameter 'ownerEntityID' is invalid or not defined.",
        ),
        (
            "crm.deal.contact.add",
            json!({"id": deal, "fields": {"CONTACT_ID": 0}}),
            "The parameter 'fields' is not valid.",
        ),
        (
            "crm.deal.contact.add",
            json!({"id": deal, "fields": "x"}),
            "The parameter 'fields' must be array.",
        ),
        (
            "crm.deal.contact.delete",
            json!({"id": deal, "fields": "x"}),
            "The parameter 'item' must be array.",
        ),
        (
            "crm.deal.contact.delete",
            json!({"id": 999_999, "fields": {"CONTACT_ID": 1}}),
            "Not found.",
        ),
    ];
    for (method, body, description) in cases {
        s.call(method, body)
            .await
            .assert_error(400, "", description);
    }
}

#[tokio::test]
async fn leads_quotes_and_companies_have_the_same_contact_methods() {
    let s = Session::start(Config::default().with_seed_portal()).await;
    for (prefix, add, fields) in [
        ("crm.lead", "crm.lead.add", json!({"TITLE": "x"})),
        ("crm.quote", "crm.quote.add", json!({"TITLE": "x"})),
        ("crm.company", "crm.company.add", json!({"TITLE": "x"})),
    ] {
        let id = s.add(add, fields).await;
        let set = s
            .call(
                &format!("{prefix}.contact.items.set"),
                json!({"id": id, "items": [{"CONTACT_ID": 7}, {"CONTACT_ID": 8}]}),
            )
            .await;
        assert_eq!(*set.ok(), json!(true), "{prefix}");
        let got = bindings(&s, prefix, id).await;
        assert_eq!(
            got,
            json!([
                {"CONTACT_ID": 7, "SORT": 10, "ROLE_ID": 0, "IS_PRIMARY": "Y"},
                {"CONTACT_ID": 8, "SORT": 20, "ROLE_ID": 0, "IS_PRIMARY": "N"},
            ]),
            "{prefix}"
        );
    }
    // A company's CONTACT_ID is the list of its bound contacts (crm-company-contact-items-get.md).
    let company = s
        .add("crm.company.add", json!({"TITLE": "ООО Ромашка"}))
        .await;
    s.call(
        "crm.company.contact.add",
        json!({"id": company, "fields": {"CONTACT_ID": 9}}),
    )
    .await
    .ok();
    let got = s.call("crm.company.get", json!({"id": company})).await;
    assert_eq!(got.ok()["CONTACT_ID"], json!(["9"]), "{}", got.text);
}
