//! Multifields: both wire forms of the stored values, unknown value types kept, every write
//! operation's form, and the refusal of writes the portal would misread.

use bitrix_runtime::Patch;
use bitrix_runtime::codec::{
    Codec, DecodeSeed, Encode, EncodePatch, MultifieldWrites, Multifields,
};
use bitrix_runtime::types::{
    AnyMultifieldType, EmailType, ImType, LinkType, Multifield, MultifieldKind, MultifieldOps,
    PhoneType, WebType,
};
use serde::de::DeserializeSeed;
use serde_json::{Value, json};

fn decode<C: Codec>(json: Value) -> Result<Option<C::Value>, String> {
    let text = json.to_string();
    let from_text = DecodeSeed::<C>::new("PHONE")
        .deserialize(&mut serde_json::Deserializer::from_str(&text))
        .map_err(|e| e.to_string());
    let from_value = DecodeSeed::<C>::new("PHONE")
        .deserialize(json)
        .map_err(|e| e.to_string());
    assert_eq!(from_text, from_value, "{text}");
    from_text
}

fn encode<C: Codec>(value: &C::Value) -> Result<Value, String> {
    serde_json::to_value(Encode::<C>::new(value)).map_err(|e| e.to_string())
}

fn phone(id: u64, value_type: PhoneType, value: &str) -> Multifield<PhoneType> {
    Multifield {
        id: Some(id),
        value_type,
        value: value.to_owned(),
    }
}

#[test]
fn legacy_and_item_forms_read_the_same_values() {
    let legacy = json!([
        {"ID": "12", "VALUE_TYPE": "WORK", "VALUE": "+7 495 1", "TYPE_ID": "PHONE"},
        {"ID": 13, "VALUE_TYPE": "MOBILE", "VALUE": "+7 916 2", "TYPE_ID": "PHONE"}
    ]);
    let item = json!([
        {"id": 12, "valueType": "WORK", "value": "+7 495 1", "typeId": "PHONE"},
        {"id": "13", "valueType": "MOBILE", "value": "+7 916 2", "typeId": "PHONE"}
    ]);
    let expected = vec![
        phone(12, PhoneType::Work, "+7 495 1"),
        phone(13, PhoneType::Mobile, "+7 916 2"),
    ];
    assert_eq!(
        decode::<Multifields<PhoneType>>(legacy),
        Ok(Some(expected.clone()))
    );
    assert_eq!(
        decode::<Multifields<PhoneType>>(item),
        Ok(Some(expected.clone()))
    );
    // PHP's list-as-object form, keyed by position or by id.
    let keyed = json!({"12": {"ID": "12", "VALUE_TYPE": "WORK", "VALUE": "+7 495 1"},
                       "13": {"ID": "13", "VALUE_TYPE": "MOBILE", "VALUE": "+7 916 2"}});
    assert_eq!(decode::<Multifields<PhoneType>>(keyed), Ok(Some(expected)));
}

#[test]
fn empty_forms_are_the_empty_list_and_null_is_none() {
    for empty in [json!(""), json!([]), json!({}), json!(false)] {
        assert_eq!(
            decode::<Multifields<EmailType>>(empty),
            Ok(Some(Vec::new()))
        );
    }
    assert_eq!(decode::<Multifields<EmailType>>(Value::Null), Ok(None));
}

#[test]
fn unknown_value_types_are_kept_and_written_back() {
    let read = decode::<Multifields<ImType>>(json!([
        {"ID": "5", "VALUE_TYPE": "MAX", "VALUE": "max:42", "TYPE_ID": "IM"},
        {"ID": "6", "VALUE_TYPE": "telegram", "VALUE": "@me", "TYPE_ID": "IM"}
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(read[0].value_type, ImType::Custom("MAX".into()));
    assert_eq!(read[1].value_type, ImType::Telegram, "case-insensitive");
    assert_eq!(
        encode::<Multifields<ImType>>(&read).unwrap(),
        json!([
            {"ID": 5, "VALUE_TYPE": "MAX", "VALUE": "max:42"},
            {"ID": 6, "VALUE_TYPE": "TELEGRAM", "VALUE": "@me"}
        ])
    );
    for (kind, listed) in [
        (PhoneType::TYPE_ID, PhoneType::ALL.len()),
        (EmailType::TYPE_ID, EmailType::ALL.len()),
        (WebType::TYPE_ID, WebType::ALL.len()),
        (ImType::TYPE_ID, ImType::ALL.len()),
        (LinkType::TYPE_ID, LinkType::ALL.len()),
    ] {
        assert!(kind.is_some() && listed >= 2, "{kind:?}");
    }
    assert_eq!(WebType::from("LiveJournal"), WebType::LiveJournal);
    assert_eq!(LinkType::from(" USER "), LinkType::User);
}

#[test]
fn the_any_kind_keeps_the_type_id_of_each_value() {
    let fm = decode::<Multifields<AnyMultifieldType>>(json!([
        {"id": 1, "typeId": "PHONE", "valueType": "WORK", "value": "+1"},
        {"id": 2, "typeId": "EMAIL", "valueType": "HOME", "value": "a@b.c"},
        {"id": 3, "valueType": "OTHER", "value": "x"}
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(fm[0].value_type, AnyMultifieldType::new("PHONE", "WORK"));
    assert_eq!(fm[1].value_type.type_id(), Some("EMAIL"));
    assert_eq!(fm[2].value_type.type_id(), None);
    assert_eq!(
        encode::<Multifields<AnyMultifieldType>>(&fm[..2].to_vec()).unwrap(),
        json!([
            {"ID": 1, "VALUE_TYPE": "WORK", "VALUE": "+1", "TYPE_ID": "PHONE"},
            {"ID": 2, "VALUE_TYPE": "HOME", "VALUE": "a@b.c", "TYPE_ID": "EMAIL"}
        ])
    );
}

#[test]
fn malformed_values_are_errors_naming_the_field() {
    for bad in [
        json!(5),
        json!("+7 495"),
        json!(true),
        json!([5]),
        json!([{"ID": "x", "VALUE": "1"}]),
    ] {
        let e = decode::<Multifields<PhoneType>>(bad.clone()).unwrap_err();
        assert!(e.contains("PHONE"), "{bad}: {e}");
    }
}

#[test]
fn each_write_operation_has_its_documented_form() {
    let ops = MultifieldOps::new()
        .add(PhoneType::Mobile, "+49 1")
        .change(223, PhoneType::Work, "+49 2")
        .delete(224);
    assert_eq!(
        encode::<MultifieldWrites<PhoneType>>(&ops).unwrap(),
        json!([
            {"VALUE_TYPE": "MOBILE", "VALUE": "+49 1"},
            {"ID": 223, "VALUE_TYPE": "WORK", "VALUE": "+49 2"},
            {"ID": 224, "VALUE": ""}
        ])
    );
    // The write forms read back as the same operations.
    let back =
        decode::<MultifieldWrites<PhoneType>>(encode::<MultifieldWrites<PhoneType>>(&ops).unwrap());
    assert_eq!(back, Ok(Some(ops)));
    // Conveniences add.
    let adds: MultifieldOps<EmailType> =
        [(EmailType::Work, "a@b.c"), (EmailType::Home, "d@e.f")].into();
    assert!(adds.only_adds());
    assert_eq!(
        encode::<MultifieldWrites<EmailType>>(&adds).unwrap(),
        json!([{"VALUE_TYPE": "WORK", "VALUE": "a@b.c"}, {"VALUE_TYPE": "HOME", "VALUE": "d@e.f"}])
    );
    let any: MultifieldOps<AnyMultifieldType> =
        (AnyMultifieldType::new("WEB", "WORK"), "https://x").into();
    assert_eq!(
        encode::<MultifieldWrites<AnyMultifieldType>>(&any).unwrap(),
        json!([{"VALUE_TYPE": "WORK", "VALUE": "https://x", "TYPE_ID": "WEB"}])
    );
    assert!(
        !MultifieldOps::new()
            .delete(1)
            .add(PhoneType::Fax, "1")
            .only_adds()
    );
}

#[test]
fn nonsense_writes_are_refused() {
    let cases: [(MultifieldOps<PhoneType>, &str); 4] = [
        (MultifieldOps::new().delete(0), "id 0"),
        (
            MultifieldOps::new()
                .change(5, PhoneType::Work, "1")
                .delete(5),
            "twice",
        ),
        (
            MultifieldOps::new().add(PhoneType::Work, "  "),
            "empty value",
        ),
        (
            MultifieldOps::new().change(5, PhoneType::Work, ""),
            "empty value",
        ),
    ];
    for (ops, why) in cases {
        let e = encode::<MultifieldWrites<PhoneType>>(&ops).unwrap_err();
        assert!(e.contains(why), "{ops:?}: {e}");
        assert!(ops.check().is_err());
    }
    // Nor do such writes read back as writes.
    for bad in [
        json!([{"VALUE": "", "VALUE_TYPE": "WORK"}]),
        json!([{"ID": 0, "VALUE": "1"}]),
        json!([{"ID": 5, "VALUE": "1"}, {"ID": "5", "VALUE": ""}]),
    ] {
        let e = decode::<MultifieldWrites<PhoneType>>(bad.clone()).unwrap_err();
        assert!(e.contains("PHONE"), "{bad}: {e}");
    }
    // Clearing needs the stored ids.
    let clear: Patch<MultifieldOps<PhoneType>> = Patch::Clear;
    let e = serde_json::to_value(EncodePatch::<MultifieldWrites<PhoneType>>::new(&clear))
        .unwrap_err()
        .to_string();
    assert!(e.contains("MultifieldOps::delete"), "{e}");
}
