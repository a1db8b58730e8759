//! One enum per enumeration field, variants from the snapshot's `items`, plus `Other(String)`
//! for items added on the portal later.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Cx, ident, name};
use crate::model::FieldModel;

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
    let ids = e.variants.iter().map(|(v, id, _)| {
        let v = ident(v);
        quote!(Self::#v => #id,)
    });
    let labels = e.variants.iter().map(|(v, _, label)| {
        let v = ident(v);
        quote!(Self::#v => Some(#label),)
    });
    Some(quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #vis enum #enum_name {
            #(#variants)*
            /// An item id the snapshot does not know.
            Other(String),
        }

        impl #enum_name {
            /// Every item known to the snapshot, in portal order.
            pub const ALL: &'static [Self] = &[#(Self::#all),*];

            /// The item's label (`VALUE`) as the snapshot has it; `None` for [`Self::Other`].
            pub fn label(&self) -> Option<&'static str> {
                match self {
                    #(#labels)*
                    Self::Other(_) => None,
                }
            }
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
                match self {
                    #(#ids)*
                    Self::Other(id) => id,
                }
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
    })
}
