//! Issue 14 item 6 (scale), against this runtime: an entity with more required fields than the
//! flat typestate takes (70 > `FLAT_TYPESTATE_LIMIT` = 64: one type parameter holding a tree of
//! the states) builds its payload with every value in place, in any setter order; an
//! enumeration with more items than have a variant each (600 > `VARIANT_LIMIT` = 512: an
//! associated constant per item and tables) decodes, encodes, labels, clones, compares and
//! prints every item as the small shape does, its items named by constants.
//! `schemas/test/scale/deal.json` holds both.

#![deny(warnings)]

use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::EnumValue;

#[bitrix_entity(schema = "../schemas/test/scale/deal.json")]
pub struct Deal;

/// Every required setter, in field order (then `build()`).
macro_rules! every_required {
    ($builder:expr) => {
        $builder
            .uf_crm_r0("s0")
            .uf_crm_r1(1)
            .uf_crm_r2("s2")
            .uf_crm_r3(3)
            .uf_crm_r4("s4")
            .uf_crm_r5(5)
            .uf_crm_r6("s6")
            .uf_crm_r7(7)
            .uf_crm_r8("s8")
            .uf_crm_r9(9)
            .uf_crm_r10("s10")
            .uf_crm_r11(11)
            .uf_crm_r12("s12")
            .uf_crm_r13(13)
            .uf_crm_r14("s14")
            .uf_crm_r15(15)
            .uf_crm_r16("s16")
            .uf_crm_r17(17)
            .uf_crm_r18("s18")
            .uf_crm_r19(19)
            .uf_crm_r20("s20")
            .uf_crm_r21(21)
            .uf_crm_r22("s22")
            .uf_crm_r23(23)
            .uf_crm_r24("s24")
            .uf_crm_r25(25)
            .uf_crm_r26("s26")
            .uf_crm_r27(27)
            .uf_crm_r28("s28")
            .uf_crm_r29(29)
            .uf_crm_r30("s30")
            .uf_crm_r31(31)
            .uf_crm_r32("s32")
            .uf_crm_r33(33)
            .uf_crm_r34("s34")
            .uf_crm_r35(35)
            .uf_crm_r36("s36")
            .uf_crm_r37(37)
            .uf_crm_r38("s38")
            .uf_crm_r39(39)
            .uf_crm_r40("s40")
            .uf_crm_r41(41)
            .uf_crm_r42("s42")
            .uf_crm_r43(43)
            .uf_crm_r44("s44")
            .uf_crm_r45(45)
            .uf_crm_r46("s46")
            .uf_crm_r47(47)
            .uf_crm_r48("s48")
            .uf_crm_r49(49)
            .uf_crm_r50("s50")
            .uf_crm_r51(51)
            .uf_crm_r52("s52")
            .uf_crm_r53(53)
            .uf_crm_r54("s54")
            .uf_crm_r55(55)
            .uf_crm_r56("s56")
            .uf_crm_r57(57)
            .uf_crm_r58("s58")
            .uf_crm_r59(59)
            .uf_crm_r60("s60")
            .uf_crm_r61(61)
            .uf_crm_r62("s62")
            .uf_crm_r63(63)
            .uf_crm_r64("s64")
            .uf_crm_r65(65)
            .uf_crm_r66("s66")
            .uf_crm_r67(67)
            .uf_crm_r68("s68")
            .uf_crm_r69(69)
            .build()
    };
}

#[test]
fn a_builder_over_the_flat_limit_sets_every_required_field() {
    let deal = every_required!(NewDeal::builder().title("wide"));
    assert_eq!(deal.title.as_deref(), Some("wide"));
    assert_eq!(deal.uf_crm_r0, "s0");
    assert_eq!(deal.uf_crm_r35, 35);
    assert_eq!(deal.uf_crm_r68, "s68");
    assert_eq!(deal.uf_crm_r69, 69);
    let json = serde_json::to_value(&deal).unwrap();
    let fields = json.as_object().unwrap();
    for i in 0..70 {
        let value = &fields[&format!("UF_CRM_R{i}")];
        if i % 2 == 0 {
            assert_eq!(value, &serde_json::json!(format!("s{i}")), "UF_CRM_R{i}");
        } else {
            assert_eq!(value, &serde_json::json!(i), "UF_CRM_R{i}");
        }
    }
}

#[test]
fn required_setters_of_the_tree_builder_can_come_in_any_order() {
    let forward = every_required!(NewDeal::builder());
    let backward = NewDeal::builder()
        .uf_crm_r69(69)
        .uf_crm_r68("s68")
        .uf_crm_r67(67)
        .uf_crm_r66("s66")
        .uf_crm_r65(65)
        .uf_crm_r64("s64")
        .uf_crm_r63(63)
        .uf_crm_r62("s62")
        .uf_crm_r61(61)
        .uf_crm_r60("s60")
        .uf_crm_r59(59)
        .uf_crm_r58("s58")
        .uf_crm_r57(57)
        .uf_crm_r56("s56")
        .uf_crm_r55(55)
        .uf_crm_r54("s54")
        .uf_crm_r53(53)
        .uf_crm_r52("s52")
        .uf_crm_r51(51)
        .uf_crm_r50("s50")
        .uf_crm_r49(49)
        .uf_crm_r48("s48")
        .uf_crm_r47(47)
        .uf_crm_r46("s46")
        .uf_crm_r45(45)
        .uf_crm_r44("s44")
        .uf_crm_r43(43)
        .uf_crm_r42("s42")
        .uf_crm_r41(41)
        .uf_crm_r40("s40")
        .uf_crm_r39(39)
        .uf_crm_r38("s38")
        .uf_crm_r37(37)
        .uf_crm_r36("s36")
        .uf_crm_r35(35)
        .uf_crm_r34("s34")
        .uf_crm_r33(33)
        .uf_crm_r32("s32")
        .uf_crm_r31(31)
        .uf_crm_r30("s30")
        .uf_crm_r29(29)
        .uf_crm_r28("s28")
        .uf_crm_r27(27)
        .uf_crm_r26("s26")
        .uf_crm_r25(25)
        .uf_crm_r24("s24")
        .uf_crm_r23(23)
        .uf_crm_r22("s22")
        .uf_crm_r21(21)
        .uf_crm_r20("s20")
        .uf_crm_r19(19)
        .uf_crm_r18("s18")
        .uf_crm_r17(17)
        .uf_crm_r16("s16")
        .uf_crm_r15(15)
        .uf_crm_r14("s14")
        .uf_crm_r13(13)
        .uf_crm_r12("s12")
        .uf_crm_r11(11)
        .uf_crm_r10("s10")
        .uf_crm_r9(9)
        .uf_crm_r8("s8")
        .uf_crm_r7(7)
        .uf_crm_r6("s6")
        .uf_crm_r5(5)
        .uf_crm_r4("s4")
        .uf_crm_r3(3)
        .uf_crm_r2("s2")
        .uf_crm_r1(1)
        .uf_crm_r0("s0")
        .build();
    assert_eq!(forward, backward);
}

#[test]
fn a_large_enumeration_round_trips_every_item() {
    assert_eq!(DealUfCrmBig::ALL.len(), 600);
    for (i, item) in DealUfCrmBig::ALL.iter().enumerate() {
        let id = (2000 + i).to_string();
        assert_eq!(item.id(), id);
        assert_eq!(&DealUfCrmBig::from_id(&id), item);
        assert_eq!(item.label(), Some(format!("Пункт {i}").as_str()));
        assert_eq!(&item.clone(), item);
        assert_eq!(item.to_string(), format!("Пункт {i}"));
    }
    let first = DealUfCrmBig::from_id("2000");
    assert_eq!(format!("{first:?}"), "Punkt0");
    let other = DealUfCrmBig::from_id("9999");
    assert_eq!(other, DealUfCrmBig::Other("9999".into()));
    assert_eq!(other.id(), "9999");
    assert_eq!(other.label(), None);
    assert_eq!(other.clone(), other);
    assert_eq!(format!("{other:?}"), "Other(\"9999\")");
    assert_eq!(other.to_string(), "9999");
    // Items are named as variants are, and match as patterns.
    assert_eq!(first, DealUfCrmBig::Punkt0);
    assert_eq!(DealUfCrmBig::from_id("2599"), DealUfCrmBig::Punkt599);
    let matched = match DealUfCrmBig::from_id("2001") {
        DealUfCrmBig::Punkt0 => 0,
        DealUfCrmBig::Punkt1 => 1,
        _ => 2,
    };
    assert_eq!(matched, 1);
    // Portal order, unknown items last.
    assert!(DealUfCrmBig::ALL[0] < DealUfCrmBig::ALL[599]);
    assert!(DealUfCrmBig::ALL[599] < other);
}

#[test]
fn a_large_enumeration_reads_and_writes_through_the_record() {
    let deal: Deal =
        serde_json::from_value(serde_json::json!({"ID": "1", "UF_CRM_BIG": "2599"})).unwrap();
    assert_eq!(deal.uf_crm_big, Some(DealUfCrmBig::ALL[599].clone()));
    let back = serde_json::to_value(&deal).unwrap();
    assert_eq!(back["UF_CRM_BIG"], "2599");
}

/// Issue 14 (many fields): an entity wider than `WIDE_LIMIT` (606 > 512 fields: a field enum of
/// associated constants over one hidden variant, per-field code in hidden functions of 256
/// fields, written-out `Debug`, `Clone` and `Default`, the builder's optional values in one
/// hidden struct) reads, writes, prints and compares as a narrow one. `wide_deal.json` is
/// `codegen/tests/schemas/pipelines.json` (typed pipelines and stages) plus 600 user fields
/// `UF_CRM_W0..599` of seven types (string, integer, double, boolean, date, enumeration, multiple
/// string; 0, 1 and 5 required, 8 and 590 read-only, 9 and 591 immutable); `narrow_deal.json`
/// the same with the first 30 of them, generated in the small shape.
mod wide {
    use bitrix_runtime::pipeline::Stage;
    use bitrix_runtime::{EntityField, UpdatePayload, bitrix_entity};
    use serde_json::json;

    pub mod narrow {
        use bitrix_runtime::bitrix_entity;

        #[bitrix_entity(schema = "tests/generated/narrow_deal.json")]
        pub struct Deal;
    }

    #[bitrix_entity(schema = "tests/generated/wide_deal.json")]
    pub struct Deal;

    /// Values for the narrow entity's fields, empty and null ones, an item name, and a key
    /// neither snapshot knows.
    fn common_row() -> serde_json::Value {
        json!({
            "ID": "7",
            "TITLE": "Сделка",
            "CATEGORY_ID": "5",
            "STAGE_ID": "C5:NEW",
            "UF_CRM_W0": "a",
            "UF_CRM_W1": "12",
            "UF_CRM_W2": "1.5",
            "UF_CRM_W3": "1",
            "UF_CRM_W4": "2024-01-02",
            "UF_CRM_W5": "105",
            "UF_CRM_W6": ["x", "y"],
            "UF_CRM_W7": "",
            "UF_CRM_W8": null,
            "UF_CRM_W9": "",
            "ufCrm_W10": "Y",
            "UF_CRM_W11": "",
            "UF_CRM_W12": "999",
            "UF_CRM_W13": [],
            "UF_CRM_UNKNOWN": {"k": 1},
        })
    }

    /// `Debug` text up to its last field (`extra` for the read model), to compare the narrow
    /// entity's derived `Debug` with the start of the wide one's.
    fn before(text: &str, last: &str) -> String {
        text[..text.rfind(last).expect("field printed")].to_owned()
    }

    #[test]
    fn a_wide_row_decodes_encodes_and_prints_as_a_narrow_one() {
        let narrow: narrow::Deal = serde_json::from_value(common_row()).unwrap();
        let wide: Deal = serde_json::from_value(common_row()).unwrap();
        // The same values (null, empty and unknown keys handled as the narrow shape does).
        assert_eq!(
            serde_json::to_value(&wide).unwrap(),
            serde_json::to_value(&narrow).unwrap()
        );
        assert_eq!(wide.extra, narrow.extra);
        assert_eq!(wide.extra.len(), 1, "{:?}", wide.extra);
        assert_eq!(wide.uf_crm_w1, Some(12));
        assert_eq!(wide.uf_crm_w10, narrow.uf_crm_w10);
        assert_eq!((wide.uf_crm_w7.clone(), wide.uf_crm_w8), (None, None));
        assert_eq!(wide.uf_crm_w13, narrow.uf_crm_w13);
        assert_eq!(
            wide.stage_id.as_ref().map(Stage::category_id),
            narrow.stage_id.as_ref().map(Stage::category_id)
        );
        // Derived Debug of the narrow model = the start of the written-out one.
        let (nd, wd) = (format!("{narrow:?}"), format!("{wide:?}"));
        let head = before(&nd, ", extra: ");
        assert!(wd.starts_with(&format!("{head}, uf_crm_w30: None")), "{wd}");
        assert!(wd.ends_with(&nd[nd.rfind(", extra: ").unwrap()..]), "{wd}");
        // Pretty Debug too.
        let (nd, wd) = (format!("{narrow:#?}"), format!("{wide:#?}"));
        assert!(wd.starts_with(&before(&nd, "    extra: ")), "{wd}");
    }

    #[test]
    fn fields_in_every_chunk_round_trip() {
        // Positions 0..5 are the six standard fields, so UF_CRM_Wi is at 6 + i: 249 and 250
        // are the last of the first 256 and the first of the next, 505/506 the same at 512.
        let mut row = common_row();
        for (code, value) in [
            ("UF_CRM_W249", json!("2024-05-06")),
            ("UF_CRM_W250", json!("350")),
            ("UF_CRM_W505", json!("42")),
            ("UF_CRM_W506", json!("3.25")),
            ("UF_CRM_W599", json!("2025-12-31")),
            ("UF_CRM_W300", json!(["p", "q"])),
        ] {
            row[code] = value;
        }
        let deal: Deal = serde_json::from_value(row).unwrap();
        assert_eq!(
            deal.uf_crm_w249.map(|d| d.to_string()).as_deref(),
            Some("2024-05-06")
        );
        assert_eq!(deal.uf_crm_w250, Some(DealUfCrmW250::Da));
        assert_eq!(deal.uf_crm_w505, Some(42));
        assert_eq!(
            deal.uf_crm_w506.map(|d| d.to_string()).as_deref(),
            Some("3.25")
        );
        assert_eq!(deal.uf_crm_w300, Some(vec!["p".to_owned(), "q".to_owned()]));
        assert_eq!(
            deal.uf_crm_w599.map(|d| d.to_string()).as_deref(),
            Some("2025-12-31")
        );
        assert_eq!(deal.uf_crm_w598, None);
        let json = serde_json::to_value(&deal).unwrap();
        assert_eq!(json["UF_CRM_W599"], "2025-12-31");
        assert_eq!(json["UF_CRM_UNKNOWN"], json!({"k": 1}));
        let back: Deal = serde_json::from_value(json).unwrap();
        assert_eq!(back, deal);
        // Written-out Clone, PartialEq and Default.
        let mut other = deal.clone();
        assert_eq!(other, deal);
        other.uf_crm_w599 = None;
        assert_ne!(other, deal);
        let empty = Deal::default();
        assert_eq!(format!("{empty:?}").matches(": None").count(), 606);
        assert!(empty.extra.is_empty());
        assert_eq!(serde_json::to_value(&empty).unwrap(), json!({}));
    }

    #[test]
    fn the_wide_field_enum_names_every_field_by_a_constant() {
        assert_eq!(DealField::ALL.len(), 606);
        for (i, f) in DealField::ALL.iter().enumerate().skip(6) {
            assert_eq!(f.meta().code, format!("UF_CRM_W{}", i - 6));
        }
        assert_eq!(DealField::ALL[0], DealField::Id);
        assert_eq!(
            DealField::from_code("UF_CRM_W599"),
            Some(DealField::UfCrmW599)
        );
        assert_eq!(
            DealField::from_code("ufCrm_W599"),
            Some(DealField::UfCrmW599)
        );
        assert_eq!(DealField::from_code("UF_CRM_W600"), None);
        assert_eq!(DealField::from(Deal::UF_CRM_W300), DealField::UfCrmW300);
        assert_eq!(DealField::UfCrmW300.meta().label, Some("Поле 300"));
        assert_eq!(DealField::UfCrmW300.to_string(), "UF_CRM_W300");
        // Debug prints the constant's name, as the narrow enum's derived Debug prints a variant.
        assert_eq!(
            format!("{:?}", DealField::UfCrmW5),
            format!("{:?}", narrow::DealField::UfCrmW5)
        );
        assert_eq!(format!("{:?}", DealField::UfCrmW599), "UfCrmW599");
        assert!(DealField::Title < DealField::UfCrmW0);
        // Constants match as patterns (with a `_` arm).
        let kind = |f: DealField| match f {
            DealField::Title => 1,
            DealField::UfCrmW599 => 2,
            _ => 0,
        };
        assert_eq!(
            (
                kind(DealField::Title),
                kind(DealField::UfCrmW599),
                kind(DealField::Id)
            ),
            (1, 2, 0)
        );
    }

    #[test]
    fn the_wide_payloads_write_as_the_narrow_ones() {
        let narrow = narrow::NewDeal::builder()
            .uf_crm_w0("a")
            .uf_crm_w1(1)
            .uf_crm_w5(narrow::DealUfCrmW5::Net)
            .title("t")
            .stage(narrow::DealStageProdazhi::New)
            .uf_crm_w13(vec!["m".to_owned()])
            .build();
        let wide = NewDeal::builder()
            .title("t")
            .uf_crm_w5(DealUfCrmW5::Net)
            .uf_crm_w595("last string")
            .stage(DealStageProdazhi::New)
            .uf_crm_w13(vec!["m".to_owned()])
            .uf_crm_w1(1)
            .uf_crm_w0("a")
            .build();
        let mut json = serde_json::to_value(&wide).unwrap();
        assert_eq!(json["CATEGORY_ID"], json!(5));
        assert_eq!(
            json.as_object_mut().unwrap().remove("UF_CRM_W595"),
            Some(json!("last string"))
        );
        assert_eq!(json, serde_json::to_value(&narrow).unwrap());
        assert_eq!(wide.clone(), wide);
        let (nd, wd) = (format!("{narrow:?}"), format!("{wide:?}"));
        assert!(wd.starts_with(&before(&nd, ", uf_crm_w29: ")), "{wd}");
        assert!(wd.contains("uf_crm_w595: Some(\"last string\")"), "{wd}");
        // The builder clones with its values.
        let builder = NewDeal::builder()
            .uf_crm_w0("a")
            .uf_crm_w1(2)
            .uf_crm_w598(true);
        let built = builder.clone().uf_crm_w5(DealUfCrmW5::Da).build();
        assert_eq!(built, builder.uf_crm_w5(DealUfCrmW5::Da).build());
        assert!(format!("{built:?}").contains("uf_crm_w598: Some(true)"));

        let patch = DealPatch::new()
            .uf_crm_w0("b")
            .clear_uf_crm_w595()
            .uf_crm_w599(bitrix_runtime::types::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap());
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!({"UF_CRM_W0": "b", "UF_CRM_W595": "", "UF_CRM_W599": "2025-01-02"})
        );
        assert!(!patch.is_empty());
        assert!(DealPatch::new().is_empty());
        assert_eq!(DealPatch::new(), DealPatch::default());
        assert_eq!(patch.cleared_fields(), vec!["UF_CRM_W595"]);
        assert_eq!(patch.clone(), patch);
        assert_ne!(patch, DealPatch::new());
        let narrow_patch = narrow::DealPatch::new().uf_crm_w0("b");
        let wide_patch = DealPatch::new().uf_crm_w0("b");
        assert!(
            format!("{wide_patch:?}")
                .starts_with(&before(&format!("{narrow_patch:?}"), ", uf_crm_w29: "))
        );
    }
}
