//! Snapshot + options -> the model of the code to generate, with every problem collected.

use std::collections::BTreeMap;

use crate::entities::Api;
use crate::mapping::{self, FieldFacts, Mapping};
pub use crate::names::{Rename, Renames};
use crate::naming;
use crate::snapshot::{Descriptor, EntityInfo, Snapshot};

/// Where a diagnostic comes from, so a front end can point at the right place (the macro puts
/// schema problems on the `schema` argument and rename problems on that rename).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The snapshot itself.
    Schema,
    /// The rename with this index in [`Renames::entries`] (the order renames were added).
    Rename(usize),
    /// The generated item name (the annotated struct's name).
    StructName,
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Generation fails.
    Error,
    /// Generation succeeds; the front end shows the warning (compile-time warning, `cargo:warning`).
    Warning,
}

/// A problem found while building the model. Messages name the Bitrix code and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// What is wrong and how to fix it.
    pub message: String,
    /// What caused it.
    pub origin: Origin,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What to generate and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The read model's name (`Deal`); the other names derive from it.
    pub struct_name: String,
    /// Readable names for fields and enumeration items.
    pub renames: Renames,
    /// Unknown field types are errors instead of warnings.
    pub strict: bool,
    /// Path of the runtime crate in generated code.
    pub runtime_path: String,
    /// Where the snapshot came from, for docs and the `@generated` banner.
    pub schema_label: String,
    /// The default route of the generated entity (its `Entity::API`): `None` = the API the
    /// snapshot was read through. `Some(Api::Legacy)` is an error for entities without the
    /// legacy methods (smart processes, smart invoices).
    pub api: Option<Api>,
}

impl Options {
    /// Options for a read model named `struct_name`, with the defaults for the rest.
    pub fn new(struct_name: impl Into<String>) -> Self {
        Options {
            struct_name: struct_name.into(),
            renames: Renames::new(),
            strict: false,
            runtime_path: "::bitrix_runtime".into(),
            schema_label: "a portal snapshot".into(),
            api: None,
        }
    }
}

/// The model of one generated entity.
#[derive(Debug, Clone)]
pub struct EntityModel {
    /// The snapshot's entity.
    pub entity: EntityInfo,
    /// Generated item names.
    pub names: Names,
    /// Fields in portal order.
    pub fields: Vec<FieldModel>,
    /// Where the snapshot came from.
    pub schema_label: String,
    /// Runtime crate path.
    pub runtime_path: String,
    /// The entity's default route (`Entity::API`).
    pub api: Api,
    /// Whether the entity has the legacy methods (`Entity::HAS_LEGACY`).
    pub has_legacy: bool,
    /// The pipeline, stage and dictionary enums (empty when the snapshot does not record
    /// them).
    pub catalog: crate::pipelines::CatalogModel,
}

/// Names of the generated items.
#[derive(Debug, Clone)]
pub struct Names {
    /// Read model (`Deal`).
    pub read: String,
    /// Create payload (`NewDeal`).
    pub create: String,
    /// Create payload builder (`NewDealBuilder`).
    pub builder: String,
    /// Update payload (`DealPatch`).
    pub patch: String,
    /// Field enum (`DealField`).
    pub field_enum: String,
    /// Module of the per-field marker types (`deal_fields`): each names its field in compile
    /// errors and binds its code to its codec.
    pub markers: String,
    /// The private module that holds the generated items (`__bitrix_deal`), so that several
    /// entities generated into one module do not clash.
    pub module: String,
}

impl Names {
    fn new(read: &str) -> Self {
        Names {
            read: read.to_owned(),
            create: format!("New{read}"),
            builder: format!("New{read}Builder"),
            patch: format!("{read}Patch"),
            field_enum: format!("{read}Field"),
            markers: format!("{}_fields", naming::snake_case(read)),
            module: format!("__bitrix_{}", naming::snake_case(read)),
        }
    }
}

/// One field to generate.
#[derive(Debug, Clone)]
pub struct FieldModel {
    /// Bitrix code: the legacy UPPER_CASE code (an item snapshot's `upperName`).
    pub code: String,
    /// The `crm.item.*` name (camelCase; `FieldMeta::item_name`).
    pub item_name: String,
    /// snake_case Rust name.
    pub ident: String,
    /// SCREAMING_SNAKE constant name (`Deal::TITLE`).
    pub const_name: String,
    /// Variant in the field enum (`DealField::Title`).
    pub variant: String,
    /// Marker type name used in compile errors (the code itself when it is an identifier).
    pub marker: String,
    /// Bitrix type.
    pub bitrix_type: String,
    /// `title`.
    pub title: String,
    /// Human label of a user field.
    pub label: Option<String>,
    /// All distinct labels (`formLabel`, `listLabel`, `filterLabel`).
    pub labels: Vec<String>,
    /// `statusType`.
    pub status_type: Option<String>,
    /// Flags.
    pub required: bool,
    /// `isReadOnly`.
    pub read_only: bool,
    /// `isImmutable`.
    pub immutable: bool,
    /// `isMultiple`.
    pub multiple: bool,
    /// `isDynamic`.
    pub dynamic: bool,
    /// `isDeprecated`.
    pub deprecated: bool,
    /// Codecs and types.
    pub mapping: Mapping,
    /// The generated enum of an enumeration field.
    pub enumeration: Option<EnumModel>,
}

impl FieldModel {
    /// Whether the create payload has this field.
    pub fn on_create(&self) -> bool {
        !self.read_only
    }
    /// Whether the update payload has this field.
    pub fn on_update(&self) -> bool {
        !self.read_only && !self.immutable
    }
    /// Required on create.
    pub fn required_on_create(&self) -> bool {
        self.required && self.on_create()
    }
}

/// An enum generated from an enumeration field's `items`.
#[derive(Debug, Clone)]
pub struct EnumModel {
    /// Type name.
    pub ident: String,
    /// Variants: (variant name, item id, item label).
    pub variants: Vec<(String, String, String)>,
}

/// Builds the model; errors and warnings are collected, never a panic. Returns the model only
/// when there is no error.
pub fn build(snapshot: &Snapshot, options: &Options) -> (Option<EntityModel>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let names = Names::new(&options.struct_name);
    if !naming::is_pascal_ident(&options.struct_name) {
        diags.push(error(
            Origin::StructName,
            format!(
                "the struct name `{}` is not a PascalCase Rust identifier (ASCII letters and digits, starting with an uppercase letter, not a keyword); name the struct like `Deal` or `PortalDeal`",
                options.struct_name.escape_debug()
            ),
        ));
    }
    let plain_path = syn::parse_str::<syn::Path>(&options.runtime_path).is_ok_and(|p| {
        p.segments.iter().all(|s| {
            s.arguments.is_none()
                && !matches!(s.ident.to_string().as_str(), "self" | "Self" | "super")
        })
    });
    if !plain_path {
        diags.push(error(
            Origin::Schema,
            format!(
                "runtime path `{}` is not a plain Rust path such as `::bitrix_runtime` or `crate::rt` (no generic arguments, `self` or `super`)",
                options.runtime_path.escape_debug()
            ),
        ));
        return (None, diags);
    }
    if let Some(taken) = [
        &names.read,
        &names.create,
        &names.builder,
        &names.patch,
        &names.field_enum,
    ]
    .into_iter()
    .find(|n| HEADER_NAMES.contains(&n.as_str()))
    {
        diags.push(error(
            Origin::StructName,
            format!(
                "the generated type `{taken}` would shadow the `{taken}` the generated code imports; name the struct like `Deal` or `PortalDeal`"
            ),
        ));
    }

    let has_legacy = snapshot.entity.has_legacy();
    let api = options.api.unwrap_or(if has_legacy {
        snapshot.entity.api
    } else {
        Api::Item
    });
    if api == Api::Legacy && !has_legacy {
        diags.push(error(
            Origin::Schema,
            format!(
                "the entity {} exists only on crm.item.* (it has no legacy crm.{}.* methods); remove `api = \"legacy\"`",
                snapshot.entity.name, snapshot.entity.name
            ),
        ));
    }
    let descriptors: Vec<Descriptor<'_>> = snapshot.descriptors().collect();
    let targets: BTreeMap<String, Vec<(String, String)>> = descriptors
        .iter()
        .filter_map(|d| {
            crate::pipelines::rename_targets(snapshot, d).map(|t| (d.code.to_string(), t))
        })
        .collect();
    let (field_renames, item_renames) =
        index_renames(&descriptors, &targets, &options.renames, &mut diags);
    let catalog = crate::pipelines::build(snapshot, &names.read, &item_renames);
    let mut fields = Vec::with_capacity(snapshot.fields.len());
    for d in &descriptors {
        let code: &str = &d.code;
        let ident = match field_renames.get(code) {
            Some((name, _)) => name.clone(),
            None => naming::snake_case(code),
        };
        let pascal = naming::field_pascal(&ident);
        let enumeration = (d.field_type() == "enumeration")
            .then(|| build_enum(&names, &pascal, d, item_renames.get(code), &mut diags));
        let mapping = mapping::map_field(&FieldFacts {
            code,
            bitrix_type: d.field_type(),
            multiple: d.is_multiple(),
            dynamic: d.is_dynamic(),
            entity: &snapshot.entity.name,
            enum_ident: enumeration.as_ref().map(|e| e.ident.as_str()),
        });
        let mapping = with_catalog_enum(mapping, catalog.field_enums.get(code));
        if !mapping.known {
            let message = format!(
                "field {} has type `{}`, which bitrix-codegen does not know: it is read and written as raw JSON (serde_json::Value){}",
                d.code,
                d.field_type(),
                if options.strict {
                    "; `strict` is on, so this is an error: remove `strict` to accept raw JSON"
                } else {
                    "; add `strict` to make unknown types an error"
                }
            );
            diags.push(Diagnostic {
                level: if options.strict {
                    Level::Error
                } else {
                    Level::Warning
                },
                message,
                origin: Origin::Schema,
            });
        }
        let labels = {
            let mut v: Vec<String> = Vec::new();
            for l in [d.form_label(), d.list_label(), d.filter_label()]
                .into_iter()
                .flatten()
            {
                if !v.iter().any(|x| x == l) {
                    v.push(l.to_owned());
                }
            }
            v
        };
        fields.push(FieldModel {
            code: code.to_owned(),
            item_name: d.item_name.to_string(),
            const_name: naming::const_case(&ident),
            variant: match pascal.as_str() {
                p if naming::is_keyword(p) => format!("{p}_"),
                _ => pascal,
            },
            marker: marker_name(code, &ident),
            ident,
            bitrix_type: d.field_type().to_owned(),
            title: d.title().to_owned(),
            label: d.label().map(str::to_owned),
            labels,
            status_type: d.status_type().map(str::to_owned),
            required: d.is_required(),
            read_only: d.is_read_only(),
            immutable: d.is_immutable(),
            multiple: d.is_multiple(),
            dynamic: d.is_dynamic(),
            deprecated: d.is_deprecated(),
            mapping,
            enumeration,
        });
    }

    check_collisions(&names, &fields, &field_renames, &mut diags);
    check_catalog_names(&names, &fields, &catalog, &mut diags);
    if !diags.iter().any(|d| d.level == Level::Error) {
        check_idents(&names, &fields, &mut diags);
        for (what, name) in catalog.variants() {
            if !naming::is_ident(name) {
                diags.push(error(
                    Origin::Schema,
                    format!(
                        "{what} would be named `{}`, which is not a Rust identifier; rename it in the names file",
                        name.escape_debug()
                    ),
                ));
            }
        }
    }
    if diags.iter().any(|d| d.level == Level::Error) {
        return (None, diags);
    }
    let model = EntityModel {
        entity: snapshot.entity.clone(),
        names,
        fields,
        schema_label: options.schema_label.clone(),
        runtime_path: options.runtime_path.clone(),
        api,
        has_legacy,
        catalog,
    };
    (Some(model), diags)
}

/// A field that decodes into a generated category, stage or dictionary enum gets its codec.
fn with_catalog_enum(
    mut mapping: mapping::Mapping,
    e: Option<&crate::pipelines::FieldEnum>,
) -> mapping::Mapping {
    use crate::mapping::ElementCodec;
    use crate::pipelines::FieldEnum;
    match e {
        Some(FieldEnum::Category(ident)) => mapping.element = ElementCodec::Category(ident.clone()),
        Some(FieldEnum::Status(ident)) => mapping.element = ElementCodec::Enum(ident.clone()),
        None => {}
    }
    mapping
}

/// The last line of defence: every name the expansion turns into an identifier is one
/// ([`naming::is_ident`]). The checks above already guarantee it; should one of them miss a
/// case, generation fails with this error instead of panicking or emitting code that does not
/// compile.
fn check_idents(names: &Names, fields: &[FieldModel], diags: &mut Vec<Diagnostic>) {
    let mut bad = |what: String, name: &str| {
        if !naming::is_ident(name) {
            diags.push(error(
                Origin::Schema,
                format!(
                    "{what} would be named `{}`, which is not a Rust identifier; rename it (this is a bitrix-codegen bug: please report it with the snapshot)",
                    name.escape_debug()
                ),
            ));
        }
    };
    for name in [
        &names.read,
        &names.create,
        &names.builder,
        &names.patch,
        &names.field_enum,
        &names.markers,
        &names.module,
    ] {
        bad("a generated item".into(), name);
    }
    for f in fields {
        let code = f.code.escape_debug();
        bad(format!("field {code}"), &f.ident);
        bad(format!("the constant of field {code}"), &f.const_name);
        bad(format!("the enum variant of field {code}"), &f.variant);
        bad(format!("the marker type of field {code}"), &f.marker);
        bad(
            format!("the clear method of field {code}"),
            &format!("clear_{}", f.ident),
        );
        if let Some(e) = &f.enumeration {
            bad(format!("the enum of field {code}"), &e.ident);
            for (v, id, _) in &e.variants {
                bad(format!("item {} of field {code}", id.escape_debug()), v);
            }
        }
    }
}

pub use crate::naming::HEADER_NAMES;

fn error(origin: Origin, message: String) -> Diagnostic {
    Diagnostic {
        level: Level::Error,
        message,
        origin,
    }
}

/// Renames by the field's code (the legacy UPPER_CASE code).
type FieldRenames = BTreeMap<String, (String, usize)>;
type ItemRenames<'a> = BTreeMap<String, BTreeMap<&'a str, (String, usize)>>;

/// A rename names a field by its code, its `crm.item.*` name or its key in the snapshot.
fn find_descriptor<'d, 'a>(
    descriptors: &'d [Descriptor<'a>],
    by_name: &BTreeMap<&str, usize>,
    name: &str,
) -> Option<&'d Descriptor<'a>> {
    by_name.get(name).map(|&i| &descriptors[i])
}

fn index_renames<'a>(
    descriptors: &[Descriptor<'_>],
    targets: &BTreeMap<String, Vec<(String, String)>>,
    renames: &'a Renames,
    diags: &mut Vec<Diagnostic>,
) -> (FieldRenames, ItemRenames<'a>) {
    let mut fields: FieldRenames = BTreeMap::new();
    let mut items: ItemRenames<'a> = BTreeMap::new();
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, d) in descriptors.iter().enumerate() {
        by_name.entry(d.key).or_insert(i);
    }
    for (i, d) in descriptors.iter().enumerate() {
        by_name.entry(&d.code).or_insert(i);
        by_name.entry(&d.item_name).or_insert(i);
    }
    for (index, rename) in renames.entries().iter().enumerate() {
        let origin = Origin::Rename(index);
        let before = diags.len();
        match rename {
            Rename::Field { code, name } => {
                let found = find_descriptor(descriptors, &by_name, code);
                if found.is_none() {
                    diags.push(error(origin, format!(
                        "rename names field {code}, which the snapshot does not have (was it deleted or renamed on the portal?); remove this rename or refresh the snapshot{}",
                        suggest(descriptors, code)
                    )));
                } else if !naming::is_snake_ident(name) {
                    diags.push(error(origin, format!(
                        "rename of {code}: `{name}` is not a usable snake_case Rust name (lowercase letters, digits and `_`, not a keyword)"
                    )));
                } else if fields
                    .insert(
                        found.map_or_else(|| code.clone(), |d| d.code.to_string()),
                        (name.clone(), index),
                    )
                    .is_some()
                {
                    diags.push(error(
                        origin,
                        format!("field {code} is renamed twice; keep one rename"),
                    ));
                }
            }
            Rename::Item { code, item, name } => {
                let descriptor = find_descriptor(descriptors, &by_name, code);
                match descriptor {
                    None => diags.push(error(origin, format!(
                        "item rename names field {code}, which the snapshot does not have; remove this rename or refresh the snapshot{}",
                        suggest(descriptors, code)
                    ))),
                    Some(d) if d.field_type() != "enumeration" && !targets.contains_key(d.code.as_ref()) => diags.push(error(origin, format!(
                        "item rename names field {code}, which is of type `{}`, not `enumeration` (nor a pipeline, stage or dictionary field the snapshot records)",
                        d.field_type()
                    ))),
                    Some(d) if d.field_type() != "enumeration" && !targets[d.code.as_ref()].iter().any(|(id, _)| id == item) => {
                        let items: Vec<(String, &str)> = targets[d.code.as_ref()].iter().map(|(id, l)| (id.clone(), l.as_str())).collect();
                        diags.push(error(origin, format!(
                            "item rename names item {item} of {code}, which the snapshot does not have (items: {}); remove this rename or refresh the snapshot",
                            list_items(&items)
                        )))
                    }
                    Some(d) if d.field_type() == "enumeration" && !d.items().iter().any(|(id, _)| id == item) => diags.push(error(origin, format!(
                        "item rename names item {item} of {code}, which the snapshot does not have (items: {}); remove this rename or refresh the snapshot",
                        list_items(&d.items())
                    ))),
                    Some(_) if !naming::is_pascal_ident(name) => diags.push(error(origin, format!(
                        "item rename of {code} item {item}: `{}` is not a PascalCase Rust name (ASCII letters and digits, starting with an uppercase letter, not a keyword)",
                        name.escape_debug()
                    ))),
                    Some(_) if ENUM_RESERVED.contains(&name.as_str()) => diags.push(error(origin, format!(
                        "item rename of {code} item {item}: `{name}` is taken by the constant that lists every item of the generated enum (`DealStage::ALL`); choose another name, such as `All`"
                    ))),
                    Some(d) => {
                        if items.entry(d.code.to_string()).or_default().insert(item.as_str(), (name.clone(), index)).is_some() {
                            diags.push(error(origin, format!("item {item} of {code} is renamed twice; keep one rename")));
                        }
                    }
                }
            }
        }
        if let Some(source) = renames.source(index) {
            for d in &mut diags[before..] {
                d.message = format!("{source}: {}", d.message);
            }
        }
    }
    (fields, items)
}

fn list_items(items: &[(String, &str)]) -> String {
    const SHOWN: usize = 20;
    let mut text: Vec<String> = items
        .iter()
        .take(SHOWN)
        .map(|(id, v)| format!("{id} \"{v}\""))
        .collect();
    if items.len() > SHOWN {
        text.push(format!("and {} more", items.len() - SHOWN));
    }
    text.join(", ")
}

fn suggest(descriptors: &[Descriptor<'_>], code: &str) -> String {
    let lower = code.to_ascii_lowercase();
    descriptors
        .iter()
        .flat_map(|d| [d.key, &*d.code])
        .find(|k| k.to_ascii_lowercase() == lower)
        .map(|k| format!(" (did you mean {k}?)"))
        .unwrap_or_default()
}

/// Associated items of a generated enumeration enum that `Self::NAME` must keep meaning (a
/// variant of the same name would make `Self::ALL` ambiguous). `Other` is taken too, as the
/// variant for items added later (see `build_enum`).
const ENUM_RESERVED: &[&str] = &["ALL"];

/// Names the marker and code modules see from the generated module (its header, `META`, the
/// modules themselves): a code equal to one of them gets a SCREAMING_SNAKE marker name instead.
const MARKER_RESERVED: &[&str] = &[
    "__p",
    "codec",
    "types",
    "serde",
    "serde_json",
    "Field",
    "Patch",
    "META",
    "f",
    "m",
];

fn marker_name(code: &str, ident: &str) -> String {
    let valid = code
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !naming::is_keyword(code)
        && !MARKER_RESERVED.contains(&code)
        && code != "_";
    if valid {
        code.to_owned()
    } else {
        naming::const_case(ident)
    }
}

fn build_enum(
    names: &Names,
    field_pascal: &str,
    d: &Descriptor<'_>,
    renames: Option<&BTreeMap<&str, (String, usize)>>,
    diags: &mut Vec<Diagnostic>,
) -> EnumModel {
    let ident = format!("{}{}", names.read, field_pascal);
    let items = d.items();
    let mut variants: Vec<(String, String, String)> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    seen.insert("Other".to_owned());
    // The user's names first: automatic names make way for them, never the other way round.
    let mut explicit: Vec<(&str, &String, usize)> = renames
        .into_iter()
        .flatten()
        .map(|(item, (name, index))| (*item, name, *index))
        .collect();
    explicit.sort_by_key(|e| e.2); // in the order the user wrote them: the later one is wrong
    for (item, name, index) in explicit {
        if !seen.insert(name.clone()) {
            diags.push(error(
                Origin::Rename(index),
                format!(
                    "item rename of {} item {item}: the variant `{name}` is already taken (by another item rename, or `Other`, the variant for items added later); choose another name",
                    d.code
                ),
            ));
        }
    }
    for (id, value) in &items {
        if let Some((name, _)) = renames.and_then(|r| r.get(id.as_str())) {
            variants.push((name.clone(), id.clone(), (*value).to_owned()));
            continue;
        }
        let mut name = match naming::pascal_case(value) {
            p if p.is_empty() => format!("Item{}", naming::pascal_case(id)),
            p if p.starts_with(|c: char| c.is_ascii_digit()) => format!("V{p}"),
            p => p,
        };
        if naming::is_keyword(&name) {
            name.push('_');
        }
        if !seen.insert(name.clone()) {
            // Duplicate labels are common ("Другое" twice): keep both, told apart by the id.
            name = format!("{name}{}", naming::pascal_case(id));
            let mut n = 2;
            while !seen.insert(name.clone()) {
                name = format!("{name}_{n}");
                n += 1;
            }
        }
        variants.push((name, id.clone(), (*value).to_owned()));
    }
    EnumModel { ident, variants }
}

/// The catalog enums must not take a name another generated type (or the header) uses.
fn check_catalog_names(
    names: &Names,
    fields: &[FieldModel],
    catalog: &crate::pipelines::CatalogModel,
    diags: &mut Vec<Diagnostic>,
) {
    let mut taken: BTreeMap<&str, String> = BTreeMap::new();
    for n in [
        &names.read,
        &names.create,
        &names.builder,
        &names.patch,
        &names.field_enum,
    ] {
        taken.insert(n, "a generated payload type".into());
    }
    for f in fields {
        if let Some(e) = &f.enumeration {
            taken.insert(&e.ident, format!("the enum of field {}", f.code));
        }
    }
    // The create builder's `.stage(..)` sets both fields; a field named `stage` would clash.
    if catalog.stages.is_some() && catalog.category.is_some() {
        if let Some(f) = fields.iter().find(|f| f.ident == "stage" && f.on_create()) {
            diags.push(error(
                Origin::Schema,
                format!(
                    "field {} maps to `stage`, which the create payload's builder uses for the typed stage (it sets STAGE_ID and CATEGORY_ID); rename the field, for example `rename({} = \"stage_field\")`",
                    f.code, f.code
                ),
            ));
        }
    }
    for (ident, variant) in catalog.duplicate_variants() {
        diags.push(error(
            Origin::Schema,
            format!(
                "two item renames give `{ident}` the variant `{variant}`; choose distinct names"
            ),
        ));
    }
    for ident in catalog.idents() {
        let clash = taken.get(ident).cloned().or_else(|| {
            HEADER_NAMES
                .contains(&ident)
                .then(|| "the generated code's imports".to_owned())
        });
        if let Some(other) = clash {
            diags.push(error(
                Origin::Schema,
                format!(
                    "the pipeline/dictionary enum `{ident}` would clash with {other}; rename the field or the struct"
                ),
            ));
        }
        taken.insert(ident, format!("the pipeline/dictionary enum `{ident}`"));
    }
}

fn check_collisions(
    names: &Names,
    fields: &[FieldModel],
    renames: &FieldRenames,
    diags: &mut Vec<Diagnostic>,
) {
    let origin_of = |code: &str| {
        renames
            .get(code)
            .map(|(_, i)| Origin::Rename(*i))
            .unwrap_or(Origin::Schema)
    };
    let fix = |b: &str| {
        format!(
            "rename one of them, for example `rename({b} = \"...\")` (the codes on the wire stay as they are)"
        )
    };
    // One report per pair of codes: a name collision usually implies the others.
    let mut reported: std::collections::BTreeSet<(String, String)> = Default::default();
    let mut check = |kind: &str, key: &dyn Fn(&FieldModel) -> String| {
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for f in fields {
            let k = key(f);
            if let Some(first) = seen.insert(k.clone(), &f.code) {
                if first != f.code && reported.insert((first.to_owned(), f.code.clone())) {
                    let origin = if renames.contains_key(f.code.as_str()) {
                        origin_of(&f.code)
                    } else {
                        origin_of(first)
                    };
                    diags.push(error(
                        origin,
                        format!(
                            "fields {first} and {} both map to the Rust {kind} `{k}`; {}",
                            f.code,
                            fix(&f.code)
                        ),
                    ));
                }
            }
        }
    };
    check("name", &|f| f.ident.clone());
    check("constant", &|f| f.const_name.clone());
    check("enum variant", &|f| f.variant.clone());
    check("marker type", &|f| f.marker.clone());

    // Names the generated code already uses.
    let reserved_fields = ["extra"];
    let reserved_types = [
        &names.read,
        &names.create,
        &names.builder,
        &names.patch,
        &names.field_enum,
    ];
    for f in fields {
        if reserved_fields.contains(&f.ident.as_str()) {
            diags.push(error(origin_of(&f.code), format!(
                "field {} maps to the Rust name `{}`, which the read model uses for fields the snapshot does not know; rename it, for example `rename({} = \"{}_field\")`",
                f.code, f.ident, f.code, f.ident
            )));
        }
        if f.ident.starts_with("clear_")
            && fields
                .iter()
                .any(|g| format!("clear_{}", g.ident) == f.ident)
        {
            diags.push(error(origin_of(&f.code), format!(
                "field {} maps to `{}`, which is also the name of the update payload's method that clears another field; rename it",
                f.code, f.ident
            )));
        }
        if f.ident.starts_with("__") {
            diags.push(error(origin_of(&f.code), format!(
                "field {} maps to `{}`; names starting with `__` are reserved for the generated code's own fields; rename it",
                f.code, f.ident
            )));
        }
        if ["build", "builder", "new", "is_empty", "with_slots"].contains(&f.ident.as_str()) {
            diags.push(error(origin_of(&f.code), format!(
                "field {} maps to `{}`, which the generated payload types use as a method name; rename it, for example `rename({} = \"{}_value\")`",
                f.code, f.ident, f.code, f.ident
            )));
        }
        if let Some(e) = &f.enumeration {
            if reserved_types.iter().any(|t| **t == e.ident)
                || HEADER_NAMES.contains(&e.ident.as_str())
                || fields.iter().any(|g| {
                    g.code != f.code && g.enumeration.as_ref().is_some_and(|ge| ge.ident == e.ident)
                })
            {
                diags.push(error(origin_of(&f.code), format!(
                    "the enum generated for field {} would be named `{}`, which another generated type already uses; rename the field",
                    f.code, e.ident
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::EntityInfo;

    fn enum_snapshot() -> Snapshot {
        Snapshot::parse(
            r#"{"result": {"UF_CRM_E": {"type": "enumeration", "isDynamic": true,
                "items": [{"ID": "1", "VALUE": "Сайт"}, {"ID": "2", "VALUE": "Звонок"}, {"ID": "3", "VALUE": "Сайт"}]}}}"#,
            &EntityInfo::deal(),
        )
        .unwrap()
    }

    fn variants(options: &Options) -> Result<Vec<String>, Vec<Diagnostic>> {
        let (model, diags) = build(&enum_snapshot(), options);
        match model {
            Some(m) => Ok(m.fields[0]
                .enumeration
                .as_ref()
                .unwrap()
                .variants
                .iter()
                .map(|v| v.0.clone())
                .collect()),
            None => Err(diags),
        }
    }

    #[test]
    fn names_the_generated_code_uses_are_refused() {
        for (name, expected) in [
            ("__r0", "reserved for the generated code's own fields"),
            (
                "with_slots",
                "the generated payload types use as a method name",
            ),
        ] {
            let mut options = Options::new("Deal");
            options.renames.field("UF_CRM_E", name);
            let errors = variants(&options).unwrap_err();
            assert!(
                errors.iter().any(|e| e.message.contains(expected)),
                "{name}: {errors:?}"
            );
        }
        for taken in ["Option", "Patch"] {
            let (model, diags) = build(&enum_snapshot(), &Options::new(taken));
            assert!(model.is_none());
            assert!(
                diags
                    .iter()
                    .any(|d| d.origin == Origin::StructName && d.message.contains("would shadow")),
                "{taken}: {diags:?}"
            );
        }
    }

    /// Renames of pipelines and stages are checked against the snapshot's catalog like
    /// enumeration items: a stale one is an error naming what the snapshot has.
    #[test]
    fn catalog_item_renames_are_checked_against_the_snapshot() {
        let snapshot = Snapshot::parse(
            include_str!("../tests/schemas/pipelines.json"),
            &EntityInfo::deal(),
        )
        .unwrap();
        let mut options = Options::new("Deal");
        options.renames.item("STAGE_ID", "C5:WON", "Closed");
        options.renames.item("SOURCE_ID", "CALL", "Phone");
        let (model, diags) = build(&snapshot, &options);
        let model = model.unwrap_or_else(|| panic!("{diags:?}"));
        let stages = model.catalog.stages.as_ref().unwrap();
        assert_eq!(stages.pipelines[1].stages[1].variant, "Closed");
        assert_eq!(model.catalog.dictionaries[0].items[0].0, "Phone");

        let mut options = Options::new("Deal");
        options.renames.item("STAGE_ID", "C9:GONE", "Gone");
        let (model, diags) = build(&snapshot, &options);
        assert!(model.is_none());
        assert!(
            diags.iter().any(|d| d
                .message
                .contains("item C9:GONE of STAGE_ID, which the snapshot does not have")
                && d.message.contains("C5:NEW \"Новая\"")),
            "{diags:?}"
        );
        // Two renames to one variant name.
        let mut options = Options::new("Deal");
        options.renames.item("STAGE_ID", "NEW", "Fresh");
        options.renames.item("STAGE_ID", "WON", "Fresh");
        let (model, diags) = build(&snapshot, &options);
        assert!(model.is_none());
        assert!(
            diags.iter().any(|d| d
                .message
                .contains("give `DealStageObshchaya` the variant `Fresh`")),
            "{diags:?}"
        );
        // A field named `stage` would clash with the builder's typed stage setter.
        let mut options = Options::new("Deal");
        options.renames.field("TITLE", "stage");
        let (model, diags) = build(&snapshot, &options);
        assert!(model.is_none());
        assert!(
            diags
                .iter()
                .any(|d| d.message.contains("field TITLE maps to `stage`")),
            "{diags:?}"
        );
        // Without the catalog, STAGE_ID has no items to rename.
        let mut bare = snapshot.clone();
        bare.catalog = Default::default();
        let mut options = Options::new("Deal");
        options.renames.item("STAGE_ID", "NEW", "Fresh");
        let (model, diags) = build(&bare, &options);
        assert!(model.is_none());
        assert!(
            diags
                .iter()
                .any(|d| d.message.contains("not `enumeration`")),
            "{diags:?}"
        );
    }

    #[test]
    fn duplicate_item_labels_are_told_apart_by_id() {
        assert_eq!(
            variants(&Options::new("Deal")).unwrap(),
            ["Sayt", "Zvonok", "Sayt3"]
        );
    }

    #[test]
    fn renamed_items_take_precedence_over_automatic_names() {
        let mut options = Options::new("Deal");
        options.renames.item("UF_CRM_E", "3", "Sayt");
        assert_eq!(variants(&options).unwrap(), ["Sayt1", "Zvonok", "Sayt"]);
    }

    #[test]
    fn colliding_item_renames_are_errors() {
        for taken in ["Other", "Call"] {
            let mut options = Options::new("Deal");
            options.renames.item("UF_CRM_E", "2", "Call");
            options.renames.item("UF_CRM_E", "1", taken);
            let errors = variants(&options).unwrap_err();
            assert!(
                errors.iter().any(|e| e
                    .message
                    .contains(&format!("the variant `{taken}` is already taken"))
                    && e.origin == Origin::Rename(1)),
                "{errors:?}"
            );
        }
    }

    /// An item snapshot's field is renamed by its camelCase name or its legacy code alike; a
    /// rename naming neither suggests the other spelling.
    #[test]
    fn item_snapshot_fields_are_renamed_by_either_name() {
        let snapshot = Snapshot::parse(
            r#"{"result": {"fields": {"stageId": {"type": "crm_status", "upperName": "STAGE_ID"},
                "ufCrm5_1721244482250": {"type": "string", "upperName": "UF_CRM_5_1721244482250"}}}}"#,
            &EntityInfo::smart_process(1032, None, None),
        )
        .unwrap();
        let mut options = Options::new("Projects");
        options.renames.field("stageId", "stage");
        options.renames.field("UF_CRM_5_1721244482250", "greeting");
        let (model, diags) = build(&snapshot, &options);
        let model = model.unwrap_or_else(|| panic!("{diags:?}"));
        let names: Vec<(&str, &str, &str)> = model
            .fields
            .iter()
            .map(|f| (f.code.as_str(), f.item_name.as_str(), f.ident.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("STAGE_ID", "stageId", "stage"),
                ("UF_CRM_5_1721244482250", "ufCrm5_1721244482250", "greeting")
            ]
        );
        assert_eq!(
            (model.api, model.has_legacy),
            (crate::entities::Api::Item, false)
        );
        let mut options = Options::new("Projects");
        options.renames.field("stageid", "stage");
        let (_, diags) = build(&snapshot, &options);
        assert!(
            diags[0].message.contains("(did you mean stageId?)"),
            "{diags:?}"
        );
    }

    /// Issue 14 item 5: these panicked in `format_ident!` (a variant `1`, `9x`).
    #[test]
    fn renames_with_a_digit_after_the_underscore_give_f_variants() {
        for (name, variant) in [("_1", "F1"), ("_9x", "F9x")] {
            let mut options = Options::new("Deal");
            options.renames.field("UF_CRM_E", name);
            let (model, diags) = build(&enum_snapshot(), &options);
            let model = model.unwrap_or_else(|| panic!("{name}: {diags:?}"));
            let f = &model.fields[0];
            assert_eq!((f.ident.as_str(), f.variant.as_str()), (name, variant));
            assert_eq!(
                f.enumeration.as_ref().unwrap().ident,
                format!("Deal{variant}")
            );
            let generated = crate::generate(&enum_snapshot(), &options).unwrap();
            syn::parse2::<syn::File>(generated.tokens).unwrap();
        }
    }

    #[test]
    fn struct_names_that_are_not_identifiers_are_errors() {
        for bad in [
            "Foo-Bar",
            "1Deal",
            "Deal!",
            "",
            "deal",
            "Self",
            "Deal\u{202e}",
            "Сделка",
        ] {
            let result = crate::generate(&enum_snapshot(), &Options::new(bad));
            let diags = result.expect_err(bad);
            assert!(
                diags.iter().any(|d| d.origin == Origin::StructName
                    && d.message.contains("is not a PascalCase Rust identifier")),
                "{bad}: {diags:?}"
            );
        }
    }

    #[test]
    fn runtime_paths_must_be_plain_paths() {
        for bad in ["::a::b<c>", "self", "super::rt", "not a path", ""] {
            let mut options = Options::new("Deal");
            options.runtime_path = bad.into();
            let diags = crate::generate(&enum_snapshot(), &options).expect_err(bad);
            assert!(
                diags[0].message.contains("not a plain Rust path"),
                "{bad}: {diags:?}"
            );
        }
    }

    /// Should a name that is not an identifier ever reach the expansion, it fails with a
    /// diagnostic instead of panicking in `Ident::new`.
    #[test]
    fn the_expansion_refuses_non_identifiers_without_panicking() {
        let (model, _) = build(&enum_snapshot(), &Options::new("Deal"));
        let mut model = model.unwrap();
        model.fields[0].variant = "9x".into();
        let error = crate::expand::expand(&model, &Default::default(), &[]).unwrap_err();
        assert!(
            error
                .message
                .contains("`9x`, which is not a Rust identifier"),
            "{error}"
        );
        // The next expansion starts afresh.
        model.fields[0].variant = "Nine".into();
        crate::expand::expand(&model, &Default::default(), &[]).unwrap();
    }

    /// Issue 14 item 6: an item renamed `ALL` made `Self::ALL` ambiguous (code that does not
    /// compile); it is now an error on that rename.
    #[test]
    fn an_item_renamed_all_is_an_error() {
        let mut options = Options::new("Deal");
        options.renames.item("UF_CRM_E", "2", "ALL");
        let errors = variants(&options).unwrap_err();
        assert!(
            errors.iter().any(|e| e.origin == Origin::Rename(0)
                && e.message
                    .contains("`ALL` is taken by the constant that lists every item")),
            "{errors:?}"
        );
        options = Options::new("Deal");
        options.renames.item("UF_CRM_E", "2", "All");
        assert_eq!(variants(&options).unwrap(), ["Sayt", "All", "Sayt3"]);
    }
}
