//! The runtime traits: `Entity` (method prefix, entity type id, id type, payload types) and,
//! when the entity's row in [`crate::entities`] has one, its standard-field trait
//! (`StandardDeal`).

use proc_macro2::TokenStream;
use quote::quote;

use super::{Cx, ident, path_in};
use crate::entities::{self, Access};

pub(super) fn items(c: &Cx<'_>) -> TokenStream {
    let entity = entity_impl(c);
    let standard = standard_impl(c);
    quote!(#entity #standard)
}

fn entity_impl(c: &Cx<'_>) -> TokenStream {
    let Cx {
        read,
        create,
        patch,
        field_enum,
        ..
    } = c;
    let e = &c.model.entity;
    let name = &e.name;
    let prefix = &e.method_prefix;
    let type_id = e.entity_type_id;
    let id_ty = match entities::smart_item_type(name) {
        Some(n) => {
            let n = proc_macro2::Literal::u32_unsuffixed(n);
            quote!(SmartItemId<#n>)
        }
        None => {
            let t = ident(entities::id_type(name));
            quote!(#t)
        }
    };
    let id_field = c
        .model
        .fields
        .iter()
        .find(|f| f.code == "ID" && f.bitrix_type == "integer" && !f.multiple);
    let id_body = match id_field {
        Some(f) => {
            let id = ident(&f.ident);
            quote!(self.#id)
        }
        None => quote!(None),
    };
    // Emitted only when they differ from the trait's defaults (`Api::Legacy`, `true`).
    let api = (c.model.api == crate::entities::Api::Item).then(|| {
        quote!(
            const API: __p::Api = __p::Api::Item;
        )
    });
    let has_legacy = (!c.model.has_legacy).then(|| {
        quote!(
            const HAS_LEGACY: bool = false;
        )
    });
    quote! {
        impl __p::Entity for #read {
            const NAME: &'static str = #name;
            #api
            #has_legacy
            const METHOD_PREFIX: &'static str = #prefix;
            const ENTITY_TYPE_ID: u32 = #type_id;
            type Id = types::#id_ty;
            type New = #create;
            type Patch = #patch;
            type Field = #field_enum;

            fn id(&self) -> Option<Self::Id> {
                #id_body
            }
        }
    }
}

/// The standard-field trait when the snapshot has every standard field with its standard type.
fn standard_impl(c: &Cx<'_>) -> TokenStream {
    let Some(set) = entities::by_name(&c.model.entity.name).and_then(|row| row.standard) else {
        return quote!();
    };
    let read = &c.read;
    let mut consts = Vec::new();
    let mut getters = Vec::new();
    for s in set.fields {
        let field =
            c.model.fields.iter().find(|f| {
                f.code == s.code && f.bitrix_type == s.bitrix_type && !f.mapping.multiple
            });
        let Some(field) = field else {
            return quote!();
        };
        let const_name = ident(s.code);
        let value = c.field_value(field);
        let codec = path_in("codec", s.codec);
        consts.push(quote! {
            const #const_name: Field<Self, #codec> = Field::new(#value);
        });
        let m = ident(s.getter);
        let id = ident(&field.ident);
        let rust = match s.rust {
            "str" => quote!(str),
            "bool" => quote!(bool),
            other => path_in("types", other),
        };
        use crate::pipelines::FieldEnum;
        let typed = c.model.catalog.field_enums.get(&field.code);
        let (ret, body) = match (typed, s.access) {
            // A pipeline or dictionary enum gives the standard id type back.
            (Some(FieldEnum::Category(_)), Access::Copy) => {
                (quote!(Option<#rust>), quote!(self.#id.map(|c| c.id())))
            }
            (Some(FieldEnum::Status(_)), Access::Ref) if s.rust == "CurrencyId" => (
                quote!(Option<&#rust>),
                quote!(self.#id.as_ref().map(|v| v.currency_id())),
            ),
            (Some(FieldEnum::Status(_)), Access::Ref) => (
                quote!(Option<&#rust>),
                quote!(self.#id.as_ref().map(|v| v.status_id())),
            ),
            (_, access) => standard_getter(access, &rust, &id),
        };
        getters.push(quote! {
            fn #m(&self) -> #ret {
                #body
            }
        });
    }
    let trait_name = ident(set.trait_name);
    quote! {
        impl __p::#trait_name for #read {
            #(#consts)*
            #(#getters)*
        }
    }
}

/// A standard getter's return type and body for a field of the standard type.
fn standard_getter(
    access: Access,
    rust: &TokenStream,
    id: &syn::Ident,
) -> (TokenStream, TokenStream) {
    match access {
        Access::Copy => (quote!(Option<#rust>), quote!(self.#id)),
        Access::Ref => (quote!(Option<&#rust>), quote!(self.#id.as_ref())),
        Access::Str => (quote!(Option<&#rust>), quote!(self.#id.as_deref())),
        Access::Slice => (quote!(Option<&[#rust]>), quote!(self.#id.as_deref())),
    }
}
