//! Reference data of the emulated portal: pipelines, stages, deal types, sources, industries
//! and currencies (what `crm.status.list` and `crm.category.list` return).

use serde_json::{Value, json};

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
    pub color: Option<&'static str>,
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
    pub statuses: Vec<Status>,
    pub categories: Vec<Category>,
    pub currencies: Vec<&'static str>,
    pub base_currency: &'static str,
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
        };
        c.add_stages(
            0,
            &[
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
            ],
        );
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
        c
    }

    fn add_stages(&mut self, category: u32, stages: &[(&str, &str, Semantic)]) {
        let entity = stage_entity(category);
        let mut process = 0;
        for (i, (code, name, semantic)) in stages.iter().enumerate() {
            let status_id = if category == 0 {
                (*code).to_owned()
            } else {
                format!("C{category}:{code}")
            };
            let color = match semantic {
                Semantic::Process => {
                    process += 1;
                    PROCESS_COLORS[(process - 1) % PROCESS_COLORS.len()]
                }
                Semantic::Success => "#7BD500",
                Semantic::Failure => "#FF5752",
            };
            let id = self.statuses.len() as u32 + 1;
            self.statuses.push(Status {
                id,
                entity_id: entity.clone(),
                status_id,
                name: (*name).to_owned(),
                sort: (i as u32 + 1) * 10,
                system: matches!(*code, "NEW" | "WON" | "LOSE"),
                category_id: Some(category),
                semantic: *semantic,
                color: Some(color),
            });
        }
    }

    fn add_list(&mut self, entity: &str, items: &[(&str, &str)]) {
        for (i, (code, name)) in items.iter().enumerate() {
            let id = self.statuses.len() as u32 + 1;
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
            "CATEGORY_ID": s.category_id.map(|c| Value::from(c.to_string())).unwrap_or(Value::Null),
            "COLOR": s.color.map(Value::from).unwrap_or(Value::Null),
            "SEMANTICS": match s.semantic {
                Semantic::Process => Value::Null,
                Semantic::Success => Value::from("S"),
                Semantic::Failure => Value::from("F"),
            },
        });
        if s.category_id.is_some() {
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

    /// The `crm.category.list` item of a pipeline.
    pub(crate) fn category_json(&self, c: &Category) -> Value {
        json!({
            "id": c.id,
            "name": c.name,
            "sort": c.sort,
            "entityTypeId": 2,
            "isDefault": if c.id == 0 { "Y" } else { "N" },
            "originId": "",
            "originatorId": "",
        })
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
