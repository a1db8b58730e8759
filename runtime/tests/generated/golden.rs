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
    mod keywords {
        include!("../../../codegen/tests/golden/keywords.rs");
    }
    mod hostile_text {
        include!("../../../codegen/tests/golden/hostile_text.rs");
    }
}

use bitrix_runtime::{Entity, EntityField};

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
