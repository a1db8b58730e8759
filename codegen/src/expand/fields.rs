//! The field enum (`DealField`) with the snapshot's metadata, the typed field constants
//! (`Deal::TITLE`), and one marker type per field (`deal_fields::TITLE`) that binds the field's
//! code to its codec and names it in compile errors.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Cx, filter_codec, ident, name, read_codec};
use crate::model::FieldModel;

/// (items of the private module, impls of the block beside the read model)
pub(super) fn items(c: &Cx<'_>) -> (TokenStream, TokenStream) {
    let field_enum = field_enum(c);
    let markers = markers(c);
    let consts = consts(c);
    let (read, enum_name) = (&c.read, &c.field_enum);
    let from = quote! {
        impl<__C> ::core::convert::From<Field<#read, __C>> for #enum_name {
            fn from(field: Field<#read, __C>) -> Self {
                field.field()
            }
        }
    };
    (quote!(#field_enum #markers), quote!(#consts #from))
}

/// The field enum: a variant per field; or in a wide entity (see [`super::WIDE_LIMIT`]) one
/// hidden variant holding the field's position, an associated constant per field under the
/// name its variant would have, and `Debug` from a table of those names.
fn field_enum(c: &Cx<'_>) -> TokenStream {
    let Cx {
        vis,
        read,
        field_enum,
        ..
    } = c;
    let fields = &c.model.fields;
    let docs: Vec<String> = fields
        .iter()
        .map(|f| {
            format!(
                " `{}` ({}): see [`{read}::{}`](super::{read}::{}).",
                f.code,
                name(f),
                f.ident,
                f.ident
            )
        })
        .collect();
    let names = fields.iter().map(|f| ident(&f.variant));
    let metas = fields.iter().map(meta);
    let sorted = sorted_names(fields).into_iter().map(|(name, f)| {
        let v = c.field_value(f);
        quote!((#name, #v),)
    });
    let mut doc = format!(
        " Every field of [`{read}`](super::{read}), for `select` and `order`; `bitrix_runtime::EntityField::meta` gives the snapshot's descriptor."
    );
    let (derive, variants, all, meta_body, wide_items, index_fn, debug) = if c.wide {
        doc.push_str(" This entity has too many fields for a variant each: the fields are associated constants (`match` on them needs a `_` arm).");
        let n = fields.len() as u32;
        let all = (0..n).map(|i| quote!(Self::__Field(#i)));
        let consts = names
            .zip(&docs)
            .zip(0..n)
            .map(|((v, doc), i)| quote!(#[doc = #doc] pub const #v: Self = Self::__Field(#i);));
        let name_strs = fields.iter().map(|f| &f.variant);
        (
            quote!(#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]),
            quote! {
                /// A field by its position in `ALL`: name it by its constant.
                #[doc(hidden)]
                __Field(u32),
            },
            quote!(#(#all),*),
            quote! {
                match META.get(self.__index()) {
                    Some(meta) => meta,
                    // Only a hand-made `__Field` past the last field gets here.
                    None => &META[0],
                }
            },
            quote! {
                #[allow(non_upper_case_globals)]
                impl #field_enum {
                    #(#consts)*
                }
            },
            quote! {
                /// The field's position in `ALL` (portal order).
                #[doc(hidden)]
                pub const fn __index(self) -> usize {
                    match self {
                        Self::__Field(i) => i as usize,
                    }
                }
            },
            quote! {
                /// Every field's constant name, in portal order (what `Debug` prints).
                const FIELD_NAMES: &[&str] = &[#(#name_strs),*];

                impl ::core::fmt::Debug for #field_enum {
                    /// The field's constant name, as a variant's would print.
                    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        match FIELD_NAMES.get(self.__index()) {
                            Some(name) => f.write_str(name),
                            None => f.debug_tuple("__Field").field(&self.__index()).finish(),
                        }
                    }
                }
            },
        )
    } else {
        let names: Vec<syn::Ident> = names.collect();
        (
            quote!(#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]),
            quote!(#(#[doc = #docs] #names,)*),
            quote!(#(Self::#names),*),
            quote!(&META[self as usize]),
            quote!(),
            quote!(),
            quote!(),
        )
    };
    quote! {
        #[doc = #doc]
        #derive
        #vis enum #field_enum {
            #variants
        }

        #wide_items

        impl __p::EntityField for #field_enum {
            const ALL: &'static [Self] = &[#all];

            fn meta(self) -> &'static __p::FieldMeta {
                #meta_body
            }

            fn from_code(code: &str) -> Option<Self> {
                __p::find_code(Self::__sorted(), code)
            }
        }

        impl #field_enum {
            #index_fn

            /// Every field by its Bitrix code and, where it differs, its `crm.item.*` name,
            /// sorted by name.
            #[doc(hidden)]
            pub fn __sorted() -> &'static [(&'static str, Self)] {
                const SORTED: &[(&str, #field_enum)] = &[#(#sorted)*];
                SORTED
            }
        }

        /// The snapshot's descriptor of every field, in portal order.
        const META: &[__p::FieldMeta] = &[#(#metas)*];

        #debug

        impl ::core::fmt::Display for #field_enum {
            /// The Bitrix code.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(__p::EntityField::code(*self))
            }
        }
    }
}

/// Every field under its code and, when it differs, its item name, sorted by name (byte order,
/// as the runtime's binary search compares), one entry per name: should an item name equal
/// another field's code, the code wins.
pub(crate) fn sorted_names(fields: &[FieldModel]) -> Vec<(&str, &FieldModel)> {
    let mut names: Vec<(&str, &FieldModel)> = fields
        .iter()
        .map(|f| (f.code.as_str(), f))
        .chain(
            fields
                .iter()
                .filter(|f| f.item_name != f.code)
                .map(|f| (f.item_name.as_str(), f)),
        )
        .collect();
    // Stable: among equal names the code (listed first) stays first and is kept.
    names.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    names.dedup_by(|later, first| later.0 == first.0);
    names
}

/// One `FieldMeta` of the metadata table: code, Rust name, type and flags, then the title,
/// label and status type where there is one.
fn meta(f: &FieldModel) -> TokenStream {
    let code = &f.code;
    let rust_name = &f.ident;
    let ty = &f.bitrix_type;
    let flags = [
        (f.required, "REQUIRED"),
        (f.read_only, "READ_ONLY"),
        (f.immutable, "IMMUTABLE"),
        (f.multiple, "MULTIPLE"),
        (f.dynamic, "DYNAMIC"),
        (f.deprecated, "DEPRECATED"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| ident(name))
    .collect::<Vec<_>>();
    let flags = if flags.is_empty() {
        quote!(0)
    } else {
        quote!(#(#flags)|*)
    };
    let title = (f.title != f.code).then(|| {
        let t = &f.title;
        quote!(.with_title(#t))
    });
    let label = f.label.as_ref().map(|l| quote!(.with_label(#l)));
    let status = f.status_type.as_ref().map(|s| quote!(.with_status(#s)));
    let item_name = (f.item_name != f.code).then(|| {
        let n = &f.item_name;
        quote!(.with_item_name(#n))
    });
    quote!(meta(#code, #rust_name, #ty, #flags) #title #label #status #item_name,)
}

fn consts(c: &Cx<'_>) -> TokenStream {
    let read = &c.read;
    let consts = c.model.fields.iter().map(|f| {
        let name_ = ident(&f.const_name);
        let value = c.field_value(f);
        let codec = filter_codec(f);
        let doc = format!(
            " `{}` ({}) for filters, `order` and `select`.",
            f.code,
            name(f)
        );
        quote! {
            #[doc = #doc]
            pub const #name_: Field<#read, #codec> = Field::new(#value);
        }
    });
    quote! {
        /// Typed field identifiers.
        impl #read {
            #(#consts)*
        }
    }
}

/// `mod deal_fields`: a marker type per field that compile errors name (read-only, immutable,
/// required: the guards and the builder's typestate use them); and `mod f`: every field's
/// code typed with its codec (`f::TITLE: Code<codec::Text>`), which the decoder and the
/// serializers pass to the runtime's codec-generic helpers.
fn markers(c: &Cx<'_>) -> TokenStream {
    let module = ident(&c.model.names.markers);
    let read = &c.read;
    let structs = c
        .model
        .fields
        .iter()
        .filter(|f| f.read_only || f.immutable || f.required_on_create())
        .map(|f| {
            let t = ident(&f.marker);
            if f.required_on_create() {
                quote!(#[derive(Debug, Clone, Copy, Default)] pub struct #t;)
            } else {
                quote!(pub struct #t;)
            }
        });
    let codes = c.model.fields.iter().map(|f| {
        let t = ident(&f.marker);
        let code = &f.code;
        let codec = read_codec(f);
        quote!(pub const #t: __p::Code<#codec> = __p::Code::new(#code);)
    });
    let doc = format!(" Types that name fields of `{read}` in compile errors.");
    // Named imports, not a glob: a glob import of the parent would make rustc print the enums
    // by their full path in compile errors (`__bitrix_deal::DealUfCrm..`).
    let enums: Vec<syn::Ident> = c
        .model
        .fields
        .iter()
        .filter_map(|f| f.enumeration.as_ref().map(|e| ident(&e.ident)))
        .chain(c.model.catalog.idents().into_iter().map(ident))
        .collect();
    quote! {
        #[doc = #doc]
        pub mod #module {
            #(#structs)*
        }
        /// Every field's code, typed with its codec.
        pub mod f {
            use super::{__p, codec, types #(, #enums)*};
            #(#codes)*
        }
    }
}
