//! What `#[derive(Projection)]` checks a struct against: a hidden `{Read}Columns` type with one
//! constant per field, typed with the codec that READS the field (`Multi<..>` for a multiple
//! field, where the public `Deal::X` constants carry the element codec of filters), under
//! the field's constant name (`TITLE`, a renamed field's `GREETING`) and, for a renamed field,
//! under its code too (`UF_CRM_1721244482250`, for `#[bitrix(field = "..")]`), and the
//! runtime's `Columns` trait naming that type.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Cx, ident, read_codec};

/// Whether `code` can be a constant's name (upper-case letters, digits, `_`; not a digit
/// first).
fn is_const_ident(code: &str) -> bool {
    let mut chars = code.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && code != "_"
        && code != "Self"
}

pub(super) fn items(c: &Cx<'_>) -> TokenStream {
    let Cx { read, rt, .. } = c;
    let columns = format_ident!("{}Columns", read);
    let taken: HashSet<&str> = c
        .model
        .fields
        .iter()
        .map(|f| f.const_name.as_str())
        .collect();
    let mut aliased: HashSet<&str> = HashSet::new();
    let consts = c.model.fields.iter().map(|f| {
        let value = c.field_value(f);
        let codec = read_codec(f);
        let name = ident(&f.const_name);
        let alias = (f.code != f.const_name
            && is_const_ident(&f.code)
            && !taken.contains(f.code.as_str())
            && aliased.insert(f.code.as_str()))
        .then(|| {
            let code = ident(&f.code);
            quote!(pub const #code: #rt::projection::Column<#read, #codec> = Self::#name;)
        });
        quote! {
            pub const #name: #rt::projection::Column<#read, #codec> =
                #rt::projection::Column::new(#value);
            #alias
        }
    });
    quote! {
        #[doc(hidden)]
        pub struct #columns;
        impl #columns {
            #(#consts)*
        }
        impl #rt::projection::Columns for #read {
            type Columns = #columns;
        }
    }
}
