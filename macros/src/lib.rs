//! The `#[bitrix_entity]` attribute: expands a portal snapshot into typed entity structs.
//!
//! This crate is thin on purpose: it parses the arguments, reads the snapshot and hands both to
//! `bitrix_codegen`, which is shared with `build.rs` scripts and the CLI. Use it through
//! `bitrix_runtime::bitrix_entity`.
#![deny(missing_docs)]

mod projection;

use std::path::PathBuf;

use bitrix_codegen::{EntityInfo, ExpandContext, Level, Options, Origin, Snapshot, SnapshotError};
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

const VALID_ARGS: &str = "schema = \"path/to/deal.json\", names = \"path/to/names.json\", rename(CODE = \"name\", CODE[item_id] = \"Variant\"), strict, entity = \"deal\", entity_type_id = 1032, api = \"item\"";

/// Generates a portal's typed entity from its snapshot.
///
/// ```text
/// #[bitrix_entity(schema = "schemas/demo/deal.json", rename(UF_CRM_1721244482250 = "greeting"))]
/// pub struct Deal;
/// ```
///
/// Arguments:
/// - `schema = "path"`: the snapshot, relative to the crate's `Cargo.toml` directory
///   (required). A raw `crm.deal.fields` response is accepted too.
/// - `rename(CODE = "name", CODE[item_id] = "Variant", ...)`: readable names for fields and
///   enumeration items; a rename naming a field the snapshot does not have is an error.
/// - `strict`: a field of a type the generator does not know is an error instead of a warning.
/// - `entity = "deal"`: the entity of a raw `crm.*.fields` response (snapshots name their own):
///   `deal`, `lead`, `contact`, `company`, `quote`, `smart_invoice`.
/// - `entity_type_id = 1032`: the same for a raw `crm.item.fields` response of a smart process.
/// - `api = "item"` (or `"legacy"`): the entity's default route, `Entity::API` (default: the API
///   the snapshot was read through; smart processes and smart invoices are always `item`).
///
/// Any entity's snapshot, of either API, works: the struct's name is the read model's, and
/// `New{X}` (+ `New{X}Builder`), `{X}Patch`, `{X}Field`, `{x}_fields`, one enum per
/// enumeration field, and the runtime trait implementations derive from it, in a private
/// module of their own, so several entities live in one module. See the `bitrix_runtime` docs.
#[proc_macro_attribute]
pub fn bitrix_entity(args: TokenStream, input: TokenStream) -> TokenStream {
    match expand(args.into(), input.into()) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Derives `bitrix_runtime::Projection` for a struct of selected fields of an entity.
///
/// ```text
/// #[derive(bitrix_runtime::Projection)]
/// #[bitrix(entity = Deal)]
/// struct Row {
///     id: DealId,
///     title: Option<String>,
///     #[bitrix(field = "UF_CRM_1721244482250")]
///     greeting: Option<String>,
/// }
/// ```
///
/// Each field maps to the entity's typed constant of its name upper-cased (`title` ->
/// `Deal::TITLE`; renamed fields by their Rust name) or of `#[bitrix(field = "CODE")]`;
/// `#[bitrix(skip)]` and `PhantomData` fields are filled with `Default::default()`. See the
/// `bitrix_runtime::projection` docs.
#[proc_macro_derive(Projection, attributes(bitrix))]
pub fn derive_projection(input: TokenStream) -> TokenStream {
    match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => match projection::expand(input) {
            Ok(tokens) => tokens.into(),
            Err(err) => err.to_compile_error().into(),
        },
        Err(err) => err.to_compile_error().into(),
    }
}

struct RenameArg {
    code: Ident,
    item: Option<(String, Span)>,
    name: LitStr,
}

enum Arg {
    Schema(LitStr),
    Names(LitStr),
    Rename(Vec<RenameArg>),
    Strict,
    Entity(LitStr),
    EntityTypeId(syn::LitInt),
    Api(LitStr),
    Crate(LitStr),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        match key.to_string().as_str() {
            "schema" => {
                input.parse::<Token![=]>()?;
                Ok(Arg::Schema(input.parse()?))
            }
            "entity" => {
                input.parse::<Token![=]>()?;
                Ok(Arg::Entity(input.parse()?))
            }
            "entity_type_id" => {
                input.parse::<Token![=]>()?;
                Ok(Arg::EntityTypeId(input.parse()?))
            }
            "api" => {
                input.parse::<Token![=]>()?;
                Ok(Arg::Api(input.parse()?))
            }
            "names" => {
                input.parse::<Token![=]>()?;
                Ok(Arg::Names(input.parse()?))
            }
            "crate" => {
                input.parse::<Token![=]>()?;
                Ok(Arg::Crate(input.parse()?))
            }
            "strict" => Ok(Arg::Strict),
            "rename" => {
                let content;
                syn::parenthesized!(content in input);
                let mut renames = Vec::new();
                while !content.is_empty() {
                    let code: Ident = content.call(syn::ext::IdentExt::parse_any)?;
                    let item = if content.peek(syn::token::Bracket) {
                        let inner;
                        syn::bracketed!(inner in content);
                        let lit: syn::Lit = inner.parse()?;
                        let text = match &lit {
                            syn::Lit::Int(i) => i.base10_digits().to_owned(),
                            syn::Lit::Str(s) => s.value(),
                            other => {
                                return Err(syn::Error::new_spanned(
                                    other,
                                    "an enumeration item is named by its ID: `CODE[3476] = \"Variant\"`",
                                ));
                            }
                        };
                        Some((text, lit.span()))
                    } else {
                        None
                    };
                    content.parse::<Token![=]>()?;
                    let name: LitStr = content.parse()?;
                    renames.push(RenameArg { code, item, name });
                    if !content.is_empty() {
                        content.parse::<Token![,]>()?;
                    }
                }
                Ok(Arg::Rename(renames))
            }
            other => Err(syn::Error::new(
                key.span(),
                format!("unknown argument `{other}`; valid arguments: {VALID_ARGS}"),
            )),
        }
    }
}

struct Args(Vec<Arg>);

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let list = syn::punctuated::Punctuated::<Arg, Token![,]>::parse_terminated(input)?;
        Ok(Args(list.into_iter().collect()))
    }
}

/// Collects errors so that every problem is reported in one compile.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(e) => e.combine(err),
            None => self.0 = Some(err),
        }
    }
    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

fn expand(args: TokenStream2, input: TokenStream2) -> syn::Result<TokenStream2> {
    let mut errors = Errors::default();
    let item: syn::ItemStruct = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            return Err(syn::Error::new_spanned(
                input,
                "#[bitrix_entity] goes on a unit struct, such as `pub struct Deal;`",
            ));
        }
    };
    if !matches!(item.fields, syn::Fields::Unit) {
        errors.push(syn::Error::new_spanned(
            &item.fields,
            "#[bitrix_entity] goes on a unit struct (`pub struct Deal;`): the fields come from the snapshot",
        ));
    }
    if !item.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &item.generics,
            "the entity struct cannot be generic",
        ));
    }
    let mut attrs = Vec::new();
    for attr in &item.attrs {
        let path = attr.path();
        let allowed = ["doc", "cfg", "cfg_attr", "allow", "warn", "deny", "expect"]
            .iter()
            .any(|name| path.is_ident(name));
        if allowed {
            attrs.push(attr.to_token_stream());
        } else {
            errors.push(syn::Error::new_spanned(
                attr,
                "only doc comments, `cfg` and lint attributes can go on a #[bitrix_entity] struct; the generated types already derive Debug, Clone, PartialEq and serde's traits",
            ));
        }
    }

    let args: Args = match syn::parse2(args) {
        Ok(args) => args,
        Err(err) => {
            errors.push(err);
            return Err(errors
                .finish()
                .err()
                .unwrap_or_else(|| syn::Error::new(Span::call_site(), "invalid arguments")));
        }
    };

    let mut schema: Option<LitStr> = None;
    let mut strict = false;
    let mut entity: Option<LitStr> = None;
    let mut entity_type_id: Option<syn::LitInt> = None;
    let mut api: Option<bitrix_codegen::entities::Api> = None;
    let mut runtime_path: Option<LitStr> = None;
    let mut renames = bitrix_codegen::Renames::new();
    let mut rename_spans: Vec<Span> = Vec::new();
    let mut names_files: Vec<PathBuf> = Vec::new();
    for arg in args.0 {
        match arg {
            Arg::Schema(lit) => {
                if schema.is_some() {
                    errors.push(syn::Error::new(lit.span(), "`schema` is given twice"));
                }
                schema = Some(lit);
            }
            Arg::Strict => strict = true,
            Arg::Names(lit) => match read_relative(&lit, "names file") {
                Ok((path, text)) => {
                    names_files.push(path);
                    match renames.add_file(&text, &lit.value()) {
                        Ok(added) => rename_spans.extend(added.map(|_| lit.span())),
                        Err(message) => errors.push(syn::Error::new(lit.span(), message)),
                    }
                }
                Err(err) => errors.push(err),
            },
            Arg::Entity(lit) => entity = Some(lit),
            Arg::EntityTypeId(lit) => entity_type_id = Some(lit),
            Arg::Api(lit) => match bitrix_codegen::entities::Api::parse(&lit.value()) {
                Some(a) => api = Some(a),
                None => errors.push(syn::Error::new(
                    lit.span(),
                    format!(
                        "unknown api `{}`; expected \"legacy\" (crm.<entity>.*) or \"item\" (crm.item.*)",
                        lit.value()
                    ),
                )),
            },
            Arg::Crate(lit) => runtime_path = Some(lit),
            Arg::Rename(list) => {
                for r in list {
                    let code = r.code.to_string();
                    match r.item {
                        None => {
                            renames.field(code, r.name.value());
                            rename_spans
                                .push(r.code.span().join(r.name.span()).unwrap_or(r.name.span()));
                        }
                        Some((item, _)) => {
                            renames.item(code, item, r.name.value());
                            rename_spans
                                .push(r.code.span().join(r.name.span()).unwrap_or(r.name.span()));
                        }
                    }
                }
            }
        }
    }

    let by_type_id = entity_type_id
        .as_ref()
        .and_then(|lit| match lit.base10_parse::<u32>() {
            Ok(id) => {
                Some(EntityInfo::by_type_id(id).with_api(bitrix_codegen::entities::Api::Item))
            }
            Err(_) => {
                errors.push(syn::Error::new(
                    lit.span(),
                    "`entity_type_id` is a CRM entity type id such as 31 or 1032",
                ));
                None
            }
        });
    if let (Some(_), Some(lit)) = (&entity, &entity_type_id) {
        errors.push(syn::Error::new(
            lit.span(),
            "give `entity` or `entity_type_id`, not both",
        ));
    }
    let default_entity = match &entity {
        None => by_type_id.unwrap_or_else(EntityInfo::deal),
        Some(lit) => match EntityInfo::by_name(&lit.value()) {
            Some(e) => e,
            None => {
                errors.push(syn::Error::new(
                    lit.span(),
                    format!(
                        "unknown entity `{}`; expected one of {}",
                        lit.value(),
                        bitrix_codegen::entities::names_list()
                    ),
                ));
                EntityInfo::deal()
            }
        },
    };

    let Some(schema) = schema else {
        errors.push(syn::Error::new(
            Span::call_site(),
            format!("missing `schema = \"path/to/deal.json\"`; valid arguments: {VALID_ARGS}"),
        ));
        return Err(errors
            .finish()
            .err()
            .unwrap_or_else(|| syn::Error::new(Span::call_site(), "missing schema")));
    };

    let (path, text) = match read_relative(&schema, "snapshot") {
        Ok(v) => v,
        Err(err) => {
            errors.push(err);
            return Err(errors
                .finish()
                .err()
                .unwrap_or_else(|| syn::Error::new(schema.span(), "schema")));
        }
    };
    let snapshot = match Snapshot::parse(&text, &default_entity) {
        Ok(s) => s,
        Err(err) => {
            let message = match err {
                SnapshotError::Json { .. } => format!(
                    "{}: {err}; fix the file or make a new snapshot with `bitrix-codegen snapshot`",
                    schema.value()
                ),
                SnapshotError::Shape(_) => format!("{}: {err}", schema.value()),
            };
            errors.push(syn::Error::new(schema.span(), message));
            return Err(errors
                .finish()
                .err()
                .unwrap_or_else(|| syn::Error::new(schema.span(), "schema")));
        }
    };

    let mut options = Options::new(item.ident.to_string());
    options.renames = renames;
    options.strict = strict;
    options.schema_label = schema.value();
    options.api = api;
    if let Some(p) = &runtime_path {
        options.runtime_path = p.value();
    }
    let cx = ExpandContext {
        vis: item.vis.to_token_stream(),
        attrs,
        warning_span: schema.span(),
    };
    let generated = match bitrix_codegen::generate_with(&snapshot, &options, &cx) {
        Ok(g) => Some(g),
        Err(diagnostics) => {
            for d in diagnostics.iter().filter(|d| d.level == Level::Error) {
                let span = match d.origin {
                    Origin::Schema => schema.span(),
                    Origin::Rename(i) => rename_spans.get(i).copied().unwrap_or(schema.span()),
                    Origin::StructName => item.ident.span(),
                };
                errors.push(syn::Error::new(span, &d.message));
            }
            None
        }
    };
    errors.finish()?;
    let tokens = generated.map(|g| g.tokens).unwrap_or_default();
    let tracked = std::iter::once(path)
        .chain(names_files)
        .map(|p| p.to_string_lossy().into_owned());
    Ok(quote! {
        // Rebuild when the snapshot or a names file changes.
        #(const _: &str = ::core::include_str!(#tracked);)*
        #tokens
    })
}

/// Reads a file named by a macro argument, relative to the crate's `Cargo.toml` directory.
fn read_relative(lit: &LitStr, what: &str) -> syn::Result<(PathBuf, String)> {
    let relative = lit.value();
    // trybuild compiles UI tests in a scratch crate; its runner points the macro back at the
    // real crate with this variable (the approach trybuild's author recommends).
    let base = std::env::var_os("BITRIX_MANIFEST_DIR_OVERRIDE")
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = base.join(&relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((path, text)),
        Err(err) => {
            let fix = if what == "snapshot" {
                format!(
                    "Make a snapshot with `bitrix-codegen snapshot --webhook <URL> --entity deal --out {relative}`"
                )
            } else {
                "Check the path".to_owned()
            };
            Err(syn::Error::new(
                lit.span(),
                format!(
                    "cannot read the {what} `{relative}` ({err}; looked in {}). The path is relative to the crate's Cargo.toml. {fix}",
                    path.display()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expansion (or the compile errors) of `#[bitrix_entity(args)] pub struct name;`, as
    /// text; schema paths are relative to `macros/`.
    fn expand_text(args: TokenStream2, name: &str) -> String {
        let name = syn::Ident::new(name, Span::call_site());
        match expand(args, quote!(pub struct #name;)) {
            Ok(tokens) => tokens.to_string(),
            Err(err) => format!("ERROR {}", err.to_compile_error()),
        }
    }

    #[test]
    fn any_entity_and_either_api() {
        let lead = expand_text(
            quote!(schema = "../codegen/tests/schemas/lead.json"),
            "Lead",
        );
        assert!(lead.contains("impl __p :: StandardLead for Lead"), "{lead}");
        assert!(!lead.contains("const API"), "legacy is the default route");
        let item = expand_text(
            quote!(schema = "../codegen/tests/schemas/lead.json", api = "item"),
            "Lead",
        );
        assert!(item.contains("const API : __p :: Api = __p :: Api :: Item ;"));
        let projects = expand_text(
            quote!(schema = "../codegen/tests/schemas/smart_process.json"),
            "Projects",
        );
        for expected in [
            "const HAS_LEGACY : bool = false ;",
            "const METHOD_PREFIX : & 'static str = \"crm.item\" ;",
            "pub struct NewProjects",
            "mod __bitrix_projects",
            ". with_item_name (\"stageId\")",
        ] {
            assert!(projects.contains(expected), "{expected}");
        }
    }

    #[test]
    fn wrong_api_arguments_are_errors() {
        for (args, expected) in [
            (
                quote!(
                    schema = "../codegen/tests/schemas/smart_process.json",
                    api = "legacy"
                ),
                "exists only on crm.item.*",
            ),
            (
                quote!(schema = "../codegen/tests/schemas/lead.json", api = "rest"),
                "unknown api `rest`",
            ),
            (
                quote!(
                    schema = "../codegen/tests/schemas/lead.json",
                    entity = "lead",
                    entity_type_id = 1
                ),
                "not both",
            ),
            (
                quote!(
                    schema = "../codegen/tests/schemas/lead.json",
                    entity_type_id = "x"
                ),
                "expected integer literal",
            ),
        ] {
            let text = expand_text(args, "Lead");
            assert!(
                text.starts_with("ERROR") && text.contains(expected),
                "{expected}: {text}"
            );
        }
    }
}
