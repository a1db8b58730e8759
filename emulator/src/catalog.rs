//! Reference data of the emulated portal: pipelines, stages, deal types, sources, industries
//! and currencies (what `crm.status.list` and `crm.category.list` return).

use serde_json::{Value, json};

use crate::lang::Lang;

/// Stage semantics: in progress, won or lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Semantic {
    Process,
    Success,
    Failure,
}

impl Semantic {
    /// `STAGE_SEMANTIC_ID` value.
    pub(crate) fn letter(self) -> &'static str {
        match self {
            Semantic::Process => "P",
            Semantic::Success => "S",
            Semantic::Failure => "F",
        }
    }
}

/// One row of `crm.status.list`.
#[derive(Clone, Debug)]
pub(crate) struct Status {
    pub id: u32,
    pub entity_id: String,
    pub status_id: String,
    pub name: String,
    pub sort: u32,
    pub system: bool,
    pub category_id: Option<u32>,
    pub semantic: Semantic,
    pub color: Option<String>,
}

/// One deal pipeline.
#[derive(Clone, Debug)]
pub(crate) struct Category {
    pub id: u32,
    pub name: String,
    pub sort: u32,
}

/// All reference data.
#[derive(Clone, Debug)]
pub(crate) struct Catalog {
    /// Every directory's items, grouped by directory and in `SORT` order within one.
    pub statuses: Vec<Status>,
    /// Pipelines in creation order (`crm.category.list` answers them so).
    pub categories: Vec<Category>,
    pub currencies: Vec<&'static str>,
    pub base_currency: &'static str,
    /// Ids are never reused after a delete, as with the portal's auto-increment keys.
    next_status_id: u32,
    next_category_id: u32,
}

/// Directories other than deal stages, as `crm.status.entity.types` names them on a Russian
/// and on an English portal (the two editions of the page).
const LISTS: [(&str, &str, &str); 9] = [
    ("SOURCE", "Источники", "Sources"),
    ("INDUSTRY", "Сфера деятельности", "Industry"),
    ("DEAL_TYPE", "Тип сделки", "Deal type"),
    ("STATUS", "Стадии лида", "Lead stages"),
    ("QUOTE_STATUS", "Стадии предложения", "Quote stages"),
    ("CONTACT_TYPE", "Тип контакта", "Contact type"),
    ("COMPANY_TYPE", "Тип компании", "Company type"),
    ("EMPLOYEES", "Кол-во сотрудников", "Number of employees"),
    ("HONORIFIC", "Обращения", "Inquiries"),
];

/// A seeded stage: code, name, semantics.
type StageSeed = (&'static str, &'static str, Semantic);

/// The lead and quote statuses: directories with semantics, as `crm.status.entity.types`
/// gives them (`SEMANTIC_INFO`: start `NEW` / `DRAFT`, success `CONVERTED` / `APPROVED`,
/// failure `JUNK` / `DECLAINED`).
const STAGED_LISTS: &[(&str, &[StageSeed])] = &[
    (
        "STATUS",
        &[
            ("NEW", "Не обработан", Semantic::Process),
            ("IN_PROCESS", "В работе", Semantic::Process),
            ("PROCESSED", "Обработан", Semantic::Process),
            ("JUNK", "Некачественный лид", Semantic::Failure),
            ("CONVERTED", "Качественный лид", Semantic::Success),
        ],
    ),
    (
        "QUOTE_STATUS",
        &[
            ("DRAFT", "Новое", Semantic::Process),
            ("SENT", "Отправлено клиенту", Semantic::Process),
            ("APPROVED", "Подтверждено", Semantic::Success),
            ("DECLAINED", "Отклонено", Semantic::Failure),
        ],
    ),
];

/// The directories of contacts and companies and the other plain lists.
const MORE_LISTS: &[(&str, &[(&str, &str)])] = &[
    (
        "CONTACT_TYPE",
        &[
            ("CLIENT", "Клиенты"),
            ("SUPPLIER", "Поставщики"),
            ("PARTNER", "Партнеры"),
            ("OTHER", "Другое"),
        ],
    ),
    (
        "COMPANY_TYPE",
        &[
            ("CUSTOMER", "Клиент"),
            ("SUPPLIER", "Поставщик"),
            ("COMPETITOR", "Конкурент"),
            ("PARTNER", "Партнер"),
            ("OTHER", "Другое"),
        ],
    ),
    (
        "EMPLOYEES",
        &[
            ("EMPLOYEES_1", "менее 50"),
            ("EMPLOYEES_2", "50-250"),
            ("EMPLOYEES_3", "250-500"),
            ("EMPLOYEES_4", "более 500"),
        ],
    ),
    ("HONORIFIC", &[("HNR_RU_1", "Г-н"), ("HNR_RU_2", "Г-жа")]),
];

/// The stages a pipeline starts with: those of the default pipeline.
const DEFAULT_STAGES: [(&str, &str, Semantic); 8] = [
    ("NEW", "Новая", Semantic::Process),
    ("PREPARATION", "Подготовка документов", Semantic::Process),
    (
        "PREPAYMENT_INVOICE",
        "Счёт на предоплату",
        Semantic::Process,
    ),
    ("EXECUTING", "В работе", Semantic::Process),
    ("FINAL_INVOICE", "Финальный счёт", Semantic::Process),
    ("WON", "Сделка успешна", Semantic::Success),
    ("LOSE", "Сделка провалена", Semantic::Failure),
    ("APOLOGY", "Анализ причины провала", Semantic::Failure),
];

/// A new directory item (`crm.status.add`), already validated.
#[derive(Clone, Debug)]
pub(crate) struct NewStatus {
    pub entity_id: String,
    pub status_id: String,
    pub name: String,
    pub sort: u32,
    pub color: Option<String>,
    pub semantic: Semantic,
}

impl NewStatus {
    /// The directory item with this id, in pipeline `category` when it is a stage; a stage
    /// or lead / quote status (`staged`) gets the semantics' default colour when none is given.
    pub(crate) fn into_status(self, id: u32, category_id: Option<u32>, staged: bool) -> Status {
        let color = self.color.or_else(|| {
            staged.then(|| {
                match self.semantic {
                    Semantic::Process => PROCESS_COLORS[0],
                    Semantic::Success => "#7BD500",
                    Semantic::Failure => "#FF5752",
                }
                .to_owned()
            })
        });
        Status {
            id,
            entity_id: self.entity_id,
            status_id: self.status_id,
            name: self.name,
            sort: self.sort,
            system: false,
            category_id,
            semantic: self.semantic,
            color,
        }
    }
}

const PROCESS_COLORS: [&str; 5] = ["#39A8EF", "#2FC6F6", "#55D0E0", "#47E4C2", "#FFA900"];

impl Catalog {
    /// The demo portal's reference data (also used with `--fields` files).
    pub(crate) fn demo() -> Catalog {
        let mut c = Catalog {
            statuses: Vec::new(),
            categories: vec![
                Category {
                    id: 0,
                    name: "Общая".into(),
                    sort: 100,
                },
                Category {
                    id: 1,
                    name: "Дилеры".into(),
                    sort: 200,
                },
                Category {
                    id: 2,
                    name: "Тендеры".into(),
                    sort: 300,
                },
            ],
            currencies: vec!["RUB", "USD", "EUR", "KZT", "BYN", "UAH", "CNY"],
            base_currency: "RUB",
            next_status_id: 1,
            next_category_id: 3,
        };
        c.add_stages(0, &DEFAULT_STAGES);
        c.add_stages(
            1,
            &[
                ("NEW", "Новая", Semantic::Process),
                ("PREPARATION", "Согласование условий", Semantic::Process),
                ("EXECUTING", "Отгрузка", Semantic::Process),
                ("WON", "Сделка успешна", Semantic::Success),
                ("LOSE", "Сделка провалена", Semantic::Failure),
            ],
        );
        c.add_stages(
            2,
            &[
                ("NEW", "Новая", Semantic::Process),
                ("PREPARATION", "Подача заявки", Semantic::Process),
                ("EXECUTING", "Торги", Semantic::Process),
                ("WON", "Тендер выигран", Semantic::Success),
                ("LOSE", "Тендер проигран", Semantic::Failure),
            ],
        );
        c.add_list(
            "DEAL_TYPE",
            &[
                ("SALE", "Продажа"),
                ("COMPLEX", "Комплексная продажа"),
                ("GOODS", "Продажа товара"),
                ("SERVICES", "Продажа услуги"),
                ("SERVICE", "Сервисное обслуживание"),
            ],
        );
        c.add_list(
            "SOURCE",
            &[
                ("CALL", "Звонок"),
                ("EMAIL", "Электронная почта"),
                ("WEB", "Веб-сайт"),
                ("ADVERTISING", "Реклама"),
                ("PARTNER", "Существующий клиент"),
                ("RECOMMENDATION", "По рекомендации"),
                ("TRADE_SHOW", "Выставка"),
                ("WEBFORM", "CRM-форма"),
                ("CALLBACK", "Обратный звонок"),
                ("RC_GENERATOR", "Генератор продаж"),
                ("STORE", "Интернет-магазин"),
                ("OTHER", "Другое"),
            ],
        );
        c.add_list(
            "INDUSTRY",
            &[
                ("IT", "Информационные технологии"),
                ("TELECOM", "Телекоммуникации и связь"),
                ("MANUFACTURING", "Производство"),
                ("BANKING", "Банковские услуги"),
                ("CONSULTING", "Консалтинг"),
                ("FINANCE", "Финансы"),
                ("GOVERNMENT", "Правительство"),
                ("DELIVERY", "Доставка"),
                ("ENTERTAINMENT", "Развлечения"),
                ("NOTPROFIT", "Не для получения прибыли"),
                ("OTHER", "Другое"),
            ],
        );
        for (entity, items) in STAGED_LISTS {
            c.push_staged(entity, None, None, items);
        }
        for (entity, items) in MORE_LISTS {
            c.add_list(entity, items);
        }
        c
    }

    fn add_stages(&mut self, category: u32, stages: &[(&str, &str, Semantic)]) {
        let prefix = (category != 0).then(|| format!("C{category}:"));
        self.push_staged(
            &stage_entity(category),
            prefix.as_deref(),
            Some(category),
            stages,
        );
    }

    /// Adds a directory whose items have semantics and colours (pipeline stages, lead and
    /// quote statuses): status ids `{prefix}{CODE}`, sort 10, 20, ..., `NEW`, `WON`, `LOSE`
    /// and the lead and quote statuses' first and final items system ones.
    fn push_staged(
        &mut self,
        entity: &str,
        prefix: Option<&str>,
        category: Option<u32>,
        stages: &[(&str, &str, Semantic)],
    ) {
        let mut process = 0;
        for (i, (code, name, semantic)) in stages.iter().enumerate() {
            let color = match semantic {
                Semantic::Process => {
                    process += 1;
                    PROCESS_COLORS[(process - 1) % PROCESS_COLORS.len()]
                }
                Semantic::Success => "#7BD500",
                Semantic::Failure => "#FF5752",
            };
            let system = match category {
                Some(_) => matches!(*code, "NEW" | "WON" | "LOSE"),
                None => i == 0 || *semantic != Semantic::Process,
            };
            let id = self.take_status_id();
            self.statuses.push(Status {
                id,
                entity_id: entity.to_owned(),
                status_id: format!("{}{code}", prefix.unwrap_or_default()),
                name: (*name).to_owned(),
                sort: (i as u32 + 1) * 10,
                system,
                category_id: category,
                semantic: *semantic,
                color: Some(color.to_owned()),
            });
        }
    }

    fn add_list(&mut self, entity: &str, items: &[(&str, &str)]) {
        for (i, (code, name)) in items.iter().enumerate() {
            let id = self.take_status_id();
            self.statuses.push(Status {
                id,
                entity_id: entity.to_owned(),
                status_id: (*code).to_owned(),
                name: (*name).to_owned(),
                sort: (i as u32 + 1) * 10,
                system: i == 0,
                category_id: None,
                semantic: Semantic::Process,
                color: None,
            });
        }
    }

    /// A new directory item id (never reused, shared with the smart processes' stages).
    pub(crate) fn take_status_id(&mut self) -> u32 {
        let id = self.next_status_id;
        self.next_status_id += 1;
        id
    }

    /// Restores the order of `statuses` after a change: a directory keeps the place of its
    /// first item, items within one go by `SORT` (ties keep their order).
    fn resort(&mut self) {
        let mut firsts: Vec<&str> = Vec::new();
        for s in &self.statuses {
            if !firsts.contains(&s.entity_id.as_str()) {
                firsts.push(&s.entity_id);
            }
        }
        let rank: Vec<String> = firsts.into_iter().map(str::to_owned).collect();
        self.statuses.sort_by_key(|s| {
            let r = rank.iter().position(|e| *e == s.entity_id);
            (r, s.sort)
        });
    }

    /// The directory item with this `ID`.
    pub(crate) fn status(&self, id: u32) -> Option<&Status> {
        self.statuses.iter().find(|s| s.id == id)
    }

    /// The pipeline a deal-stage directory belongs to (`DEAL_STAGE` 0, `DEAL_STAGE_{n}` n),
    /// if that pipeline exists; `None` for other directories.
    pub(crate) fn stage_category(&self, entity: &str) -> Option<u32> {
        let id = if entity == "DEAL_STAGE" {
            0
        } else {
            entity.strip_prefix("DEAL_STAGE_")?.parse().ok()?
        };
        self.has_category(id).then_some(id)
    }

    /// Whether the portal has this directory.
    pub(crate) fn has_entity(&self, entity: &str) -> bool {
        self.stage_category(entity).is_some() || LISTS.iter().any(|(id, ..)| *id == entity)
    }

    /// The items of one directory in `SORT` order (`DEAL_STAGE` is the default pipeline).
    pub(crate) fn items<'a>(&'a self, entity: &'a str) -> impl Iterator<Item = &'a Status> {
        self.statuses.iter().filter(move |s| s.entity_id == entity)
    }

    /// Adds a directory item (`crm.status.add`, checked by the caller); returns its `ID`.
    pub(crate) fn add_status(&mut self, new: NewStatus) -> u32 {
        let id = self.take_status_id();
        let category_id = self.stage_category(&new.entity_id);
        let staged = category_id.is_some() || is_staged_directory(&new.entity_id);
        self.statuses.push(new.into_status(id, category_id, staged));
        self.resort();
        id
    }

    /// Changes a directory item's name, sort or color (`crm.status.update`); false when there
    /// is no such item.
    pub(crate) fn update_status(
        &mut self,
        id: u32,
        name: Option<String>,
        sort: Option<u32>,
        color: Option<String>,
    ) -> bool {
        let Some(s) = self.statuses.iter_mut().find(|s| s.id == id) else {
            return false;
        };
        set(&mut s.name, name);
        set(&mut s.sort, sort);
        set(&mut s.color, color.map(Some));
        self.resort();
        true
    }

    /// Removes a directory item.
    pub(crate) fn remove_status(&mut self, id: u32) {
        self.statuses.retain(|s| s.id != id);
    }

    /// The pipeline with this id.
    pub(crate) fn category(&self, id: u32) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// Adds a deal pipeline with the default pipeline's stages; returns its id.
    pub(crate) fn add_category(&mut self, name: String, sort: u32) -> u32 {
        let id = self.next_category_id;
        self.next_category_id += 1;
        self.categories.push(Category { id, name, sort });
        self.add_stages(id, &DEFAULT_STAGES);
        id
    }

    /// Changes a pipeline's name and sort; false when there is no such pipeline.
    pub(crate) fn update_category(
        &mut self,
        id: u32,
        name: Option<String>,
        sort: Option<u32>,
    ) -> bool {
        let Some(c) = self.categories.iter_mut().find(|c| c.id == id) else {
            return false;
        };
        set(&mut c.name, name);
        set(&mut c.sort, sort);
        true
    }

    /// Removes a pipeline and its stages.
    pub(crate) fn remove_category(&mut self, id: u32) {
        self.categories.retain(|c| c.id != id);
        self.statuses.retain(|s| s.category_id != Some(id));
    }

    /// The `crm.status.entity.types` result: the lists, then each pipeline's stages with the
    /// default pipeline last, as in the documented example (`CATEGORY_ID` a string for a
    /// pipeline, the number 0 for the default one); names in the portal's language.
    pub(crate) fn entity_types_json(&self, lang: Lang) -> Value {
        let semantic_info = |entity: &str| {
            let first = |want: Option<Semantic>| {
                self.items(entity)
                    .find(|s| want.is_none_or(|w| s.semantic == w))
                    .map(|s| s.status_id.clone())
                    .unwrap_or_default()
            };
            json!({
                "START_FIELD": first(None),
                "FINAL_SUCCESS_FIELD": first(Some(Semantic::Success)),
                "FINAL_UNSUCCESS_FIELD": first(Some(Semantic::Failure)),
                "FINAL_SORT": 0,
            })
        };
        let mut out: Vec<Value> = LISTS
            .iter()
            .map(|(id, ru, en)| {
                let mut t = json!({"ID": id, "NAME": if lang == Lang::En { en } else { ru }});
                let owner = match *id {
                    "STATUS" => Some(1),
                    "QUOTE_STATUS" => Some(7),
                    _ => None,
                };
                if let Some(owner) = owner {
                    t["SEMANTIC_INFO"] = semantic_info(id);
                    t["ENTITY_TYPE_ID"] = json!(owner);
                }
                t
            })
            .collect();
        let pipelines = self.categories.iter().filter(|c| c.id != 0);
        for c in pipelines.chain(self.categories.iter().filter(|c| c.id == 0)) {
            let mut t = json!({
                "ID": stage_entity(c.id),
                "NAME": match lang {
                    Lang::Ru => format!("Стадии сделки {}", c.name),
                    Lang::En => format!("{} deal stages", c.name),
                },
            });
            if c.id != 0 {
                t["PARENT_ID"] = json!("DEAL_STAGE");
            }
            t["SEMANTIC_INFO"] = semantic_info(&stage_entity(c.id));
            if c.id != 0 {
                t["PREFIX"] = json!(format!("C{}", c.id));
                t["FIELD_ATTRIBUTE_SCOPE"] = json!(format!("category_{}", c.id));
            } else {
                t["FIELD_ATTRIBUTE_SCOPE"] = json!("");
            }
            t["ENTITY_TYPE_ID"] = json!(2);
            t["CATEGORY_ID"] = if c.id == 0 {
                json!(0)
            } else {
                json!(c.id.to_string())
            };
            out.push(t);
        }
        Value::Array(out)
    }

    /// Stages of a pipeline, in sort order.
    pub(crate) fn stages(&self, category: u32) -> impl Iterator<Item = &Status> {
        self.statuses
            .iter()
            .filter(move |s| s.category_id == Some(category))
    }

    /// The first stage of a pipeline.
    pub(crate) fn first_stage(&self, category: u32) -> Option<&Status> {
        self.stages(category).next()
    }

    /// The stage with this id, if it belongs to the pipeline.
    pub(crate) fn stage_in(&self, category: u32, stage_id: &str) -> Option<&Status> {
        self.stages(category).find(|s| s.status_id == stage_id)
    }

    /// Whether a pipeline exists.
    pub(crate) fn has_category(&self, id: u32) -> bool {
        self.categories.iter().any(|c| c.id == id)
    }

    /// Status ids of a reference list (`DEAL_TYPE`, `SOURCE`, `DEAL_STAGE`, `INDUSTRY`, ...).
    /// `DEAL_STAGE` means the stages of every pipeline.
    pub(crate) fn values(&self, entity: &str) -> Vec<&str> {
        self.statuses
            .iter()
            .filter(|s| {
                if entity == "DEAL_STAGE" {
                    s.category_id.is_some()
                } else {
                    s.entity_id == entity
                }
            })
            .map(|s| s.status_id.as_str())
            .collect()
    }

    /// The `crm.status.list` row of a status.
    pub(crate) fn status_json(&self, s: &Status) -> Value {
        let mut row = json!({
            "ID": s.id.to_string(),
            "ENTITY_ID": s.entity_id,
            "STATUS_ID": s.status_id,
            "NAME": s.name,
            "NAME_INIT": if s.system { Value::from(s.name.clone()) } else { Value::from("") },
            "SORT": s.sort.to_string(),
            "SYSTEM": if s.system { "Y" } else { "N" },
            // null for the default pipeline's stages, as in the documented list.
            "CATEGORY_ID": s.category_id.filter(|&c| c != 0).map(|c| Value::from(c.to_string())).unwrap_or(Value::Null),
            "COLOR": s.color.clone().map(Value::from).unwrap_or(Value::Null),
            "SEMANTICS": match s.semantic {
                Semantic::Process => Value::Null,
                Semantic::Success => Value::from("S"),
                Semantic::Failure => Value::from("F"),
            },
        });
        if s.category_id.is_some() || is_staged_directory(&s.entity_id) {
            row["EXTRA"] = json!({
                "SEMANTICS": match s.semantic {
                    Semantic::Process => "process",
                    Semantic::Success => "success",
                    Semantic::Failure => "failure",
                },
                "COLOR": s.color,
            });
        }
        row
    }

    /// The `crm.category.list` / `get` item of a pipeline. The default pipeline has no
    /// `originId` / `originatorId`, as in the documented list.
    pub(crate) fn category_json(&self, c: &Category) -> Value {
        let mut v = json!({
            "id": c.id,
            "name": c.name,
            "sort": c.sort,
            "entityTypeId": 2,
            "isDefault": if c.id == 0 { "Y" } else { "N" },
        });
        if c.id != 0 {
            v["originId"] = json!("");
            v["originatorId"] = json!("");
        }
        v
    }
}

/// Replaces `slot` when a new value is given.
fn set<T>(slot: &mut T, new: Option<T>) {
    if let Some(v) = new {
        *slot = v;
    }
}

/// `DEAL_STAGE` or `DEAL_STAGE_{n}`.
pub(crate) fn stage_entity(category: u32) -> String {
    if category == 0 {
        "DEAL_STAGE".to_owned()
    } else {
        format!("DEAL_STAGE_{category}")
    }
}

/// The lead statuses' directory, staged outside the pipelines.
pub(crate) const LEAD_STATUS: &str = "STATUS";
/// The quote statuses' directory, staged outside the pipelines.
pub(crate) const QUOTE_STATUS: &str = "QUOTE_STATUS";

/// Whether a directory has stage semantics outside the pipelines (see
/// [`staged_owner`](crate::entities::staged_owner) for its entity).
pub(crate) fn is_staged_directory(entity: &str) -> bool {
    entity == LEAD_STATUS || entity == QUOTE_STATUS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelines_and_stages() {
        let c = Catalog::demo();
        assert_eq!(c.first_stage(0).unwrap().status_id, "NEW");
        assert_eq!(c.first_stage(1).unwrap().status_id, "C1:NEW");
        assert!(c.stage_in(1, "C1:NEW").is_some());
        assert!(c.stage_in(1, "NEW").is_none());
        assert_eq!(
            c.stage_in(0, "WON").unwrap().semantic.letter(),
            Semantic::Success.letter()
        );
        assert!(c.values("DEAL_TYPE").contains(&"COMPLEX"));
        assert!(c.values("DEAL_STAGE").contains(&"C2:WON"));
    }
}
