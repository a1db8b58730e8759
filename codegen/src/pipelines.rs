//! The model of the pipeline, stage and dictionary enums generated from a snapshot's
//! [`Catalog`](crate::catalog::Catalog): what [`crate::expand`] turns into `DealCategory`,
//! `DealStage`, `DealStage<Pipeline>`, `DealSource`, `DealCurrency`, ...
//!
//! Nothing here exists for a snapshot that does not record the catalog: such snapshots
//! generate exactly as before.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{self, Semantics};
use crate::naming;
use crate::snapshot::{Descriptor, Snapshot};

/// The generated enums of one entity's pipelines, stages and dictionaries.
#[derive(Debug, Clone, Default)]
pub struct CatalogModel {
    /// The category enum (`DealCategory`), when the snapshot records pipelines and the entity
    /// has a `CATEGORY_ID` field.
    pub category: Option<CategoryEnum>,
    /// The stage enums, when the snapshot records pipelines and the entity has a `STAGE_ID`
    /// field.
    pub stages: Option<StageEnums>,
    /// The dictionary enums (`crm_status` directories and currencies), one per directory.
    pub dictionaries: Vec<DictEnum>,
    /// Field code -> the generated enum its values decode into.
    pub field_enums: BTreeMap<String, FieldEnum>,
}

/// Which generated enum a field decodes into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldEnum {
    /// The category enum (codec `Pipeline<E>`).
    Category(String),
    /// A stage or dictionary enum (codec `Enum<E>`).
    Status(String),
}

/// `DealCategory`.
#[derive(Debug, Clone)]
pub struct CategoryEnum {
    /// Type name.
    pub ident: String,
    /// One per pipeline, in portal order.
    pub variants: Vec<CategoryVariant>,
}

/// One pipeline.
#[derive(Debug, Clone)]
pub struct CategoryVariant {
    /// Variant name (`Dilery`, or renamed).
    pub variant: String,
    /// Category id.
    pub id: u64,
    /// The pipeline's name on the portal.
    pub name: String,
}

/// `DealStage` and one `DealStage<Pipeline>` per pipeline.
#[derive(Debug, Clone)]
pub struct StageEnums {
    /// The enum over all pipelines (`DealStage`).
    pub ident: String,
    /// The pipelines.
    pub pipelines: Vec<PipelineStages>,
    /// The pipeline of a stage id without a `C{n}:` / `DT{t}_{n}:` prefix.
    pub default_category: u64,
}

/// The stages of one pipeline.
#[derive(Debug, Clone)]
pub struct PipelineStages {
    /// The variant of the all-pipelines enum, the same as the category variant (`Dilery`).
    pub variant: String,
    /// The per-pipeline enum (`DealStageDilery`).
    pub ident: String,
    /// Category id.
    pub category: u64,
    /// The pipeline's name.
    pub name: String,
    /// Its stages in portal order.
    pub stages: Vec<StageVariant>,
}

/// One stage.
#[derive(Debug, Clone)]
pub struct StageVariant {
    /// Variant name.
    pub variant: String,
    /// Stage id (`C1:NEW`).
    pub code: String,
    /// Stage name.
    pub name: String,
    /// Its semantics, when the snapshot says.
    pub semantics: Option<Semantics>,
}

/// A dictionary enum (`DealSource`, `LeadStatus`, `DealCurrency`).
#[derive(Debug, Clone)]
pub struct DictEnum {
    /// Type name.
    pub ident: String,
    /// The directory (`SOURCE`), or `CURRENCY` for currencies.
    pub directory: String,
    /// Currencies (`CurrencyId`) rather than a `crm_status` directory (`StatusId`).
    pub currency: bool,
    /// (variant, id, name) in portal order.
    pub items: Vec<(String, String, String)>,
}

/// Renames of catalog items: field code -> item id -> (name, rename index).
pub type CatalogRenames<'a> = BTreeMap<String, BTreeMap<&'a str, (String, usize)>>;

/// The items a rename of field `code` may name, when the field decodes into a catalog enum:
/// `(id, label)` of each category, stage, dictionary item or currency.
pub fn rename_targets(snapshot: &Snapshot, d: &Descriptor<'_>) -> Option<Vec<(String, String)>> {
    rename_targets_raw(snapshot, d).map(|items| first_of_each(items, |(id, _)| id.clone()))
}

fn rename_targets_raw(snapshot: &Snapshot, d: &Descriptor<'_>) -> Option<Vec<(String, String)>> {
    let cat = &snapshot.catalog;
    match d.field_type() {
        "crm_category" if d.code == "CATEGORY_ID" => {
            cat.pipelines.as_ref()?;
            Some(
                cat.categories()
                    .iter()
                    .map(|(c, _)| (c.id.to_string(), c.name.to_owned()))
                    .collect(),
            )
        }
        "crm_status" if d.code == "STAGE_ID" => {
            cat.pipelines.as_ref()?;
            Some(
                cat.categories()
                    .iter()
                    .flat_map(|(_, p)| catalog::Catalog::stages(p))
                    .map(|s| (s.status_id.to_owned(), s.name.to_owned()))
                    .collect(),
            )
        }
        "crm_status" => {
            let t = d.status_type()?;
            if catalog::is_stage_directory(t) {
                return None;
            }
            Some(
                cat.dictionary(t)?
                    .iter()
                    .map(|s| (s.status_id.to_owned(), s.name.to_owned()))
                    .collect(),
            )
        }
        "crm_currency" => Some(
            cat.currency_list()?
                .iter()
                .map(|c| (c.code.to_owned(), c.name.to_owned()))
                .collect(),
        ),
        _ => None,
    }
}

/// `items` without the later repeats of an id (a portal answering a stage or pipeline twice
/// must not give the generated `match` two arms for one id).
fn first_of_each<T>(items: Vec<T>, id: impl Fn(&T) -> String) -> Vec<T> {
    let mut seen = BTreeSet::new();
    items.into_iter().filter(|t| seen.insert(id(t))).collect()
}

/// A readable variant name: the pascal-cased text, else `fallback` pascal-cased, `V`-prefixed
/// when it would start with a digit, `_`-suffixed for keywords, and told apart from names in
/// `seen` by the id.
fn variant_name(text: &str, id: &str, seen: &mut BTreeSet<String>) -> String {
    let mut name = match naming::pascal_case(text) {
        p if p.is_empty() => format!("Item{}", naming::pascal_case(id)),
        p => p,
    };
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name = format!("V{name}");
    }
    if name.is_empty() {
        name = "Item".to_owned();
    }
    if naming::is_keyword(&name) {
        name.push('_');
    }
    if !seen.insert(name.clone()) {
        name = format!("{name}{}", naming::pascal_case(id));
        let mut n = 2;
        let base = name.clone();
        while !seen.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
    }
    name
}

/// Names the items (`(id, label)`) of one enum, renames first.
fn name_items(
    items: &[(String, String)],
    renames: Option<&BTreeMap<&str, (String, usize)>>,
    auto: impl Fn(&str, &str) -> String,
) -> Vec<String> {
    let mut seen: BTreeSet<String> = ["Other".to_owned(), "ALL".to_owned()].into();
    for (name, _) in renames.into_iter().flat_map(|r| r.values()) {
        seen.insert(name.clone());
    }
    items
        .iter()
        .map(
            |(id, label)| match renames.and_then(|r| r.get(id.as_str())) {
                Some((name, _)) => name.clone(),
                None => variant_name(&auto(id, label), id, &mut seen),
            },
        )
        .collect()
}

/// A stage's automatic name: its code's readable part (`C1:PREPAYMENT_INVOICE` ->
/// `PrepaymentInvoice`), else (custom stages, `UC_K3J2LA`) its name transliterated.
fn stage_text(code: &str, name: &str) -> String {
    let suffix = code.rsplit(':').next().unwrap_or(code);
    let readable = !suffix.is_empty()
        && !suffix.starts_with("UC_")
        && suffix.chars().all(|c| c.is_ascii_alphabetic() || c == '_');
    if readable || name.trim().is_empty() {
        suffix.to_owned()
    } else {
        name.to_owned()
    }
}

/// The name of a directory's enum: the read model's name and the directory without the
/// entity's own prefix (`DEAL_TYPE` of `Deal` -> `DealType`, `SOURCE` -> `DealSource`).
fn dictionary_ident(read: &str, entity: &str, directory: &str) -> String {
    let upper = format!("{}_", entity.to_ascii_uppercase());
    let rest = directory.strip_prefix(&upper).unwrap_or(directory);
    format!("{read}{}", naming::pascal_case(rest))
}

/// Builds the catalog model of a snapshot for the read model `read`; `renames` are the
/// catalog item renames by field code. Fields that take no catalog enum keep their mapping.
pub fn build(snapshot: &Snapshot, read: &str, renames: &CatalogRenames<'_>) -> CatalogModel {
    let mut model = CatalogModel::default();
    let cat = &snapshot.catalog;
    let descriptors: Vec<Descriptor<'_>> = snapshot.descriptors().collect();
    let has = |code: &str, ty: &str| {
        descriptors
            .iter()
            .any(|d| d.code == code && d.field_type() == ty && !d.is_multiple())
    };
    if cat.pipelines.is_some() {
        let categories = first_of_each(cat.categories(), |(c, _)| c.id.to_string());
        let items: Vec<(String, String)> = categories
            .iter()
            .map(|(c, _)| (c.id.to_string(), c.name.to_owned()))
            .collect();
        let names = name_items(&items, renames.get("CATEGORY_ID"), |_, label| {
            label.to_owned()
        });
        if has("CATEGORY_ID", "crm_category") {
            let ident = format!("{read}Category");
            model.category = Some(CategoryEnum {
                ident: ident.clone(),
                variants: categories
                    .iter()
                    .zip(&names)
                    .map(|((c, _), v)| CategoryVariant {
                        variant: v.clone(),
                        id: c.id,
                        name: c.name.to_owned(),
                    })
                    .collect(),
            });
            model
                .field_enums
                .insert("CATEGORY_ID".into(), FieldEnum::Category(ident));
        }
        if has("STAGE_ID", "crm_status") {
            let ident = format!("{read}Stage");
            let stage_renames = renames.get("STAGE_ID");
            let pipelines = categories
                .iter()
                .zip(&names)
                .map(|((c, p), v)| {
                    let stages =
                        first_of_each(catalog::Catalog::stages(p), |s| s.status_id.to_owned());
                    let items: Vec<(String, String)> = stages
                        .iter()
                        .map(|s| (s.status_id.to_owned(), s.name.to_owned()))
                        .collect();
                    let stage_names = name_items(&items, stage_renames, stage_text);
                    PipelineStages {
                        variant: v.clone(),
                        ident: format!("{ident}{v}"),
                        category: c.id,
                        name: c.name.to_owned(),
                        stages: stages
                            .iter()
                            .zip(stage_names)
                            .map(|(s, variant)| StageVariant {
                                variant,
                                code: s.status_id.to_owned(),
                                name: s.name.to_owned(),
                                semantics: s.semantics,
                            })
                            .collect(),
                    }
                })
                .collect();
            let default_category = categories
                .iter()
                .find(|(c, _)| c.is_default)
                .map_or(0, |(c, _)| c.id);
            model.stages = Some(StageEnums {
                ident: ident.clone(),
                pipelines,
                default_category,
            });
            model
                .field_enums
                .insert("STAGE_ID".into(), FieldEnum::Status(ident));
        }
    }
    let mut by_directory: BTreeMap<String, String> = BTreeMap::new();
    for d in &descriptors {
        let code = d.code.to_string();
        if d.is_multiple() || model.field_enums.contains_key(&code) {
            continue;
        }
        let (directory, currency) = match d.field_type() {
            "crm_status" => match d.status_type() {
                Some(t) if !catalog::is_stage_directory(t) && cat.dictionaries.contains_key(t) => {
                    (t.to_owned(), false)
                }
                _ => continue,
            },
            "crm_currency" if cat.currencies.is_some() => ("CURRENCY".to_owned(), true),
            _ => continue,
        };
        if let Some(ident) = by_directory.get(&directory) {
            model
                .field_enums
                .insert(code, FieldEnum::Status(ident.clone()));
            continue;
        }
        let Some(items) = rename_targets(snapshot, d) else {
            continue;
        };
        let names = name_items(&items, renames.get(&code), |id, label| {
            if currency {
                id.to_owned()
            } else {
                stage_text(id, label)
            }
        });
        let ident = dictionary_ident(read, &snapshot.entity.name, &directory);
        by_directory.insert(directory.clone(), ident.clone());
        model.dictionaries.push(DictEnum {
            ident: ident.clone(),
            directory,
            currency,
            items: names
                .into_iter()
                .zip(items)
                .map(|(v, (id, name))| (v, id, name))
                .collect(),
        });
        model.field_enums.insert(code, FieldEnum::Status(ident));
    }
    model
}

impl CatalogModel {
    /// Every type this model generates.
    pub fn idents(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some(c) = &self.category {
            out.push(&c.ident);
        }
        if let Some(s) = &self.stages {
            out.push(&s.ident);
            out.extend(s.pipelines.iter().map(|p| p.ident.as_str()));
        }
        out.extend(self.dictionaries.iter().map(|d| d.ident.as_str()));
        out
    }

    /// `(enum, variant)` for every variant name used twice in one enum (two renames to one
    /// name; automatic names are always distinct).
    pub fn duplicate_variants(&self) -> Vec<(String, String)> {
        let mut lists: Vec<(&str, Vec<&str>)> = Vec::new();
        if let Some(c) = &self.category {
            lists.push((
                &c.ident,
                c.variants.iter().map(|v| v.variant.as_str()).collect(),
            ));
        }
        if let Some(s) = &self.stages {
            for p in &s.pipelines {
                lists.push((
                    &p.ident,
                    p.stages.iter().map(|v| v.variant.as_str()).collect(),
                ));
            }
        }
        for d in &self.dictionaries {
            lists.push((&d.ident, d.items.iter().map(|v| v.0.as_str()).collect()));
        }
        let mut out = Vec::new();
        for (ident, names) in lists {
            let mut seen = BTreeSet::new();
            for name in names {
                if !seen.insert(name) {
                    out.push((ident.to_owned(), name.to_owned()));
                }
            }
        }
        out
    }

    /// Every variant name, with what it names, for the identifier check.
    pub fn variants(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        if let Some(c) = &self.category {
            for v in &c.variants {
                out.push((format!("pipeline {}", v.id), v.variant.as_str()));
            }
        }
        if let Some(s) = &self.stages {
            for p in &s.pipelines {
                for st in &p.stages {
                    out.push((format!("stage {}", st.code), st.variant.as_str()));
                }
            }
        }
        for d in &self.dictionaries {
            for (v, id, _) in &d.items {
                out.push((format!("{} item {id}", d.directory), v.as_str()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_and_dictionary_names() {
        assert_eq!(
            stage_text("C1:PREPAYMENT_INVOICE", "Счёт"),
            "PREPAYMENT_INVOICE"
        );
        assert_eq!(stage_text("C1:UC_K3J2LA", "Проверка"), "Проверка");
        assert_eq!(stage_text("DT1220_5:NEW", "Начало"), "NEW");
        assert_eq!(dictionary_ident("Deal", "deal", "DEAL_TYPE"), "DealType");
        assert_eq!(dictionary_ident("Deal", "deal", "SOURCE"), "DealSource");
        assert_eq!(dictionary_ident("Lead", "lead", "STATUS"), "LeadStatus");
        let items = [
            ("NEW".to_owned(), "Новая".to_owned()),
            ("C1:NEW".to_owned(), "Новая".to_owned()),
            ("1".to_owned(), "".to_owned()),
            ("OTHER".to_owned(), "".to_owned()),
        ];
        assert_eq!(
            name_items(&items, None, stage_text),
            ["New", "NewC1New", "V1", "OtherOther"]
        );
    }
}

#[cfg(test)]
mod hostile {
    use crate::{EntityInfo, Options, Snapshot};

    /// Repeated ids, keywords, empty and odd names, rows that are not objects: generation
    /// succeeds, every enum gets distinct identifiers, and the output parses.
    #[test]
    fn odd_catalogs_generate_parsable_code() {
        let text = r#"{
          "format_version": 3,
          "entity": {"name": "deal", "api": "legacy", "method_prefix": "crm.deal", "entity_type_id": 2},
          "fields": {
            "CATEGORY_ID": {"type": "crm_category"},
            "STAGE_ID": {"type": "crm_status", "statusType": "DEAL_STAGE"},
            "SOURCE_ID": {"type": "crm_status", "statusType": "SOURCE"},
            "CURRENCY_ID": {"type": "crm_currency"}
          },
          "pipelines": [
            {"category": {"id": 0, "name": "Self"}, "stages": [
              {"STATUS_ID": "NEW", "NAME": "type"}, {"STATUS_ID": "NEW", "NAME": "again"},
              {"STATUS_ID": "UC_1", "NAME": ""}, {"STATUS_ID": "UC_2", "NAME": "\u202e😀"},
              {"STATUS_ID": "Other", "NAME": "Other"}, 5, {"NAME": "no id"}]},
            {"category": {"id": 0, "name": "twice"}, "stages": []},
            {"category": {"id": "7", "name": "123"}, "stages": [{"STATUS_ID": "C7:ALL", "NAME": "ALL"}]},
            {"category": {"name": "no id"}, "stages": []}
          ],
          "dictionaries": {"SOURCE": [{"STATUS_ID": "1", "NAME": "fn"}, {"STATUS_ID": "1", "NAME": "x"}, "junk"]},
          "currencies": [{"CURRENCY": "RUB"}, {"CURRENCY": "RUB"}, {"FULL_NAME": "none"}]
        }"#;
        let snapshot = Snapshot::parse(text, &EntityInfo::deal()).unwrap();
        let generated =
            crate::generate(&snapshot, &Options::new("Deal")).unwrap_or_else(|e| panic!("{e:?}"));
        let file = syn::parse2::<syn::File>(generated.tokens.clone()).unwrap();
        let source = prettyplease::unparse(&file);
        for needle in [
            "pub enum DealCategory",
            "pub enum DealStageSelf_",
            "pub enum DealStageV123",
            "Other(types::CategoryId)",
            "\"C7:ALL\" => Self::All",
        ] {
            assert!(source.contains(needle), "{needle}");
        }
        assert_eq!(source.matches("\"NEW\" => Self::").count(), 1);
    }
}
