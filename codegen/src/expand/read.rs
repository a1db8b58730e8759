//! The read model (`Deal`): every field `Option<_>`, documented; its `Deserialize` (through
//! the runtime's `Record` visitor) and `Serialize`.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{
    CHUNK, Cx, Paths, WideField, chunked, code, deprecated_attr, ident, md, partial_eq,
    wide_std_impls,
};
use crate::model::FieldModel;

/// The impls of the block beside the read model.
pub(super) fn items(c: &Cx<'_>) -> TokenStream {
    let de = deserialize(c);
    let ser = serialize(c);
    let idents: Vec<syn::Ident> = c
        .model
        .fields
        .iter()
        .map(|f| ident(&f.ident))
        .chain([ident("extra")])
        .collect();
    let eq = partial_eq(c, &c.read, "__read_", idents.iter());
    // A wide read model's `Debug`, `Clone` and `Default` (the small one derives them).
    let std = c.wide.then(|| {
        let fields: Vec<WideField> = c
            .model
            .fields
            .iter()
            .map(|f| WideField {
                id: ident(&f.ident),
                empty: Some(quote!(None)),
            })
            .chain([WideField {
                id: ident("extra"),
                empty: Some(quote!(BTreeMap::new())),
            }])
            .collect();
        wide_std_impls(&c.read, "__read_", &fields, true)
    });
    quote!(#de #ser #eq #std)
}

fn flags(f: &FieldModel) -> String {
    let flags = [
        (f.required, "required"),
        (f.read_only, "read-only"),
        (f.immutable, "immutable"),
        (f.multiple, "multiple"),
        (f.deprecated, "deprecated"),
        (f.dynamic, "user field"),
    ];
    let on: Vec<&str> = flags
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
    on.join(", ")
}

/// The doc lines of a field: human name, code, type and flags on one line; then the labels and
/// a note on unknown types, when there is something to say.
fn field_docs(f: &FieldModel) -> Vec<String> {
    let name = f.label.as_deref().unwrap_or(&f.title);
    let mut lines = Vec::new();
    let mut meta = format!(
        " **{}** · `{}` · type `{}`",
        md(name),
        f.code,
        f.bitrix_type.replace('`', "'")
    );
    if let Some(st) = &f.status_type {
        meta.push_str(&format!(" (`{}`)", st.replace('`', "'")));
    }
    let fl = flags(f);
    if !fl.is_empty() {
        meta.push_str(&format!(" · {fl}"));
    }
    lines.push(meta);
    if f.labels.len() > 1 || (f.dynamic && f.title != f.code) {
        lines.push(String::new());
        let labels: Vec<String> = f.labels.iter().map(|l| format!("\"{}\"", md(l))).collect();
        lines.push(format!(" Labels: {}.", labels.join(", ")));
    }
    if !f.mapping.known {
        lines.push(String::new());
        lines.push(format!(
            " The type `{}` is unknown to bitrix-codegen: the value is raw JSON.",
            md(&f.bitrix_type)
        ));
    }
    lines
}

/// The struct, where the annotated struct was (outside the private module, so with full
/// paths), with the annotated struct's visibility and attributes.
pub(super) fn read_model(c: &Cx<'_>, attrs: &[TokenStream], vis: &TokenStream) -> TokenStream {
    let Cx { rt, read, .. } = c;
    let paths = Paths::outer(rt);
    let m = c.model;
    let user_fields = m.fields.iter().filter(|f| f.dynamic).count();
    let summary = format!(
        " The {} read model of the portal snapshot `{}`: {} fields, {} of them user fields.",
        m.entity.name,
        m.schema_label,
        m.fields.len(),
        user_fields
    );
    let doc_block = if attrs.is_empty() {
        let more = format!(
            " Every field is optional: `{}.list` returns only the selected fields. Create records with [`{}`], update them with [`{}`], name fields in queries with the constants (`{}::{}`) or [`{}`].",
            m.entity.method_prefix,
            c.create,
            c.patch,
            read,
            m.fields
                .first()
                .map(|f| f.const_name.as_str())
                .unwrap_or("ID"),
            c.field_enum
        );
        quote!(#[doc = #summary] #[doc = ""] #[doc = #more])
    } else {
        quote!(#(#attrs)* #[doc = ""] #[doc = #summary])
    };
    let fields = m.fields.iter().map(|f| {
        let docs = field_docs(f);
        let dep = deprecated_attr(f);
        let id = ident(&f.ident);
        let ty = paths.value_ty(f, false);
        quote! { #(#[doc = #docs])* #dep pub #id: ::core::option::Option<#ty>, }
    });
    let derive = (!c.wide).then(|| quote!(#[derive(Debug, Clone, Default)]));
    quote! {
        #doc_block
        #derive
        #[allow(deprecated, dead_code, clippy::all, clippy::pedantic, clippy::nursery)]
        #vis struct #read {
            #(#fields)*
            /// Fields the portal returned that the snapshot does not know (added on the portal
            /// after the snapshot was taken), as raw JSON. Refresh the snapshot to type them.
            pub extra: ::std::collections::BTreeMap<::std::string::String, #rt::__private::serde_json::Value>,
        }
    }
}

fn deserialize(c: &Cx<'_>) -> TokenStream {
    let Cx {
        read, field_enum, ..
    } = c;
    let arms = c.model.fields.iter().map(|f| {
        let variant = ident(&f.variant);
        let id = ident(&f.ident);
        let code = code(f);
        quote!(#field_enum::#variant => self.#id = map.take(#code)?,)
    });
    let expecting = format!(
        "a {} record (a JSON object of field codes)",
        c.model.entity.name
    );
    // One slot per entry of the field table (codes and item names) plus one, as the
    // runtime's `RowOrder` needs for its learned key order to apply.
    let slots = Literal::usize_unsuffixed(super::fields::sorted_names(&c.model.fields).len() + 1);
    let (decode_body, decode_fns) = if c.wide {
        wide_decode(c)
    } else {
        (
            quote! {
                match field {
                    #(#arms)*
                }
                Ok(())
            },
            quote!(),
        )
    };
    quote! {
        impl<'de> serde::Deserialize<'de> for #read {
            fn deserialize<__D: serde::Deserializer<'de>>(deserializer: __D) -> Result<Self, __D::Error> {
                __p::deserialize_record(deserializer)
            }
        }

        impl __p::Record for #read {
            type Field = #field_enum;
            const EXPECTING: &'static str = #expecting;
            fn sorted() -> &'static [(&'static str, #field_enum)] {
                #field_enum::__sorted()
            }
            fn order() -> &'static [__p::AtomicU32] {
                static ORDER: __p::RowOrder<#slots> = __p::RowOrder::new();
                ORDER.slots()
            }
            fn extra(&mut self) -> &mut BTreeMap<String, serde_json::Value> {
                &mut self.extra
            }
            fn decode<'de, __A: __p::MapAccess<'de>>(&mut self, field: #field_enum, map: &mut __A) -> Result<(), __A::Error> {
                #decode_body
            }
        }
        #decode_fns
    }
}

/// A wide read model's `decode` (see [`super::WIDE_LIMIT`]): the field's position picks a hidden
/// function of [`CHUNK`] fields, which matches on the position. Returns (the body, the
/// functions).
fn wide_decode(c: &Cx<'_>) -> (TokenStream, TokenStream) {
    let read = &c.read;
    let arms = c
        .model
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let id = ident(&f.ident);
            let code = code(f);
            let i = Literal::usize_unsuffixed(i);
            quote!(#i => this.#id = map.take(#code)?,)
        })
        .collect();
    let (calls, fns) = chunked(
        "__read_decode_",
        arms,
        |name, arms| {
            quote! {
                fn #name<'de, __A: __p::MapAccess<'de>>(this: &mut #read, i: usize, map: &mut __A) -> Result<(), __A::Error> {
                    match i {
                        #(#arms)*
                        _ => {}
                    }
                    Ok(())
                }
            }
        },
        |name| quote!(#name(self, i, map)),
    );
    let k = (0..calls.len()).map(Literal::usize_unsuffixed);
    let chunk = Literal::usize_unsuffixed(CHUNK);
    let body = quote! {
        let i = field.__index();
        match i / #chunk {
            #(#k => #calls,)*
            _ => Ok(()),
        }
    };
    (body, fns)
}

fn serialize(c: &Cx<'_>) -> TokenStream {
    let read = &c.read;
    let this = if c.wide { quote!(this) } else { quote!(self) };
    let entries: Vec<TokenStream> = c
        .model
        .fields
        .iter()
        .map(|f| {
            let id = ident(&f.ident);
            let code = code(f);
            quote!(map.put(#code, &#this.#id)?;)
        })
        .collect();
    let (entries, fns) = wide_entries(c, read, "__read_ser_", entries, &Sink::map());
    let imp = serialize_impl(
        read,
        quote! {
            #entries
            __p::put_extra(&mut map, &self.extra)?;
        },
    );
    quote!(#imp #fns)
}

/// What the hidden functions of [`wide_entries`] write to: a generic parameter with its bound,
/// the argument, the error type, and what the caller passes.
pub(super) struct Sink {
    pub(super) generic: TokenStream,
    pub(super) arg: TokenStream,
    pub(super) error: TokenStream,
    pub(super) pass: TokenStream,
}

impl Sink {
    /// The serializer's `map`.
    pub(super) fn map() -> Sink {
        Sink {
            generic: quote!(__M: serde::ser::SerializeMap),
            arg: quote!(map: &mut __M),
            error: quote!(__M::Error),
            pass: quote!(&mut map),
        }
    }
}

/// The entries of a serializer or field walk as they are (small entity; `self` in them), or
/// in a wide one (`this` in them) calls of hidden functions of [`CHUNK`] entries named
/// `{prefix}..` writing to `sink`. Returns (what goes in the body, the functions).
pub(super) fn wide_entries(
    c: &Cx<'_>,
    ty: &syn::Ident,
    prefix: &str,
    entries: Vec<TokenStream>,
    sink: &Sink,
) -> (TokenStream, TokenStream) {
    if !c.wide {
        return (quote!(#(#entries)*), quote!());
    }
    let Sink {
        generic,
        arg,
        error,
        pass,
    } = sink;
    let (calls, fns) = chunked(
        prefix,
        entries,
        |name, entries| {
            quote! {
                fn #name<#generic>(this: &#ty, #arg) -> Result<(), #error> {
                    #(#entries)*
                    Ok(())
                }
            }
        },
        |name| quote!(#name(self, #pass)?;),
    );
    (quote!(#(#calls)*), fns)
}

/// `impl Serialize` writing a JSON object; `entries` write to `map`.
///
/// Generic parameters of generated code are `__`-prefixed (`__S`, `__D`, `__A`, `__C`, `__V`):
/// a struct name cannot start with `_`, so none of them can shadow the read model (`pub struct
/// C;` once broke `impl<C> From<Field<C, C>>`). The builder's `R0`, `Q0` live in the private
/// module, where every type is `New..`, `..Patch`, `..Field` or the read model's name followed
/// by a PascalCase field name, none of which looks like a letter and digits.
pub(super) fn serialize_impl(ty: &syn::Ident, entries: TokenStream) -> TokenStream {
    quote! {
        impl serde::Serialize for #ty {
            fn serialize<__S: serde::Serializer>(&self, serializer: __S) -> Result<__S::Ok, __S::Error> {
                let mut map = __p::open(serializer)?;
                #entries
                __p::end(map)
            }
        }
    }
}
