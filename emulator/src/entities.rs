//! The CRM entity types the portal serves, in one place: their `entityTypeId`s, legacy method
//! prefixes, user-field entity names and messages, the demo portal's definitions of each
//! (field lists from the documentation's `crm.<entity>.fields` / `crm.item.fields` examples,
//! in `portals/demo-*.json`), and the correspondence between legacy field codes (`DATE_CREATE`)
//! and `crm.item.*` names (`createdTime`).

use serde_json::Value;

use crate::catalog::{Category, Semantic, Status};
use crate::lang::Lang;

/// `entityTypeId` of leads.
pub(crate) const LEAD: u32 = 1;
/// `entityTypeId` of deals.
pub(crate) const DEAL: u32 = 2;
/// `entityTypeId` of contacts.
pub(crate) const CONTACT: u32 = 3;
/// `entityTypeId` of companies.
pub(crate) const COMPANY: u32 = 4;
/// `entityTypeId` of quotes (estimates).
pub(crate) const QUOTE: u32 = 7;
/// `entityTypeId` of smart invoices.
pub(crate) const SMART_INVOICE: u32 = 31;

/// The demo portal's definitions besides deals: `(entityTypeId, snapshot)`.
pub(crate) const DEMO_ENTITIES: &[(u32, &str)] = &[
    (LEAD, include_str!("../portals/demo-lead.json")),
    (CONTACT, include_str!("../portals/demo-contact.json")),
    (COMPANY, include_str!("../portals/demo-company.json")),
    (QUOTE, include_str!("../portals/demo-quote.json")),
    (
        SMART_INVOICE,
        include_str!("../portals/demo-smart-invoice.json"),
    ),
    (153, include_str!("../portals/demo-contracts.json")),
    (1220, include_str!("../portals/demo-projects.json")),
];

/// The field set of a smart process made by `crm.type.add` (as `crm.item.fields` shows it,
/// with `DYNAMIC_0_STAGE_0` for its stages).
const SMART_PROCESS_TEMPLATE: &str = include_str!("../portals/demo-smart-process.json");

/// The snapshot of a new smart process: the template with its own stage directory, without
/// pipeline and stage fields when those are off.
pub(crate) fn smart_process_snapshot(
    entity_type_id: u32,
    category: u32,
    categories: bool,
    stages: bool,
) -> Value {
    let mut v: Value =
        serde_json::from_str(SMART_PROCESS_TEMPLATE).expect("the smart process template is JSON");
    if let Some(fields) = v.get_mut("fields").and_then(Value::as_object_mut) {
        if !categories {
            fields.remove("categoryId");
        }
        if !stages {
            for k in ["stageId", "previousStageId", "movedTime", "movedBy"] {
                fields.remove(k);
            }
        }
        for k in ["stageId", "previousStageId"] {
            if let Some(t) = fields.get_mut(k).and_then(|d| d.get_mut("statusType")) {
                *t = Value::String(stage_entity_id(entity_type_id, category));
            }
        }
    }
    v
}

/// A smart process as `crm.type.*` shows it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SmartType {
    /// The type's own id (`crm.type.get {id}`; user fields are `UF_CRM_{id}_...`).
    pub id: u32,
    pub title: String,
    pub categories: bool,
    pub stages: bool,
}

/// A pipeline (category) of a smart process or of the smart invoice, with its stages.
#[derive(Clone, Debug)]
pub(crate) struct Pipeline {
    pub category: Category,
    pub is_default: bool,
    /// In `SORT` order; `entity_id` is `DYNAMIC_{type}_STAGE_{category}`.
    pub stages: Vec<Status>,
}

/// The stage directory of a pipeline: `DYNAMIC_1220_STAGE_5`, `SMART_INVOICE_STAGE_3`.
pub(crate) fn stage_entity_id(entity_type_id: u32, category: u32) -> String {
    if entity_type_id == SMART_INVOICE {
        format!("SMART_INVOICE_STAGE_{category}")
    } else {
        format!("DYNAMIC_{entity_type_id}_STAGE_{category}")
    }
}

/// Directory item ids of smart-process stages start here (apart from `crm.status.add`'s).
const FIRST_SMART_STATUS_ID: u32 = 100_000;

impl Pipeline {
    /// The default pipeline a smart process (or the smart invoice) starts with: stage ids
    /// `DT{type}_{category}:{CODE}`.
    pub(crate) fn default_for(entity_type_id: u32, category: u32, lang: Lang) -> Pipeline {
        let stages: &[(&str, &str, &str, Semantic)] = if entity_type_id == SMART_INVOICE {
            &[
                ("N", "Новый", "New", Semantic::Process),
                (
                    "S",
                    "Отправлен клиенту",
                    "Sent to client",
                    Semantic::Process,
                ),
                ("P", "Оплачен", "Paid", Semantic::Success),
                ("D", "Не оплачен", "Unpaid", Semantic::Failure),
            ]
        } else {
            &[
                ("NEW", "Начало", "Start", Semantic::Process),
                (
                    "PREPARATION",
                    "Подготовка",
                    "Preparation",
                    Semantic::Process,
                ),
                ("CLIENT", "Согласование", "Approval", Semantic::Process),
                ("SUCCESS", "Успех", "Success", Semantic::Success),
                ("FAIL", "Провал", "Failure", Semantic::Failure),
            ]
        };
        let entity_id = stage_entity_id(entity_type_id, category);
        let stages = stages
            .iter()
            .enumerate()
            .map(|(n, (code, ru, en, semantic))| Status {
                id: FIRST_SMART_STATUS_ID + category * 100 + n as u32,
                entity_id: entity_id.clone(),
                status_id: format!("DT{entity_type_id}_{category}:{code}"),
                name: (if lang == Lang::En { *en } else { *ru }).to_owned(),
                sort: (n as u32 + 1) * 10,
                system: n == 0 || *semantic != Semantic::Process,
                category_id: Some(category),
                semantic: *semantic,
                color: Some(
                    match semantic {
                        Semantic::Process => "#39A8EF",
                        Semantic::Success => "#7BD500",
                        Semantic::Failure => "#FF5752",
                    }
                    .to_owned(),
                ),
            })
            .collect();
        Pipeline {
            category: Category {
                id: category,
                name: (if lang == Lang::En {
                    "General"
                } else {
                    "Общая"
                })
                .to_owned(),
                sort: 500,
            },
            is_default: true,
            stages,
        }
    }

    /// The `crm.category.*` form.
    pub(crate) fn json(&self, entity_type_id: u32) -> Value {
        serde_json::json!({
            "id": self.category.id,
            "name": self.category.name,
            "sort": self.category.sort,
            "entityTypeId": entity_type_id,
            "isDefault": if self.is_default { "Y" } else { "N" },
        })
    }

    /// The stage with this id, if it is one of this pipeline's.
    pub(crate) fn stage(&self, status_id: &str) -> Option<&Status> {
        self.stages.iter().find(|s| s.status_id == status_id)
    }
}

/// How a missing record is reported by one legacy method.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Missing {
    /// The error code (`""` for most, `ERROR_CORE` for some deletes).
    pub code: &'static str,
    pub message: &'static str,
}

const NOT_FOUND: Missing = Missing {
    code: "",
    message: "Not found",
};

/// One CRM entity type.
#[derive(Clone, Debug)]
pub(crate) struct Entity {
    pub type_id: u32,
    /// `crm.lead`, ...; `None` for the types that exist only on `crm.item.*`.
    pub legacy: Option<&'static str>,
    /// `ENTITY_ID` of its user fields: `CRM_LEAD`, ..., `CRM_{id}` for a smart process.
    pub uf_entity: String,
    /// The prefix of its user field names: `UF_CRM_`, or `UF_CRM_{id}_` for a smart process.
    pub uf_prefix: String,
    /// The smart-process record, for `crm.type.*` (also set for smart invoices).
    pub smart: Option<SmartType>,
    /// Pipelines of a smart process with stages (deals use the catalog's); the first is the
    /// default one.
    pub pipelines: Vec<Pipeline>,
    /// `crm.<entity>.update` on a missing record.
    pub update_missing: Missing,
    /// `crm.<entity>.delete` on a missing record.
    pub delete_missing: Missing,
}

impl Entity {
    /// A type served on both APIs (`crm.lead.*` and `crm.item.*`).
    pub(crate) fn standard(type_id: u32) -> Option<Entity> {
        let (legacy, uf, update_missing, delete_missing) = match type_id {
            LEAD => ("crm.lead", "CRM_LEAD", NOT_FOUND, NOT_FOUND),
            DEAL => ("crm.deal", "CRM_DEAL", NOT_FOUND, NOT_FOUND),
            CONTACT => (
                "crm.contact",
                "CRM_CONTACT",
                Missing {
                    code: "",
                    message: "Contact is not found",
                },
                Missing {
                    code: "ERROR_CORE",
                    message: "Element not found",
                },
            ),
            COMPANY => {
                let m = Missing {
                    code: "",
                    message: "Company is not found",
                };
                ("crm.company", "CRM_COMPANY", m, m)
            }
            QUOTE => (
                "crm.quote",
                "CRM_QUOTE",
                Missing {
                    code: "",
                    message: "Quote is not found",
                },
                Missing {
                    code: "ERROR_CORE",
                    message: "Element not found",
                },
            ),
            _ => return None,
        };
        Some(Entity {
            type_id,
            legacy: Some(legacy),
            uf_entity: uf.to_owned(),
            uf_prefix: "UF_CRM_".to_owned(),
            smart: None,
            pipelines: Vec::new(),
            update_missing,
            delete_missing,
        })
    }

    /// A type served only on `crm.item.*`: a smart process or the smart invoice, with its
    /// default pipeline `category` when it has stages.
    pub(crate) fn smart(
        type_id: u32,
        smart: SmartType,
        category: Option<u32>,
        lang: Lang,
    ) -> Entity {
        Entity {
            type_id,
            legacy: None,
            uf_entity: format!("CRM_{}", smart.id),
            uf_prefix: format!("UF_CRM_{}_", smart.id),
            pipelines: category
                .into_iter()
                .map(|c| Pipeline::default_for(type_id, c, lang))
                .collect(),
            smart: Some(smart),
            update_missing: NOT_FOUND,
            delete_missing: NOT_FOUND,
        }
    }

    /// The entity a snapshot describes (`entity.entity_type_id`, `title`, `id`; the default
    /// pipeline's id from the stage field's `statusType`).
    pub(crate) fn of_snapshot(type_id: u32, snapshot: &Value, lang: Lang) -> Entity {
        if let Some(e) = Entity::standard(type_id) {
            return e;
        }
        let entity = snapshot.get("entity");
        let text = |k: &str| entity.and_then(|e| e.get(k)).and_then(Value::as_str);
        let fields = snapshot.get("fields");
        let categories = fields.is_some_and(|f| f.get("categoryId").is_some());
        let category = fields
            .and_then(|f| f.get("stageId"))
            .and_then(|d| d.get("statusType"))
            .and_then(Value::as_str)
            .and_then(|t| t.rsplit('_').next())
            .and_then(|n| n.parse().ok());
        Entity::smart(
            type_id,
            SmartType {
                id: entity
                    .and_then(|e| e.get("id"))
                    .and_then(Value::as_u64)
                    .map_or(type_id, |id| id as u32),
                title: text("title").unwrap_or("Smart process").to_owned(),
                categories,
                stages: fields.is_some_and(|f| f.get("stageId").is_some()),
            },
            category,
            lang,
        )
    }

    /// The title a record gets when none is given (`Сделка #12`), if the type has one.
    pub(crate) fn default_title(&self, lang: Lang, id: u32) -> Option<String> {
        let (ru, en) = match self.type_id {
            DEAL => return Some(lang.default_deal_title(id)),
            LEAD => ("Лид", "Lead"),
            QUOTE => ("Предложение", "Estimate"),
            SMART_INVOICE => ("Счёт", "Invoice"),
            _ if self.smart.is_some() => {
                let t = self.smart.as_ref().map_or("", |s| s.title.as_str());
                return Some(format!("{t} #{id}"));
            }
            _ => return None,
        };
        Some(match lang {
            Lang::Ru => format!("{ru} #{id}"),
            Lang::En => format!("{en} #{id}"),
        })
    }
}

/// The entity type whose status a directory with semantics outside the pipelines holds
/// (`STATUS`: leads, `QUOTE_STATUS`: quotes).
pub(crate) fn staged_owner(entity: &str) -> Option<u32> {
    match entity {
        crate::catalog::LEAD_STATUS => Some(LEAD),
        crate::catalog::QUOTE_STATUS => Some(QUOTE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_entity_loads() {
        for (id, text) in DEMO_ENTITIES {
            let v: Value = serde_json::from_str(text).unwrap();
            let e = Entity::of_snapshot(*id, &v, Lang::Ru);
            assert_eq!(e.type_id, *id);
            assert_eq!(e.legacy.is_some(), *id < 10, "{id}");
        }
    }
}
