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
        impl<C> ::core::convert::From<Field<#read, C>> for #enum_name {
            fn from(field: Field<#read, C>) -> Self {
                field.field()
            }
        }
    };
    (quote!(#field_enum #markers), quote!(#consts #from))
}

fn field_enum(c: &Cx<'_>) -> TokenStream {
    let Cx {
        vis,
        read,
        field_enum,
        ..
    } = c;
    let fields = &c.model.fields;
    let variants = fields.iter().map(|f| {
        let doc = format!(
            " `{}` ({}): see [`{read}::{}`](super::{read}::{}).",
            f.code,
            name(f),
            f.ident,
            f.ident
        );
        let v = ident(&f.variant);
        quote!(#[doc = #doc] #v,)
    });
    let all = fields.iter().map(|f| ident(&f.variant));
    let metas = fields.iter().map(meta);
    let doc = format!(
        " Every field of [`{read}`](super::{read}), for `select` and `order`; `bitrix_runtime::EntityField::meta` gives the snapshot's descriptor."
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #vis enum #field_enum {
            #(#variants)*
        }

        impl __p::EntityField for #field_enum {
            const ALL: &'static [Self] = &[#(Self::#all),*];

            fn meta(self) -> &'static __p::FieldMeta {
                &<Self as __p::FieldTable>::META[self as usize]
            }

            fn from_code(code: &str) -> Option<Self> {
                __p::find_code(Self::__sorted(), code)
            }
        }

        impl #field_enum {
            /// Every field by its Bitrix code, sorted by code.
            #[doc(hidden)]
            pub fn __sorted() -> &'static [(&'static str, Self)] {
                static SORTED: __p::OnceLock<Vec<(&'static str, #field_enum)>> = __p::OnceLock::new();
                __p::sorted_fields(&SORTED)
            }
        }

        impl __p::FieldTable for #field_enum {
            const META: &'static [__p::FieldMeta] = META;
        }

        /// The snapshot's descriptor of every field, in portal order.
        const META: &[__p::FieldMeta] = &[#(#metas)*];

        impl ::core::fmt::Display for #field_enum {
            /// The Bitrix code.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(__p::EntityField::code(*self))
            }
        }
    }
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
    quote!(meta(#code, #rust_name, #ty, #flags) #title #label #status,)
}

fn consts(c: &Cx<'_>) -> TokenStream {
    let Cx {
        read, field_enum, ..
    } = c;
    let consts = c.model.fields.iter().map(|f| {
        let name_ = ident(&f.const_name);
        let variant = ident(&f.variant);
        let codec = filter_codec(f);
        let doc = format!(
            " `{}` ({}) for filters, `order` and `select`.",
            f.code,
            name(f)
        );
        quote! {
            #[doc = #doc]
            pub const #name_: Field<#read, #codec> = Field::new(#field_enum::#variant);
        }
    });
    quote! {
        /// Typed field identifiers.
        impl #read {
            #(#consts)*
        }
    }
}

/// `mod deal_fields`: one marker type per field, named by its code, implementing `FieldDef`
/// (code and codec). Fields that show up in compile errors (read-only, immutable, required:
/// the guards and the builder's typestate name them) get a struct of their own; the others an
/// alias of `Def`, which reads the code from the metadata table.
fn markers(c: &Cx<'_>) -> TokenStream {
    let module = ident(&c.model.names.markers);
    let Cx {
        read, field_enum, ..
    } = c;
    let items = c.model.fields.iter().enumerate().map(|(i, f)| {
        let t = ident(&f.marker);
        let codec = read_codec(f);
        if f.read_only || f.immutable || f.required_on_create() {
            let code = &f.code;
            let derive = if f.required_on_create() {
                quote!(#[derive(Debug, Clone, Copy, Default)])
            } else {
                quote!()
            };
            quote! {
                #derive
                pub struct #t;
                impl __p::FieldDef for #t {
                    const CODE: &'static str = #code;
                    type Codec = #codec;
                }
            }
        } else {
            let i = proc_macro2::Literal::usize_unsuffixed(i);
            quote!(pub type #t = __p::Def<#field_enum, #codec, #i>;)
        }
    });
    let doc = format!(
        " One type per field of `{read}`: binds its code to its codec, names it in compile errors."
    );
    // Named imports, not a glob: a glob import of the parent would make rustc print the enums
    // by their full path in compile errors (`__bitrix_deal::DealUfCrm..`).
    let enums = c
        .model
        .fields
        .iter()
        .filter_map(|f| f.enumeration.as_ref().map(|e| ident(&e.ident)));
    quote! {
        #[doc = #doc]
        pub mod #module {
            use super::{__p, codec, types, #field_enum #(, #enums)*};
            #(#items)*
        }
    }
}
