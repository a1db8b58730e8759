//! The model -> Rust tokens, one file per generated item (as serde_derive and typify split
//! theirs):
//!
//! | file | items |
//! |---|---|
//! | `read.rs` | the read model (`Deal`), its `Deserialize` and `Serialize` |
//! | `fields.rs` | the field enum (`DealField`) with its metadata, the typed field constants (`Deal::TITLE`), every field's typed code (`f::TITLE`) and the marker types compile errors name (`deal_fields::DATE_CREATE`) |
//! | `enums.rs` | one enum per enumeration field |
//! | `pipelines.rs` | the pipeline, stage and dictionary enums (`DealCategory`, `DealStage`, `DealSource`) of a snapshot that records them |
//! | `create.rs` | the create payload (`NewDeal`) and its builder |
//! | `patch.rs` | the update payload (`DealPatch`) |
//! | `traits.rs` | `Entity` and the standard-field trait (`StandardDeal`) |
//!
//! The items live in a private module (`mod __bitrix_deal`) with one `use` header and one
//! lint-allow, and are re-exported with the annotated struct's visibility, so several entities
//! generated into one module do not clash. The read model itself stays where the annotated
//! struct was (with full paths): compile errors name it by its path, and `Deal` is not a
//! unique name (`CrmLink::Deal`), so inside the module they would print `__bitrix_deal::Deal`. Generated code names nothing but `::core`, `::std`
//! and the runtime crate (by default `::bitrix_runtime`), so a user adds one dependency.

use std::cell::RefCell;
use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};

use crate::mapping::{ElementCodec, Value};
use crate::model::{Diagnostic, EntityModel, FieldModel, Level, Origin};
use crate::naming;

mod create;
mod enums;
mod fields;
mod patch;
mod pipelines;
mod projection;
mod read;
mod traits;

/// How the front end wants the items dressed: visibility, attributes of the annotated struct,
/// and where warnings point.
#[derive(Debug, Clone)]
pub struct ExpandContext {
    /// Visibility of every generated item (that of the annotated struct).
    pub vis: TokenStream,
    /// Outer attributes to put on the read model (the annotated struct's docs, `cfg`s, lints).
    pub attrs: Vec<TokenStream>,
    /// Span that compile-time warnings point at (the macro's `schema` argument).
    pub warning_span: Span,
}

impl Default for ExpandContext {
    fn default() -> Self {
        ExpandContext {
            vis: quote!(pub),
            attrs: Vec::new(),
            warning_span: Span::call_site(),
        }
    }
}

/// What every item file needs: the model and the generated names as identifiers.
struct Cx<'a> {
    model: &'a EntityModel,
    /// The runtime crate's path (`::bitrix_runtime`), for the read model, which lives outside
    /// the private module and its `use` header.
    rt: TokenStream,
    /// Visibility of the items inside the private module.
    vis: TokenStream,
    read: syn::Ident,
    /// How docs inside the private module link to the read model (`super::Deal`).
    read_link: String,
    create: syn::Ident,
    builder: syn::Ident,
    patch: syn::Ident,
    field_enum: syn::Ident,
    /// More than [`WIDE_LIMIT`] fields: see there.
    wide: bool,
    /// Every field's position in portal order, by code (the hidden variant's value in a wide
    /// field enum).
    positions: HashMap<&'a str, u32>,
}

/// Above this many fields an entity is "wide". rustc's cost of some constructs grows as the
/// square of the number of fields (measured, `bench/RESULTS.md`): a function body with one
/// statement per field (borrowck and MIR building), a derived `Debug` of an enum with a variant
/// per field (2.6 GB for 10,000 variants), and naming each variant of such an enum (a linear
/// scan per name). A wide entity's field enum has one hidden variant holding the position and
/// an associated constant per field; every per-field body is split into hidden functions of at
/// most 256 fields; `Debug`, `Clone` and `Default` of its structs are written out the
/// same way; the builder keeps its optional values in hidden structs of as many fields.
pub const WIDE_LIMIT: usize = 512;

/// Fields per hidden function of a wide entity.
const CHUNK: usize = 256;

impl Cx<'_> {
    /// The field enum's value for `f`: its variant, or in a wide entity the hidden variant with
    /// the field's position (naming the constant would cost a lookup).
    fn field_value(&self, f: &FieldModel) -> TokenStream {
        let e = &self.field_enum;
        if self.wide {
            let i = self.positions.get(f.code.as_str()).copied().unwrap_or(0);
            quote!(#e::__Field(#i))
        } else {
            let v = ident(&f.variant);
            quote!(#e::#v)
        }
    }
}

/// `stmts` split into hidden functions of at most [`CHUNK`] statements each, named
/// `{prefix}{k}`: `def(name, statements)` writes one function, `call(name)` one call of it.
/// Returns the calls, in order, and the functions.
fn chunked(
    prefix: &str,
    stmts: Vec<TokenStream>,
    def: impl Fn(&syn::Ident, &[TokenStream]) -> TokenStream,
    call: impl Fn(&syn::Ident) -> TokenStream,
) -> (Vec<TokenStream>, TokenStream) {
    let mut calls = Vec::new();
    let mut fns = Vec::new();
    for (k, part) in stmts.chunks(CHUNK).enumerate() {
        let name = quote::format_ident!("{prefix}{k}");
        calls.push(call(&name));
        fns.push(def(&name, part));
    }
    (calls, quote!(#(#fns)*))
}

/// One field of a wide struct for [`wide_std_impls`]: its name, and the value it starts with
/// in `Default` and before `Clone` copies it (`None`, `Patch::Unset`), when it has one; a field
/// without one is cloned in the struct literal (required values, the builder's states).
struct WideField {
    id: syn::Ident,
    empty: Option<TokenStream>,
}

/// `Debug`, `Clone` and (`default`) `Default` of the wide struct `ty`, as the derives would
/// behave (the same `Debug` text), with the per-field work in hidden functions of [`CHUNK`]
/// fields named `{prefix}..`.
fn wide_std_impls(
    ty: &syn::Ident,
    prefix: &str,
    fields: &[WideField],
    default: bool,
) -> TokenStream {
    let ty_name = ty.to_string();
    let debug_stmts = fields
        .iter()
        .map(|w| {
            let id = &w.id;
            let name = id.to_string();
            let name = name.trim_start_matches("r#");
            quote!(d.field(#name, &this.#id);)
        })
        .collect();
    let (debug_calls, debug_fns) = chunked(
        &format!("{prefix}debug_"),
        debug_stmts,
        |name, stmts| {
            quote! {
                fn #name(this: &#ty, d: &mut ::core::fmt::DebugStruct<'_, '_>) {
                    #(#stmts)*
                }
            }
        },
        |name| quote!(#name(self, &mut d);),
    );
    let literal = fields.iter().map(|w| {
        let id = &w.id;
        match &w.empty {
            Some(empty) => quote!(#id: #empty,),
            None => quote!(#id: ::core::clone::Clone::clone(&self.#id),),
        }
    });
    let clone_stmts = fields
        .iter()
        .filter(|w| w.empty.is_some())
        .map(|w| {
            let id = &w.id;
            quote!(out.#id = ::core::clone::Clone::clone(&this.#id);)
        })
        .collect();
    let (clone_calls, clone_fns) = chunked(
        &format!("{prefix}clone_"),
        clone_stmts,
        |name, stmts| {
            quote! {
                fn #name(this: &#ty, out: &mut #ty) {
                    #(#stmts)*
                }
            }
        },
        |name| quote!(#name(self, &mut out);),
    );
    // `mut` only when a function fills it (a struct of required values alone has none).
    let out_binding = if clone_calls.is_empty() {
        quote!(out)
    } else {
        quote!(mut out)
    };
    let default_impl = default.then(|| {
        let literal = fields.iter().map(|w| {
            let id = &w.id;
            match &w.empty {
                Some(empty) => quote!(#id: #empty,),
                None => quote!(#id: ::core::default::Default::default(),),
            }
        });
        quote! {
            impl ::core::default::Default for #ty {
                fn default() -> Self {
                    #ty { #(#literal)* }
                }
            }
        }
    });
    quote! {
        impl ::core::fmt::Debug for #ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut d = f.debug_struct(#ty_name);
                #(#debug_calls)*
                d.finish()
            }
        }
        #debug_fns

        impl ::core::clone::Clone for #ty {
            fn clone(&self) -> Self {
                let #out_binding = #ty { #(#literal)* };
                #(#clone_calls)*
                out
            }
        }
        #clone_fns

        #default_impl
    }
}

/// Expands a model into the items of one entity. Fails (never panics) when a name of the model
/// is not a Rust identifier, which [`crate::model::build`] already refuses.
pub fn expand(
    model: &EntityModel,
    cx: &ExpandContext,
    warnings: &[Diagnostic],
) -> Result<TokenStream, Diagnostic> {
    BAD_IDENTS.with(|bad| bad.borrow_mut().clear());
    let tokens = clean_docs(expand_unchecked(model, cx, warnings));
    let mut bad = BAD_IDENTS.with(|bad| std::mem::take(&mut *bad.borrow_mut()));
    bad.sort();
    bad.dedup();
    if bad.is_empty() {
        Ok(tokens)
    } else {
        let names: Vec<String> = bad
            .iter()
            .map(|n| format!("`{}`", n.escape_debug()))
            .collect();
        Err(Diagnostic {
            level: Level::Error,
            message: format!(
                "the generated code would use {}, which {} not a Rust identifier; rename the field or item (this is a bitrix-codegen bug: please report it with the snapshot)",
                names.join(", "),
                if bad.len() == 1 { "is" } else { "are" }
            ),
            origin: Origin::Schema,
        })
    }
}

fn expand_unchecked(
    model: &EntityModel,
    cx: &ExpandContext,
    warnings: &[Diagnostic],
) -> TokenStream {
    let rt: TokenStream = model
        .runtime_path
        .parse()
        .unwrap_or_else(|_| quote!(::bitrix_runtime));
    let n = &model.names;
    let c = Cx {
        model,
        rt: rt.clone(),
        vis: inner_vis(&cx.vis),
        read: ident(&n.read),
        read_link: format!("super::{}", n.read),
        create: ident(&n.create),
        builder: ident(&n.builder),
        patch: ident(&n.patch),
        field_enum: ident(&n.field_enum),
        wide: model.fields.len() > WIDE_LIMIT,
        positions: model
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.code.as_str(), i as u32))
            .collect(),
    };
    let read_model = read::read_model(&c, &cx.attrs, &cx.vis);
    let (fields, fields_block) = fields::items(&c);
    let (create, create_block) = create::items(&c);
    let (patch, patch_block) = patch::items(&c);
    let (pipelines, pipelines_block) = pipelines::items(&c);
    let module_items = [fields, enums::items(&c), pipelines, create, patch];
    let block_items = [
        read::items(&c),
        fields_block,
        create_block,
        patch_block,
        traits::items(&c),
        projection::items(&c),
        pipelines_block,
    ];
    let module = ident(&n.module);
    let markers = ident(&n.markers);
    let outer_vis = &cx.vis;
    let mut exported: Vec<&syn::Ident> = vec![&c.create, &c.builder, &c.patch, &c.field_enum];
    let enum_idents: Vec<syn::Ident> = model
        .fields
        .iter()
        .filter_map(|f| f.enumeration.as_ref().map(|e| ident(&e.ident)))
        .collect();
    exported.extend(enum_idents.iter());
    let catalog_idents: Vec<syn::Ident> = model.catalog.idents().into_iter().map(ident).collect();
    exported.extend(catalog_idents.iter());
    let warnings = warnings
        .iter()
        .map(|w| warning(&w.message, cx.warning_span));
    let header = quote! {
        use ::core::option::Option::{self, None, Some};
        use ::core::result::Result::{self, Ok};
        use ::std::{collections::BTreeMap, string::String, vec::Vec};
        use #rt::__private::{self as __p, codec, serde, serde_json, types, Field, Patch};
        use __p::{meta, PutExt as _, TakeExt as _};
        use __p::{DEPRECATED, DYNAMIC, IMMUTABLE, MULTIPLE, READ_ONLY, REQUIRED};
    };
    let allow = quote! {
        #[allow(deprecated, dead_code, unused_imports, unreachable_code, non_camel_case_types, non_upper_case_globals, missing_docs, clippy::all, clippy::pedantic, clippy::nursery)]
    };
    quote! {
        #read_model
        #[doc(hidden)]
        #allow
        mod #module {
            #header
            use self::#markers as m;
            #(#module_items)*
        }
        #[allow(unused_imports)]
        #outer_vis use #module::{#(#exported),*};
        #[doc(hidden)]
        #[allow(unused_imports)]
        #outer_vis use #module::#markers;
        // The read model's impls: beside it, so that they also see it in a function body.
        #allow
        const _: () = {
            #header
            use #module::{f, #markers as m};
            #(#block_items)*
        };
        #(#warnings)*
    }
}

/// The visibility of an item inside the private module that gives it, re-exported, the
/// annotated struct's visibility `vis`.
fn inner_vis(vis: &TokenStream) -> TokenStream {
    match syn::parse2::<syn::Visibility>(vis.clone()) {
        Ok(syn::Visibility::Public(_)) => quote!(pub),
        Ok(syn::Visibility::Inherited) | Err(_) => quote!(pub(super)),
        Ok(syn::Visibility::Restricted(r)) => {
            let path = &r.path;
            let first = path.segments.first().map(|s| s.ident.to_string());
            match first.as_deref() {
                _ if path.leading_colon.is_some() => quote!(#vis),
                Some("crate") => quote!(#vis),
                Some("self") => {
                    let rest = path.segments.iter().skip(1);
                    quote!(pub(in super #(::#rest)*))
                }
                _ => quote!(pub(in super::#path)),
            }
        }
    }
}

/// Portal text made safe for a doc comment: the text-direction controls rustc refuses in
/// comments (U+202A-U+202E, U+2066-U+2069, and the marks U+061C, U+200E, U+200F) are removed,
/// and control characters (CR, LF, tab, ...) and line/paragraph separators become spaces, so
/// that a rendered `///` line stays one line. String literals need none of this: they are
/// escaped.
pub fn doc_text(text: &str) -> std::borrow::Cow<'_, str> {
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}' | '\u{200E}' | '\u{200F}');
    let space = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
    if !text.chars().any(|c| bidi(c) || space(c)) {
        return text.into();
    }
    text.chars()
        .filter(|&c| !bidi(c))
        .map(|c| if space(c) { ' ' } else { c })
        .collect::<String>()
        .into()
}

/// Every `#[doc = "..."]` in `tokens` with its text passed through [`doc_text`]: one place,
/// whatever item the doc is on, so that no portal text can break a rendered doc comment.
fn clean_docs(tokens: TokenStream) -> TokenStream {
    use proc_macro2::{Delimiter, Group, Literal, TokenTree};
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                let stream = match inner.as_slice() {
                    [
                        TokenTree::Ident(doc),
                        TokenTree::Punct(eq),
                        TokenTree::Literal(lit),
                    ] if g.delimiter() == Delimiter::Bracket
                        && doc == "doc"
                        && eq.as_char() == '=' =>
                    {
                        match syn::parse2::<syn::LitStr>(TokenTree::Literal(lit.clone()).into()) {
                            Ok(text) if doc_text(&text.value()) != text.value() => {
                                let mut clean = Literal::string(&doc_text(&text.value()));
                                clean.set_span(lit.span());
                                quote!(#doc #eq #clean)
                            }
                            _ => g.stream(),
                        }
                    }
                    _ => clean_docs(g.stream()),
                };
                let mut group = Group::new(g.delimiter(), stream);
                group.set_span(g.span());
                TokenTree::Group(group)
            }
            other => other,
        })
        .collect()
}

thread_local! {
    /// Names [`ident`] refused during the current [`expand`].
    static BAD_IDENTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The identifier `name`. Never panics: a name that is not an identifier is recorded, so that
/// [`expand`] fails with a diagnostic, and a placeholder stands in for it meanwhile.
fn ident(name: &str) -> syn::Ident {
    if naming::is_ident(name) {
        syn::Ident::new(name, Span::call_site())
    } else {
        BAD_IDENTS.with(|bad| bad.borrow_mut().push(name.to_owned()));
        syn::Ident::new("__bitrix_invalid_name", Span::call_site())
    }
}

/// `module::Path<Args>` from text such as `Id<DealId>` (arguments live in `types`).
fn path_in(module: &str, path: &str) -> TokenStream {
    let module = ident(module);
    spelled(&quote!(#module), &quote!(types), path)
}

/// `head_prefix::Head<args_prefix::Arg, ...>` from text such as `Id<DealId>`.
fn spelled(head_prefix: &TokenStream, args_prefix: &TokenStream, path: &str) -> TokenStream {
    match path.split_once('<') {
        Some((head, args)) => {
            let head = ident(head);
            let args = args
                .trim_end_matches('>')
                .split(',')
                .map(|a| ident(a.trim()));
            quote!(#head_prefix::#head<#(#args_prefix::#args),*>)
        }
        None => {
            let head = ident(path);
            quote!(#head_prefix::#head)
        }
    }
}

/// How type paths are spelled: inside the private module (its `use` header) or outside it.
struct Paths {
    /// `types` or `::bitrix_runtime::types`.
    types: TokenStream,
    /// `String` or `::std::string::String`.
    string: TokenStream,
    /// `Vec` or `::std::vec::Vec`.
    vec: TokenStream,
    /// `serde_json` or `::bitrix_runtime::__private::serde_json`.
    json: TokenStream,
}

impl Paths {
    fn inner() -> Self {
        Paths {
            types: quote!(types),
            string: quote!(String),
            vec: quote!(Vec),
            json: quote!(serde_json),
        }
    }

    fn outer(rt: &TokenStream) -> Self {
        Paths {
            types: quote!(#rt::types),
            string: quote!(::std::string::String),
            vec: quote!(::std::vec::Vec),
            json: quote!(#rt::__private::serde_json),
        }
    }

    /// A type under `types`, with generic arguments from there too (`DateTime<FixedOffset>`).
    fn types_path(&self, path: &str) -> TokenStream {
        spelled(&self.types, &self.types, path)
    }

    /// The type of one value of an element codec (`upload`: as written).
    fn element_ty(&self, e: &ElementCodec, upload: bool) -> TokenStream {
        let types = &self.types;
        match e {
            ElementCodec::Plain {
                value: Value::Prelude("String"),
                ..
            } => self.string.clone(),
            ElementCodec::Plain {
                value: Value::Prelude(t),
                ..
            } => {
                let t = ident(t);
                quote!(#t)
            }
            ElementCodec::Plain {
                value: Value::Types(t),
                ..
            }
            | ElementCodec::Id(t) => self.types_path(t),
            ElementCodec::SmartId(n) => {
                let types = self.types_path("SmartItemId");
                let n = proc_macro2::Literal::u32_unsuffixed(*n);
                quote!(#types<#n>)
            }
            ElementCodec::Enum(e) | ElementCodec::Category(e) => {
                let e = ident(e);
                quote!(#e)
            }
            ElementCodec::File if upload => quote!(#types::FileUpload),
            ElementCodec::File => quote!(#types::File),
            ElementCodec::Multifield(k) => {
                let k = ident(k);
                if upload {
                    quote!(#types::MultifieldOps<#types::#k>)
                } else {
                    let vec = &self.vec;
                    quote!(#vec<#types::Multifield<#types::#k>>)
                }
            }
            ElementCodec::Json => {
                let json = &self.json;
                quote!(#json::Value)
            }
        }
    }

    /// The Rust type of a field's value (`Vec<..>` for multiple fields).
    fn value_ty(&self, f: &FieldModel, upload: bool) -> TokenStream {
        let t = self.element_ty(&f.mapping.element, upload);
        if f.mapping.multiple {
            let vec = &self.vec;
            quote!(#vec<#t>)
        } else {
            t
        }
    }
}

/// The element codec.
fn element_codec(e: &ElementCodec) -> TokenStream {
    match e {
        ElementCodec::Plain { codec, .. } => path_in("codec", codec),
        ElementCodec::Id(t) => {
            let t = ident(t);
            quote!(codec::Id<types::#t>)
        }
        ElementCodec::SmartId(n) => {
            let n = proc_macro2::Literal::u32_unsuffixed(*n);
            quote!(codec::Id<types::SmartItemId<#n>>)
        }
        ElementCodec::Enum(e) => {
            let e = ident(e);
            quote!(codec::Enum<#e>)
        }
        ElementCodec::Category(e) => {
            let e = ident(e);
            quote!(codec::Pipeline<#e>)
        }
        ElementCodec::File => quote!(codec::File),
        ElementCodec::Json => quote!(codec::Json),
        ElementCodec::Multifield(k) => {
            let k = ident(k);
            quote!(codec::Multifields<types::#k>)
        }
    }
}

/// The codec that reads the field (`Multi<..>` for multiple fields).
fn read_codec(f: &FieldModel) -> TokenStream {
    let e = element_codec(&f.mapping.element);
    if f.mapping.multiple {
        quote!(codec::Multi<#e>)
    } else {
        e
    }
}

/// The codec of the field's typed constant: one element, decides the filter operators.
fn filter_codec(f: &FieldModel) -> TokenStream {
    let e = element_codec(&f.mapping.element);
    if f.mapping.no_filter {
        quote!(codec::NoFilter<#e>)
    } else {
        e
    }
}

/// The Rust type of a written value, inside the private module.
fn write_ty(f: &FieldModel) -> TokenStream {
    Paths::inner().value_ty(f, true)
}

/// The field's marker type (`m::DATE_CREATE`), for the fields compile errors name.
fn marker(f: &FieldModel) -> TokenStream {
    let m = ident(&f.marker);
    quote!(m::#m)
}

/// The field's typed code (`f::TITLE`), as it is read.
fn code(f: &FieldModel) -> TokenStream {
    let m = ident(&f.marker);
    quote!(f::#m)
}

/// The field's typed code as it is written (files are written as uploads, multifields as
/// their write operations).
fn write_code(f: &FieldModel) -> TokenStream {
    let c = code(f);
    if matches!(
        f.mapping.element,
        ElementCodec::File | ElementCodec::Multifield(_)
    ) {
        quote!(#c.upload())
    } else {
        c
    }
}

/// Escapes text from the portal for Markdown docs (labels are free text: `<b>`, `*`, `_`).
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' | '`' | '*' | '[' | ']' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// The field's human name: its label, else its title, escaped.
fn name(f: &FieldModel) -> String {
    md(f.label.as_deref().unwrap_or(&f.title))
}

fn deprecated_attr(f: &FieldModel) -> TokenStream {
    if f.deprecated {
        let note = format!("{} is marked isDeprecated by the portal", f.code);
        quote!(#[deprecated(note = #note)])
    } else {
        quote!()
    }
}

/// One doc line for a payload field or setter, linking to the field's full docs (repeating
/// them everywhere would multiply the size of the generated code for big portals).
/// `owner` is the type named in the link (`NewDeal`, or `super::Deal` for the read model).
fn see_docs(f: &FieldModel, verb: &str, owner: &dyn std::fmt::Display) -> TokenStream {
    let owner = owner.to_string();
    let shown = owner.rsplit("::").next().unwrap_or(&owner);
    let line = if shown == owner {
        format!(
            " {verb} `{}` ({}): see [`{owner}::{}`].",
            f.code,
            name(f),
            f.ident
        )
    } else {
        format!(
            " {verb} `{}` ({}): see [`{shown}::{}`]({owner}::{}).",
            f.code,
            name(f),
            f.ident,
            f.ident
        )
    };
    quote!(#[doc = #line])
}

/// The methods that exist only to explain at compile time why a field cannot be written, in a
/// hidden impl block of `ty` (`impl<R0> NewDealBuilder<R0>`): one per read-only field, and on
/// the update payload (`update`) one per immutable field, each bounded by a never-implemented
/// guard trait (`ReadOnly`, `Immutable`) over the field's marker.
fn guards(c: &Cx<'_>, ty: TokenStream, update: bool) -> TokenStream {
    let methods: Vec<TokenStream> = c
        .model
        .fields
        .iter()
        .filter_map(|f| {
            let guard = match (f.read_only, f.immutable) {
                (true, _) => "ReadOnly",
                (false, true) if update => "Immutable",
                _ => return None,
            };
            let id = ident(&f.ident);
            let marker = marker(f);
            let guard = ident(guard);
            Some(quote! {
                pub fn #id<__V: __p::#guard<#marker>>(self, value: __V) -> Self {
                    match value.unreachable() {}
                }
            })
        })
        .collect();
    if methods.is_empty() {
        return quote!();
    }
    quote! {
        #[doc(hidden)]
        impl #ty {
            #(#methods)*
        }
    }
}

/// `impl PartialEq`, comparing the fields one statement after another. The derive builds one
/// `a == a && b == b && ...` expression, as deep as the struct is wide: rustc overflowed its
/// stack on it for 6,000 fields (issue 14 item 6). A wide entity compares in hidden functions
/// of [`CHUNK`] fields named `{prefix}..`.
fn partial_eq<'a>(
    c: &Cx<'_>,
    ty: &syn::Ident,
    prefix: &str,
    fields: impl Iterator<Item = &'a syn::Ident>,
) -> TokenStream {
    if !c.wide {
        return quote! {
            impl ::core::cmp::PartialEq for #ty {
                fn eq(&self, other: &Self) -> bool {
                    #(if self.#fields != other.#fields { return false; })*
                    true
                }
            }
        };
    }
    let stmts = fields
        .map(|id| quote!(if this.#id != other.#id { return false; }))
        .collect();
    let (calls, fns) = chunked(
        &format!("{prefix}eq_"),
        stmts,
        |name, stmts| {
            quote! {
                fn #name(this: &#ty, other: &#ty) -> bool {
                    #(#stmts)*
                    true
                }
            }
        },
        |name| quote!(#name(self, other)),
    );
    let body = if calls.is_empty() {
        quote!(true)
    } else {
        quote!(#(#calls)&&*)
    };
    quote! {
        impl ::core::cmp::PartialEq for #ty {
            fn eq(&self, other: &Self) -> bool {
                #body
            }
        }
        #fns
    }
}

fn warning(message: &str, span: Span) -> TokenStream {
    let note = format!("bitrix_entity: {message}");
    quote_spanned! {span=>
        const _: () = {
            #[deprecated(note = #note)]
            #[allow(non_upper_case_globals)]
            const bitrix_entity_warning: () = ();
            bitrix_entity_warning
        };
    }
}
