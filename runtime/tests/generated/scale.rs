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
