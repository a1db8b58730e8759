//! One enum per enumeration field, plus `Other(String)` for items added on the portal later:
//! a variant per item from the snapshot's `items`, or above [`VARIANT_LIMIT`] items an associated
//! constant per item (rustc's cost of naming variants grows as their number squared).

use proc_macro2::TokenStream;
use quote::quote;

use super::{Cx, ident, name};
use crate::model::{EnumModel, FieldModel};

pub(super) fn items(c: &Cx<'_>) -> TokenStream {
    let enums = c.model.fields.iter().filter_map(|f| enumeration(c, f));
    quote!(#(#enums)*)
}

fn enumeration(c: &Cx<'_>, f: &FieldModel) -> Option<TokenStream> {
    let e = f.enumeration.as_ref()?;
    let vis = &c.vis;
    let enum_name = ident(&e.ident);
    let doc = format!(
        " Items of the enumeration field `{}` ({}). Ids the snapshot does not know (items added on the portal later) read as [`{}::Other`].",
        f.code,
        name(f),
        e.ident
    );
    let Shape {
        derives,
        variants,
        all,
        inherent,
        id_body,
        impls,
    } = if e.variants.len() <= VARIANT_LIMIT {
        variants(e)
    } else {
        constants(e)
    };
    Some(quote! {
        #[doc = #doc]
        #derives
        #vis enum #enum_name {
            #variants
            /// An item id the snapshot does not know.
            Other(String),
        }

        impl #enum_name {
            /// Every item known to the snapshot, in portal order.
            pub const ALL: &'static [Self] = &[#all];

            #inherent
        }

        impl types::EnumValue for #enum_name {
            fn from_id(id: &str) -> Self {
                static SORTED: __p::OnceLock<Vec<(&'static str, usize)>> = __p::OnceLock::new();
                match __p::find_code(__p::sorted_items(&SORTED, Self::ALL), id) {
                    Some(i) => Self::ALL[i].clone(),
                    None => Self::Other(String::from(id)),
                }
            }

            fn id(&self) -> &str {
                #id_body
            }
        }

        impl ::core::fmt::Display for #enum_name {
            /// The label, or the id of an unknown item.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.label() {
                    Some(label) => f.write_str(label),
                    None => f.write_str(types::EnumValue::id(self)),
                }
            }
        }

        #impls
    })
}

/// Up to this many items, an enumeration has one variant per item. rustc finds a variant by a
/// linear scan of the enum's variants whenever code names one (so naming each of N variants
/// costs about N squared: a 100,000-item enumeration took minutes to check), and checks a
/// `match` over every variant in about arms x variants. Above it, the items are associated
/// constants of the same names (`DealUfCrmBig::Punkt0`) over one hidden variant holding the
/// item's position, and `id`, `label` and `Debug` read constant tables.
pub const VARIANT_LIMIT: usize = 512;

/// The parts of an enumeration's code that depend on its size.
struct Shape {
    /// The derive attribute.
    derives: TokenStream,
    /// The variants besides `Other`.
    variants: TokenStream,
    /// The elements of `ALL`.
    all: TokenStream,
    /// Inherent items besides `ALL`.
    inherent: TokenStream,
    /// The body of `EnumValue::id`.
    id_body: TokenStream,
    /// Impls besides `EnumValue` and `Display`.
    impls: TokenStream,
}

/// One variant per item; `label` and `id` are matches.
fn variants(e: &EnumModel) -> Shape {
    let variants = e.variants.iter().map(|(v, id, label)| {
        let v = ident(v);
        let doc = format!(" {} (item {id})", super::md(label));
        quote!(#[doc = #doc] #v,)
    });
    let all = e.variants.iter().map(|(v, _, _)| ident(v));
    let ids = e.variants.iter().map(|(v, id, _)| {
        let v = ident(v);
        quote!(Self::#v => #id,)
    });
    let labels = e.variants.iter().map(|(v, _, label)| {
        let v = ident(v);
        quote!(Self::#v => Some(#label),)
    });
    Shape {
        derives: quote!(#[derive(Debug, Clone, PartialEq, Eq, Hash)]),
        variants: quote!(#(#variants)*),
        all: quote!(#(Self::#all),*),
        inherent: quote! {
            /// The item's label (`VALUE`) as the snapshot has it; `None` for [`Self::Other`].
            pub fn label(&self) -> Option<&'static str> {
                match self {
                    #(#labels)*
                    Self::Other(_) => None,
                }
            }
        },
        id_body: quote! {
            match self {
                #(#ids)*
                Self::Other(id) => id,
            }
        },
        impls: quote!(),
    }
}

/// One associated constant per item over the hidden variant `__Item(position)`; tables of
/// ids, labels and names indexed by the position.
fn constants(e: &EnumModel) -> Shape {
    let consts = e.variants.iter().enumerate().map(|(i, (v, id, label))| {
        let v = ident(v);
        let doc = format!(" {} (item {id})", super::md(label));
        let i = i as u32;
        quote!(#[doc = #doc] pub const #v: Self = Self::__Item(#i);)
    });
    let all = (0..e.variants.len() as u32).map(|i| quote!(Self::__Item(#i)));
    let ids = e.variants.iter().map(|(_, id, _)| id);
    let labels = e.variants.iter().map(|(_, _, label)| label);
    let names = e.variants.iter().map(|(v, _, _)| v);
    let enum_name = ident(&e.ident);
    Shape {
        derives: quote!(#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]),
        variants: quote! {
            /// An item the snapshot knows, by its position in `ALL`: name it by its constant
            /// (this enumeration has too many items for a variant each).
            #[doc(hidden)]
            __Item(u32),
        },
        all: quote!(#(#all),*),
        inherent: quote! {
            const __IDS: &'static [&'static str] = &[#(#ids),*];
            const __LABELS: &'static [&'static str] = &[#(#labels),*];
            const __NAMES: &'static [&'static str] = &[#(#names),*];

            /// The item's label (`VALUE`) as the snapshot has it; `None` for [`Self::Other`].
            pub fn label(&self) -> Option<&'static str> {
                match self {
                    Self::__Item(i) => Self::__LABELS.get(*i as usize).copied(),
                    Self::Other(_) => None,
                }
            }
        },
        id_body: quote! {
            match self {
                Self::__Item(i) => Self::__IDS.get(*i as usize).copied().unwrap_or_default(),
                Self::Other(id) => id,
            }
        },
        impls: quote! {
            #[allow(non_upper_case_globals)]
            impl #enum_name {
                #(#consts)*
            }

            impl ::core::fmt::Debug for #enum_name {
                /// The item's constant name, as a variant's would print.
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    match self {
                        Self::__Item(i) => match Self::__NAMES.get(*i as usize) {
                            Some(name) => f.write_str(name),
                            None => f.debug_tuple("__Item").field(i).finish(),
                        },
                        Self::Other(id) => f.debug_tuple("Other").field(id).finish(),
                    }
                }
            }
        },
    }
}
