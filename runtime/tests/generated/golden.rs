//! The generator's golden files (`codegen/tests/golden/*.rs`) compile against this runtime
//! without warnings, and the generated types behave as their docs say.

#![deny(warnings)]

mod demo {
    include!("../../../codegen/tests/golden/demo_deal.rs");
}

mod seed {
    include!("../../../codegen/tests/golden/seed_deal.rs");
}

/// One tiny snapshot per feature (`codegen/tests/schemas/`).
mod features {
    mod required {
        include!("../../../codegen/tests/golden/required.rs");
    }
    mod read_only {
        include!("../../../codegen/tests/golden/read_only.rs");
    }
    mod enumeration {
        include!("../../../codegen/tests/golden/enumeration.rs");
    }
    mod multiple {
        include!("../../../codegen/tests/golden/multiple.rs");
    }
    // The unknown type warns at compile time, by design.
    #[allow(deprecated)]
    mod unknown_type {
        include!("../../../codegen/tests/golden/unknown_type.rs");
    }
    mod renames {
        include!("../../../codegen/tests/golden/renames.rs");
    }
    mod pipelines {
        include!("../../../codegen/tests/golden/pipelines.rs");
    }
    mod keywords {
        include!("../../../codegen/tests/golden/keywords.rs");
    }
    mod hostile_text {
        include!("../../../codegen/tests/golden/hostile_text.rs");
    }
}

/// One snapshot per CRM entity (`codegen/tests/schemas/`, the docs' field lists), on both APIs.
mod entities {
    pub mod lead {
        include!("../../../codegen/tests/golden/lead.rs");
    }
    pub mod lead_item_api {
        include!("../../../codegen/tests/golden/lead_item_api.rs");
    }
    pub mod contact {
        include!("../../../codegen/tests/golden/contact.rs");
    }
    pub mod company {
        include!("../../../codegen/tests/golden/company.rs");
    }
    pub mod quote {
        include!("../../../codegen/tests/golden/quote.rs");
    }
    pub mod smart_invoice {
        include!("../../../codegen/tests/golden/smart_invoice.rs");
    }
    pub mod smart_process {
        include!("../../../codegen/tests/golden/smart_process.rs");
    }
}

use bitrix_runtime::{Api, Entity, EntityField};

#[test]
fn golden_entities_implement_the_runtime_traits() {
    assert_eq!(<demo::Deal as Entity>::METHOD_PREFIX, "crm.deal");
    assert_eq!(<seed::SeedDeal as Entity>::ENTITY_TYPE_ID, 2);
    assert_eq!(demo::DealField::ALL.len(), 80);
    assert_eq!(
        demo::DealField::from_code("UF_CRM_1721244482250"),
        Some(demo::DealField::UfCrm1721244482250)
    );
}

#[test]
fn every_entity_golden_names_its_api_and_both_field_names() {
    use entities::*;
    assert_eq!(<lead::Lead as Entity>::METHOD_PREFIX, "crm.lead");
    assert_eq!(<lead::Lead as Entity>::API, Api::Legacy);
    const { assert!(<lead::Lead as Entity>::HAS_LEGACY) };
    assert_eq!(<lead_item_api::ItemLead as Entity>::API, Api::Item);
    assert_eq!(<contact::Contact as Entity>::ENTITY_TYPE_ID, 3);
    assert_eq!(<company::Company as Entity>::ENTITY_TYPE_ID, 4);
    assert_eq!(<quote::Quote as Entity>::ENTITY_TYPE_ID, 7);
    assert_eq!(<smart_invoice::SmartInvoice as Entity>::ENTITY_TYPE_ID, 31);
    const { assert!(!<smart_invoice::SmartInvoice as Entity>::HAS_LEGACY) };
    const { assert!(!<smart_process::Proekty as Entity>::HAS_LEGACY) };
    assert_eq!(<smart_process::Proekty as Entity>::API, Api::Item);
    assert_eq!(
        <smart_process::Proekty as Entity>::METHOD_PREFIX,
        "crm.item"
    );

    // A legacy snapshot's field knows its crm.item.* name, and either name finds it.
    let created = lead::LeadField::from_code("DATE_CREATE").unwrap();
    assert_eq!(created.item_name(), "createdTime");
    assert_eq!(lead::LeadField::from_code("createdTime"), Some(created));
    let stage = lead::LeadField::from_code("STATUS_ID").unwrap();
    assert_eq!(stage.item_name(), "stageId");
}

#[test]
fn a_contact_decodes_from_either_api_with_typed_multifields() {
    use bitrix_runtime::types::{Multifield, PhoneType};
    use entities::contact::Contact;

    let legacy: Contact = serde_json::from_str(
        r#"{"ID": "7", "NAME": "Иван", "PHONE": [{"ID": "12", "VALUE_TYPE": "WORK", "VALUE": "+7 900", "TYPE_ID": "PHONE"}]}"#,
    )
    .unwrap();
    let item: Contact = serde_json::from_str(r#"{"id": 7, "name": "Иван"}"#).unwrap();
    assert_eq!(legacy.id, item.id);
    assert_eq!(legacy.name.as_deref(), Some("Иван"));
    assert_eq!(item.name, legacy.name);
    assert_eq!(
        legacy.phone,
        Some(vec![Multifield {
            id: Some(12),
            value_type: PhoneType::Work,
            value: "+7 900".into(),
        }])
    );
}
