//! `#[derive(Projection)]`: a user's struct of selected fields, checked against the generated
//! entity's hidden columns (`DealColumns::TITLE: Column<Deal, codec::Text>`, emitted by the
//! generator), never against the snapshot.
//!
//! Per struct field the expansion names `<Entity as Columns>::Columns::CODE` (the generated
//! columns; `<D>::CODE` of a trait for a generic entity; an unknown name is rustc's "no
//! associated item" error at the field, with its "similar name" suggestion) and reads the
//! value through `Fits<Entity, Codec, Value>` (a type that does not fit is that trait's
//! diagnostic at the field's type).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Path, Type};

/// One struct field of the projection.
struct Slot {
    ident: Ident,
    ty: Type,
    /// The entity constant's name (`TITLE`), spanned at the user's field.
    constant: Ident,
    /// Filled with `Default::default()` (`#[bitrix(skip)]`, `PhantomData`).
    skip: bool,
}

pub(crate) fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let mut entity: Option<Path> = None;
    let mut krate: Path = syn::parse_quote!(::bitrix_runtime);
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("bitrix")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("entity") {
                entity = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("crate") {
                let lit: LitStr = meta.value()?.parse()?;
                krate = lit.parse()?;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown projection argument; expected `entity = Deal` (and optionally `crate = \"path\"`)",
                ))
            }
        })?;
    }
    let Some(entity) = entity else {
        return Err(syn::Error::new(
            Span::call_site(),
            "a projection names its entity: add `#[bitrix(entity = Deal)]`",
        ));
    };
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "`Projection` derives only on a struct with named fields",
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new(
            data.fields.span(),
            "`Projection` derives only on a struct with named fields",
        ));
    };
    let mut slots = Vec::new();
    for field in &named.named {
        let Some(ident) = field.ident.clone() else {
            continue;
        };
        let mut code: Option<LitStr> = None;
        let mut skip = is_phantom(&field.ty);
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("bitrix")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("field") {
                    code = Some(meta.value()?.parse()?);
                    Ok(())
                } else if meta.path.is_ident("skip") {
                    skip = true;
                    Ok(())
                } else {
                    Err(meta.error("unknown field argument; expected `field = \"CODE\"` or `skip`"))
                }
            })?;
        }
        let constant = match &code {
            Some(lit) => {
                let text = lit.value();
                if !is_code(&text) {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "`{text}` is not a field code (codes are upper case: `TITLE`, `UF_CRM_1721244482250`)"
                        ),
                    ));
                }
                Ident::new(&text, lit.span())
            }
            None => {
                let name = ident.to_string();
                let name = name.strip_prefix("r#").unwrap_or(&name);
                Ident::new(&name.to_uppercase(), ident.span())
            }
        };
        if !skip {
            if let Some(first) = slots
                .iter()
                .find(|s: &&Slot| !s.skip && s.constant == constant)
            {
                return Err(syn::Error::new(
                    constant.span(),
                    format!(
                        "the field {constant} is already projected by `{}`: a projection reads each field once",
                        first.ident
                    ),
                ));
            }
        }
        slots.push(Slot {
            ident,
            ty: field.ty.clone(),
            constant,
            skip,
        });
    }
    Ok(generate(&input, &krate, &entity, &slots))
}

/// `PhantomData<..>` (any path ending in it).
fn is_phantom(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "PhantomData"))
}

/// Upper case letters, digits and `_`, starting with a letter or `_`.
fn is_code(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn generate(input: &DeriveInput, krate: &Path, entity: &Path, slots: &[Slot]) -> TokenStream {
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let j = quote!(#krate::projection);
    // A type parameter of the struct (`#[bitrix(entity = D)]`, `D: StandardDeal`): its trait
    // constants; a concrete entity: its generated columns, which read multiple fields whole.
    let generic = entity
        .get_ident()
        .is_some_and(|id| input.generics.type_params().any(|p| p.ident == *id));
    let e = if generic {
        quote!(<#entity>)
    } else {
        quote!(<<#entity as #krate::projection::Columns>::Columns>)
    };
    let read: Vec<&Slot> = slots.iter().filter(|s| !s.skip).collect();
    let id_slot = read.iter().position(|s| s.constant == "ID");
    let others: Vec<&Slot> = read
        .iter()
        .copied()
        .filter(|s| s.constant != "ID")
        .collect();

    let consts = |s: &Slot| {
        let c = &s.constant;
        quote_spanned!(s.constant.span()=> #e::#c)
    };
    let select = read.iter().map(|s| {
        let c = consts(s);
        quote!(#j::field_of(#c))
    });
    let names = others.iter().map(|s| {
        let c = consts(s);
        quote!(#j::names_of(#c))
    });
    let vars: Vec<Ident> = read
        .iter()
        .enumerate()
        .map(|(i, _)| format_ident!("__s{}", i))
        .collect();
    let var_of = |s: &Slot| {
        let i = read
            .iter()
            .position(|r| r.ident == s.ident)
            .unwrap_or_default();
        vars[i].clone()
    };
    let decls = read.iter().zip(&vars).map(|(s, v)| {
        let ty = &s.ty;
        quote!(let mut #v: ::core::option::Option<#ty> = ::core::option::Option::None;)
    });
    let arms = others.iter().enumerate().map(|(i, s)| {
        let v = var_of(s);
        let c = consts(s);
        let ty = &s.ty;
        let take = quote_spanned!(ty.span()=> #j::slot(#c).take::<#ty, __A>(&mut __map)?);
        quote!(::core::option::Option::Some(#i) => #v = ::core::option::Option::Some(#take),)
    });
    let id_read = match id_slot {
        Some(i) => {
            let s = read[i];
            let v = &vars[i];
            let c = consts(s);
            let ty = &s.ty;
            let decode =
                quote_spanned!(ty.span()=> #j::slot(#c).from_raw::<#ty, __A::Error>(&__raw)?);
            quote! {
                let __raw: #j::RawId<'__de> = __map.next_value()?;
                __id = __raw.number();
                #v = ::core::option::Option::Some(#decode);
            }
        }
        None => quote! {
            let __raw: #j::RawId<'__de> = __map.next_value()?;
            __id = __raw.number();
        },
    };
    let inits = slots.iter().map(|s| {
        let ident = &s.ident;
        if s.skip {
            return quote!(#ident: ::core::default::Default::default(),);
        }
        let v = var_of(s);
        let c = consts(s);
        let ty = &s.ty;
        let absent = quote_spanned!(ty.span()=> #j::slot(#c).finish::<#ty, __A::Error>(#v)?);
        quote!(#ident: #absent,)
    });
    let n = others.len();

    // The visitor carries the struct's generics (an entity type parameter, `PhantomData`).
    let mut visitor_generics = input.generics.clone();
    visitor_generics.params.insert(0, syn::parse_quote!('__de));
    let (visitor_impl, _, _) = visitor_generics.split_for_impl();
    let phantom = quote!(::core::marker::PhantomData<fn() -> #name #ty_generics>);

    quote! {
        #[allow(non_snake_case, clippy::all)]
        const _: () = {
            impl #impl_generics #j::Projection for #name #ty_generics #where_clause {
                type Entity = #entity;

                fn select() -> ::core::option::Option<
                    ::std::vec::Vec<<#entity as #krate::Entity>::Field>,
                > {
                    ::core::option::Option::Some(::std::vec![#(#select),*])
                }

                fn decode_row<'__de, __D: #j::Deserializer<'__de>>(
                    __deserializer: __D,
                ) -> ::core::result::Result<#j::Keyed<Self>, __D::Error> {
                    struct __Visitor #impl_generics (#phantom) #where_clause;
                    impl #visitor_impl #j::Visitor<'__de> for __Visitor #ty_generics #where_clause {
                        type Value = #j::Keyed<#name #ty_generics>;

                        fn expecting(
                            &self,
                            __f: &mut ::core::fmt::Formatter<'_>,
                        ) -> ::core::fmt::Result {
                            ::core::fmt::Display::fmt(
                                &#j::Expecting::<#name #ty_generics>(::core::marker::PhantomData),
                                __f,
                            )
                        }

                        fn visit_map<__A: #j::MapAccess<'__de>>(
                            self,
                            mut __map: __A,
                        ) -> ::core::result::Result<Self::Value, __A::Error> {
                            let __names: [[&'static str; 2]; #n] = [#(#names),*];
                            let mut __id: ::core::option::Option<u64> = ::core::option::Option::None;
                            #(#decls)*
                            while let ::core::option::Option::Some(__key) =
                                __map.next_key::<#j::Key<'__de>>()?
                            {
                                let __key = __key.as_str();
                                if #j::is_id(__key) {
                                    #id_read
                                    continue;
                                }
                                match #j::find(__key, &__names) {
                                    #(#arms)*
                                    _ => {
                                        __map.next_value::<#j::IgnoredAny>()?;
                                    }
                                }
                            }
                            ::core::result::Result::Ok(#j::Keyed {
                                id: __id,
                                row: #name { #(#inits)* },
                            })
                        }
                    }
                    __deserializer.deserialize_map(__Visitor(::core::marker::PhantomData))
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn error_of(input: &str) -> String {
        let input: syn::DeriveInput = syn::parse_str(input).expect("a struct");
        match expand(input) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn mistakes_in_the_attributes_are_errors_not_panics() {
        assert_eq!(
            error_of("struct Row { title: Option<String> }"),
            "a projection names its entity: add `#[bitrix(entity = Deal)]`"
        );
        assert_eq!(
            error_of(
                "#[bitrix(entity = Deal)] struct Row { title: Option<String>, #[bitrix(field = \"TITLE\")] name: Option<String> }"
            ),
            "the field TITLE is already projected by `title`: a projection reads each field once"
        );
        assert!(
            error_of("#[bitrix(entity = Deal)] struct Row { #[bitrix(field = \"title\")] t: Option<String> }")
                .starts_with("`title` is not a field code"),
        );
        assert!(error_of("#[bitrix(entity = Deal)] struct Row(u64);").contains("named fields"));
        assert!(error_of("#[bitrix(entity = Deal)] enum Row { A }").contains("struct"));
        assert!(
            error_of("#[bitrix(entity = Deal, select = 1)] struct Row { id: u64 }")
                .starts_with("unknown projection argument")
        );
        assert!(
            error_of("#[bitrix(entity = Deal)] struct Row { #[bitrix(rename = \"x\")] id: u64 }")
                .starts_with("unknown field argument")
        );
        // Skipped fields may repeat a name; a valid struct expands.
        assert_eq!(
            error_of(
                "#[bitrix(entity = Deal)] struct Row<D> { id: u64, #[bitrix(skip)] id2: u64, _d: ::core::marker::PhantomData<D> }"
            ),
            ""
        );
    }
}
