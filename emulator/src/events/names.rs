//! Event names: the events this portal lets an application bind (the `events` method's list
//! in the documentation, plus the smart-process and user-field events of the CRM pages), and
//! the names each CRM entity type's changes are sent under.

/// An event to send: its wire name (upper case), its `data`, and the object it is about (the
/// offline queue keeps one record per object; MESSAGE_ID is derived from it).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Fired {
    pub name: String,
    pub data: serde_json::Value,
    pub object: String,
}

/// The events of the documentation's `events` list (`ONCRMDYNAMICITEM*_{id}` is a pattern,
/// see [`is_known`]), plus the user-field events of smart processes (`crm/universal/
/// userfieldconfig/events`).
const KNOWN: &[&str] = &[
    "ONAPPUNINSTALL",
    "ONAPPINSTALL",
    "ONAPPUPDATE",
    "ONAPPPAYMENT",
    "ONAPPTEST",
    "ONAPPMETHODCONFIRM",
    "ONOFFLINEEVENT",
    "ONUSERADD",
    "ONCRMINVOICEADD",
    "ONCRMINVOICEUPDATE",
    "ONCRMINVOICEDELETE",
    "ONCRMINVOICESETSTATUS",
    "ONCRMLEADADD",
    "ONCRMLEADUPDATE",
    "ONCRMLEADDELETE",
    "ONCRMLEADUSERFIELDADD",
    "ONCRMLEADUSERFIELDUPDATE",
    "ONCRMLEADUSERFIELDDELETE",
    "ONCRMLEADUSERFIELDSETENUMVALUES",
    "ONCRMDEALADD",
    "ONCRMDEALUPDATE",
    "ONCRMDEALDELETE",
    "ONCRMDEALMOVETOCATEGORY",
    "ONCRMDEALUSERFIELDADD",
    "ONCRMDEALUSERFIELDUPDATE",
    "ONCRMDEALUSERFIELDDELETE",
    "ONCRMDEALUSERFIELDSETENUMVALUES",
    "ONCRMCOMPANYADD",
    "ONCRMCOMPANYUPDATE",
    "ONCRMCOMPANYDELETE",
    "ONCRMCOMPANYUSERFIELDADD",
    "ONCRMCOMPANYUSERFIELDUPDATE",
    "ONCRMCOMPANYUSERFIELDDELETE",
    "ONCRMCOMPANYUSERFIELDSETENUMVALUES",
    "ONCRMCONTACTADD",
    "ONCRMCONTACTUPDATE",
    "ONCRMCONTACTDELETE",
    "ONCRMCONTACTUSERFIELDADD",
    "ONCRMCONTACTUSERFIELDUPDATE",
    "ONCRMCONTACTUSERFIELDDELETE",
    "ONCRMCONTACTUSERFIELDSETENUMVALUES",
    "ONCRMQUOTEADD",
    "ONCRMQUOTEUPDATE",
    "ONCRMQUOTEDELETE",
    "ONCRMQUOTEUSERFIELDADD",
    "ONCRMQUOTEUSERFIELDUPDATE",
    "ONCRMQUOTEUSERFIELDDELETE",
    "ONCRMQUOTEUSERFIELDSETENUMVALUES",
    "ONCRMINVOICEUSERFIELDADD",
    "ONCRMINVOICEUSERFIELDUPDATE",
    "ONCRMINVOICEUSERFIELDDELETE",
    "ONCRMINVOICEUSERFIELDSETENUMVALUES",
    "ONCRMCURRENCYADD",
    "ONCRMCURRENCYUPDATE",
    "ONCRMCURRENCYDELETE",
    "ONCRMPRODUCTADD",
    "ONCRMPRODUCTUPDATE",
    "ONCRMPRODUCTDELETE",
    "ONCRMPRODUCTPROPERTYADD",
    "ONCRMPRODUCTPROPERTYUPDATE",
    "ONCRMPRODUCTPROPERTYDELETE",
    "ONCRMPRODUCTSECTIONADD",
    "ONCRMPRODUCTSECTIONUPDATE",
    "ONCRMPRODUCTSECTIONDELETE",
    "ONCRMACTIVITYADD",
    "ONCRMACTIVITYUPDATE",
    "ONCRMACTIVITYDELETE",
    "ONCRMREQUISITEADD",
    "ONCRMREQUISITEUPDATE",
    "ONCRMREQUISITEDELETE",
    "ONCRMREQUISITEUSERFIELDADD",
    "ONCRMREQUISITEUSERFIELDUPDATE",
    "ONCRMREQUISITEUSERFIELDDELETE",
    "ONCRMREQUISITEUSERFIELDSETENUMVALUES",
    "ONCRMBANKDETAILADD",
    "ONCRMBANKDETAILUPDATE",
    "ONCRMBANKDETAILDELETE",
    "ONCRMADDRESSREGISTER",
    "ONCRMADDRESSUNREGISTER",
    "ONCRMMEASUREADD",
    "ONCRMMEASUREUPDATE",
    "ONCRMMEASUREDELETE",
    "ONCRMDEALRECURRINGADD",
    "ONCRMDEALRECURRINGUPDATE",
    "ONCRMDEALRECURRINGDELETE",
    "ONCRMDEALRECURRINGEXPOSE",
    "ONCRMINVOICERECURRINGADD",
    "ONCRMINVOICERECURRINGUPDATE",
    "ONCRMINVOICERECURRINGDELETE",
    "ONCRMINVOICERECURRINGEXPOSE",
    "ONCRMTIMELINECOMMENTADD",
    "ONCRMTIMELINECOMMENTUPDATE",
    "ONCRMTIMELINECOMMENTDELETE",
    "ONCRMDYNAMICITEMADD",
    "ONCRMDYNAMICITEMUPDATE",
    "ONCRMDYNAMICITEMDELETE",
    "ONCRMTYPEADD",
    "ONCRMTYPEUPDATE",
    "ONCRMTYPEDELETE",
    "ONCRMDOCUMENTGENERATORDOCUMENTADD",
    "ONCRMDOCUMENTGENERATORDOCUMENTUPDATE",
    "ONCRMDOCUMENTGENERATORDOCUMENTDELETE",
    "ONTASKADD",
    "ONTASKUPDATE",
    "ONTASKDELETE",
    "ONTASKCOMMENTADD",
    "ONTASKCOMMENTUPDATE",
    "ONTASKCOMMENTDELETE",
    "ONCRMTYPEUSERFIELDADD",
    "ONCRMTYPEUSERFIELDUPDATE",
    "ONCRMTYPEUSERFIELDDELETE",
    "ONCRMTYPEUSERFIELDSETENUMVALUES",
];

/// The wire form of a bound name: trimmed, upper case (`onCrmDealAdd` is `ONCRMDEALADD`).
pub(crate) fn canonical(name: &str) -> String {
    name.trim().to_ascii_uppercase()
}

/// Whether an event of this (canonical) name exists: one of the documented names, or a
/// per-type smart-process event `ONCRMDYNAMICITEM{ADD|UPDATE|DELETE}_{entityTypeId}`.
pub(crate) fn is_known(name: &str) -> bool {
    if KNOWN.contains(&name) {
        return true;
    }
    ["ADD_", "UPDATE_", "DELETE_"].iter().any(|action| {
        name.strip_prefix("ONCRMDYNAMICITEM")
            .and_then(|rest| rest.strip_prefix(action))
            .is_some_and(|id| {
                !id.is_empty() && id.len() <= 10 && id.bytes().all(|b| b.is_ascii_digit())
            })
    })
}

/// Every documented name, for the `events` method.
pub(crate) fn all() -> &'static [&'static str] {
    KNOWN
}

/// The name part of a standard entity's events (`ONCRM{DEAL}ADD`): leads, deals, contacts,
/// companies, quotes. Other types (the smart invoice, smart processes) send
/// `ONCRMDYNAMICITEM*`.
pub(crate) fn standard_entity(entity_type_id: u32) -> Option<&'static str> {
    match entity_type_id {
        1 => Some("LEAD"),
        2 => Some("DEAL"),
        3 => Some("CONTACT"),
        4 => Some("COMPANY"),
        7 => Some("QUOTE"),
        _ => None,
    }
}

/// What happened to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Add,
    Update,
    Delete,
}

impl Action {
    fn word(self) -> &'static str {
        match self {
            Action::Add => "ADD",
            Action::Update => "UPDATE",
            Action::Delete => "DELETE",
        }
    }
}

/// The events of a record change: `ONCRMDEALADD {ID}` for a standard type, or
/// `ONCRMDYNAMICITEMADD {ID, ENTITY_TYPE_ID}` and its per-type twin `ONCRMDYNAMICITEMADD_{id}`.
pub(crate) fn record(entity_type_id: u32, action: Action, id: u64) -> Vec<Fired> {
    let word = action.word();
    match standard_entity(entity_type_id) {
        Some(entity) => vec![Fired {
            name: format!("ONCRM{entity}{word}"),
            data: serde_json::json!({ "FIELDS": { "ID": id } }),
            object: format!("{entity}:{id}"),
        }],
        None => {
            let data =
                serde_json::json!({ "FIELDS": { "ID": id, "ENTITY_TYPE_ID": entity_type_id } });
            vec![
                Fired {
                    name: format!("ONCRMDYNAMICITEM{word}"),
                    data: data.clone(),
                    object: format!("DYNAMICITEM:{entity_type_id}:{id}"),
                },
                Fired {
                    name: format!("ONCRMDYNAMICITEM{word}_{entity_type_id}"),
                    data,
                    object: format!("DYNAMICITEM_{entity_type_id}:{id}"),
                },
            ]
        }
    }
}

/// `ONCRMDEALMOVETOCATEGORY {ID, CATEGORY_ID, STAGE_ID}`: a deal moved to another pipeline.
pub(crate) fn deal_moved(id: u64, category_id: u64, stage_id: &str) -> Fired {
    Fired {
        name: "ONCRMDEALMOVETOCATEGORY".into(),
        data: serde_json::json!({ "FIELDS": { "ID": id, "CATEGORY_ID": category_id, "STAGE_ID": stage_id } }),
        object: format!("DEALMOVE:{id}"),
    }
}

/// What happened to a user field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldAction {
    Add,
    Update,
    Delete,
    SetEnumValues,
}

/// `ONCRM{DEAL}USERFIELD{ADD}` (`ONCRMTYPEUSERFIELD*` for the other types) with
/// `{ID, ENTITY_ID, FIELD_NAME}`.
pub(crate) fn user_field(
    entity_type_id: u32,
    action: FieldAction,
    id: u32,
    entity_id: &str,
    field_name: &str,
) -> Fired {
    let owner = standard_entity(entity_type_id).unwrap_or("TYPE");
    let word = match action {
        FieldAction::Add => "ADD",
        FieldAction::Update => "UPDATE",
        FieldAction::Delete => "DELETE",
        FieldAction::SetEnumValues => "SETENUMVALUES",
    };
    let group = if action == FieldAction::SetEnumValues {
        "ENUM"
    } else {
        "FIELD"
    };
    Fired {
        name: format!("ONCRM{owner}USERFIELD{word}"),
        data: serde_json::json!({ "FIELDS": { "ID": id, "ENTITY_ID": entity_id, "FIELD_NAME": field_name } }),
        object: format!("USERFIELD{group}:{entity_id}:{id}"),
    }
}

/// `ONCRMTYPE{ADD}` with `{ID}`: the smart-process type's own id (not its `entityTypeId`).
pub(crate) fn smart_type(action: Action, id: u32) -> Fired {
    Fired {
        name: format!("ONCRMTYPE{}", action.word()),
        data: serde_json::json!({ "FIELDS": { "ID": id } }),
        object: format!("TYPE:{id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_per_type_smart_events_are_known() {
        assert_eq!(canonical(" onCrmDealAdd "), "ONCRMDEALADD");
        assert!(is_known(&canonical("onCrmDealAdd")));
        assert!(is_known("ONAPPINSTALL") && is_known("ONOFFLINEEVENT"));
        assert!(is_known("ONCRMDYNAMICITEMUPDATE_1220"));
        assert!(!is_known("ONCRMDYNAMICITEMUPDATE_"));
        assert!(!is_known("ONCRMDYNAMICITEMUPDATE_12x"));
        assert!(!is_known("ONCRMDEALTYPO"));
    }

    #[test]
    fn record_events_name_standard_and_smart_types() {
        let deal = record(2, Action::Update, 6641);
        assert_eq!(deal.len(), 1);
        assert_eq!(deal[0].name, "ONCRMDEALUPDATE");
        assert_eq!(deal[0].data["FIELDS"]["ID"], 6641);
        let smart = record(1220, Action::Delete, 24);
        let names: Vec<&str> = smart.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["ONCRMDYNAMICITEMDELETE", "ONCRMDYNAMICITEMDELETE_1220"]
        );
        assert_eq!(smart[0].data["FIELDS"]["ENTITY_TYPE_ID"], 1220);
        assert_eq!(
            user_field(1220, FieldAction::Add, 5, "CRM_13", "UF_CRM_13_X").name,
            "ONCRMTYPEUSERFIELDADD"
        );
        assert_eq!(smart_type(Action::Add, 45).name, "ONCRMTYPEADD");
    }
}
