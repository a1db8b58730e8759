//! One enum per enumeration field, variants from the snapshot's `items`, plus `Other(String)`
//! for items added on the portal later.

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
    let variants = e.variants.iter().map(|(v, id, label)| {
        let v = ident(v);
        let doc = format!(" {} (item {id})", super::md(label));
        quote!(#[doc = #doc] #v,)
    });
    let all = e.variants.iter().map(|(v, _, _)| ident(v));
    let Shape {
        derives,
        inherent,
        id_body,
        impls,
    } = if e.variants.len() <= MATCH_LIMIT {
        matched(e)
    } else {
        tabled(&enum_name, e)
    };
    Some(quote! {
        #[doc = #doc]
        #derives
        #vis enum #enum_name {
            #(#variants)*
            /// An item id the snapshot does not know.
            Other(String),
        }

        impl #enum_name {
            /// Every item known to the snapshot, in portal order.
            pub const ALL: &'static [Self] = &[#(Self::#all),*];

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

/// Up to this many items, an enumeration's `label`, `id`, `Debug` and `Clone` are `match`es
/// over its variants. rustc's exhaustiveness check of a match costs about arms x variants (a
/// 100,000-item enumeration took minutes), so larger enumerations read tables instead: a
/// variant's position is a binary search of `ALL` (declaration order, which the derived `Ord`
/// follows), and `Clone` rebuilds a variant from its position through a tree of `if`s.
pub const MATCH_LIMIT: usize = 512;

/// The parts of an enumeration's code that depend on its size.
struct Shape {
    /// The derive attribute.
    derives: TokenStream,
    /// Inherent items besides `ALL`.
    inherent: TokenStream,
    /// The body of `EnumValue::id`.
    id_body: TokenStream,
    /// Trait impls written out instead of derived.
    impls: TokenStream,
}

/// A small enumeration: matches.
fn matched(e: &EnumModel) -> Shape {
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

/// A large enumeration: tables indexed by the variant's position.
fn tabled(enum_name: &syn::Ident, e: &EnumModel) -> Shape {
    let ids = e.variants.iter().map(|(_, id, _)| id);
    let labels = e.variants.iter().map(|(_, _, label)| label);
    let names = e.variants.iter().map(|(v, _, _)| v);
    let at = at_tree(&e.variants, 0);
    let inherent = quote! {
        const __IDS: &'static [&'static str] = &[#(#ids),*];
        const __LABELS: &'static [&'static str] = &[#(#labels),*];
        const __NAMES: &'static [&'static str] = &[#(#names),*];

        /// The item's label (`VALUE`) as the snapshot has it; `None` for [`Self::Other`].
        pub fn label(&self) -> Option<&'static str> {
            match self {
                Self::Other(_) => None,
                known => Self::__LABELS.get(known.position()).copied(),
            }
        }

        /// A known item's position in `ALL`: `ALL` is sorted by the derived `Ord` (declaration
        /// order), so every known item is found.
        fn position(&self) -> usize {
            Self::ALL.binary_search(self).unwrap_or_else(|at| at)
        }

        /// The known item at `position` (the last one beyond the end).
        fn at(position: usize) -> Self {
            #at
        }
    };
    let id_body = quote! {
        match self {
            Self::Other(id) => id,
            known => Self::__IDS.get(known.position()).copied().unwrap_or_default(),
        }
    };
    let derives = quote! {
        #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    };
    let impls = quote! {
        impl ::core::clone::Clone for #enum_name {
            fn clone(&self) -> Self {
                match self {
                    Self::Other(id) => Self::Other(id.clone()),
                    known => Self::at(known.position()),
                }
            }
        }

        impl ::core::fmt::Debug for #enum_name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self {
                    Self::Other(id) => f.debug_tuple("Other").field(id).finish(),
                    known => f.write_str(Self::__NAMES.get(known.position()).copied().unwrap_or_default()),
                }
            }
        }
    };
    Shape {
        derives,
        inherent,
        id_body,
        impls,
    }
}

/// `Self::at`'s body over `variants` (the first at position `start`): a balanced tree of
/// `if position < mid`, so rustc checks no match over every variant.
fn at_tree(variants: &[(String, String, String)], start: usize) -> TokenStream {
    match variants {
        [] => quote!(Self::Other(String::new())),
        [(v, _, _)] => {
            let v = ident(v);
            quote!(Self::#v)
        }
        _ => {
            let mid = variants.len() / 2;
            let (a, b) = (
                at_tree(&variants[..mid], start),
                at_tree(&variants[mid..], start + mid),
            );
            let split = start + mid;
            quote!(if position < #split { #a } else { #b })
        }
    }
}
