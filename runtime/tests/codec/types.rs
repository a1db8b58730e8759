//! The value types' text forms, constructors and conversions.

use std::collections::HashMap;
use std::str::FromStr;

use bitrix_runtime::types::{
    Address, CategoryId, CompanyId, ContactId, CrmLink, CurrencyId, DealId, File, FileId,
    FileUpload, IdType, ItemId, LeadId, LocationId, Money, QuoteId, StatusId, UserId,
};
use rust_decimal::Decimal;

#[test]
fn money_text_form() {
    let rows: &[(&str, Money)] = &[
        ("300|RUB", Money::new(300, "RUB")),
        ("300.50|USD", Money::new(Decimal::new(30050, 2), "USD")),
        (" 1.5 | EUR ", Money::new(Decimal::new(15, 1), "EUR")),
        ("300", Money::new(300, "")),
    ];
    for (text, money) in rows {
        assert_eq!(&Money::from_str(text).unwrap(), money, "{text}");
    }
    assert_eq!(
        Money::new(Decimal::new(30050, 2), "USD").to_string(),
        "300.50|USD"
    );
    assert_eq!(Money::new(300, "").to_string(), "300");
    for bad in ["", "|RUB", "abc|RUB", "300|R-B", "300|RUB|EUR"] {
        let e = Money::from_str(bad).unwrap_err();
        assert_eq!(e.what(), "money");
        assert_eq!(e.input(), bad);
        assert!(e.to_string().contains("300.50|USD"), "{e}");
    }
    // Equal amounts with different scales are equal and hash alike.
    let set: std::collections::HashSet<Money> = [
        Money::from_str("300|RUB").unwrap(),
        Money::from_str("300.00|RUB").unwrap(),
    ]
    .into();
    assert_eq!(set.len(), 1);
    assert_ne!(Money::new(300, "RUB"), Money::new(300, "USD"));
    assert_eq!(
        Money::from((Decimal::new(5, 0), "EUR")),
        Money::new(5, CurrencyId::from("EUR"))
    );
}

#[test]
fn crm_link_text_form() {
    let rows: &[(&str, CrmLink)] = &[
        ("L_4", CrmLink::Lead(LeadId(4))),
        ("D_1", CrmLink::Deal(DealId(1))),
        ("C_2", CrmLink::Contact(ContactId(2))),
        ("CO_3", CrmLink::Company(CompanyId(3))),
        ("Q_5", CrmLink::Quote(QuoteId(5))),
        ("SI_7", CrmLink::SmartInvoice(ItemId(7))),
        ("T80_6", CrmLink::item(128, 6)),
        ("12", CrmLink::Bare(12)),
    ];
    for (text, link) in rows {
        assert_eq!(&CrmLink::from_str(text).unwrap(), link, "{text}");
        assert_eq!(&link.to_string(), text);
    }
    assert_eq!(CrmLink::item(128, 6).entity_type_id(), Some(128));
    assert_eq!(CrmLink::Company(CompanyId(3)).entity_type_id(), Some(4));
    assert_eq!(CrmLink::SmartInvoice(ItemId(7)).entity_type_id(), Some(31));
    assert_eq!(CrmLink::Bare(12).entity_type_id(), None);
    assert_eq!(CrmLink::item(128, 6).id(), 6);
    assert_eq!(CrmLink::from(DealId(9)), CrmLink::Deal(DealId(9)));
    assert_eq!(CrmLink::from(9u64), CrmLink::Bare(9));
    let e = CrmLink::from_str("X_1").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"invalid CRM link "X_1": expected a prefixed id such as "D_1", "C_2", "CO_3", "L_4", "Q_5", "SI_7", "T80_6", or a bare id such as "12""#
    );
}

#[test]
fn address_text_form() {
    let a = Address::new("Москва, Тверская 1")
        .with_coordinates(55.75, 37.61)
        .with_location_id(577);
    assert_eq!(a.to_string(), "Москва, Тверская 1|55.75;37.61|577");
    assert_eq!(Address::from_str(&a.to_string()).unwrap(), a);
    assert_eq!(Address::from_str("plain").unwrap(), Address::from("plain"));
    assert!(Address::new("  ").is_empty());
    assert!(!Address::new("").with_location_id(1).is_empty());
}

#[test]
fn ids() {
    assert_eq!(DealId::from_str(" 410 ").unwrap(), DealId(410));
    let e = UserId::from_str("abc").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"invalid user id "abc": expected a non-negative integer such as "410""#
    );
    assert!(DealId::from_str("-1").is_err());
    const { assert!(DealId::ZERO_MEANS_NONE) };
    const { assert!(!CategoryId::ZERO_MEANS_NONE) };
}

#[test]
fn string_ids() {
    let stage = StatusId::from("WON");
    assert_eq!(stage, "WON");
    assert_eq!("WON", stage);
    let mut counts: HashMap<StatusId, u32> = HashMap::new();
    counts.insert(stage, 3);
    // `Borrow<str>`: look up with a plain string.
    assert_eq!(counts.get("WON"), Some(&3));
    assert_eq!(LocationId::from(577), LocationId::from("577"));
}

#[test]
fn files() {
    let file = File::new(FileId(5));
    assert_eq!(FileUpload::from(&file), FileUpload::Keep(FileId(5)));
    assert_eq!(FileUpload::keep(5), FileUpload::Keep(FileId(5)));
    assert_eq!(FileUpload::delete(5), FileUpload::Delete(FileId(5)));
    assert_eq!(
        FileUpload::new("a.txt", "hi"),
        FileUpload::New {
            name: "a.txt".to_owned(),
            content: b"hi".to_vec()
        }
    );
}
