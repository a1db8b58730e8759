//! The pipeline, stage and dictionary enums of a snapshot that records them
//! ([`crate::pipelines`]): `DealCategory` (implements `pipeline::Category`), one
//! `DealStage<Pipeline>` per pipeline and `DealStage` over all of them (each implements
//! `pipeline::Stage`), and one enum per dictionary (`DealSource`, `DealType`, `DealCurrency`).
//! Every enum has an `Other` fallback that keeps the portal's text, so decoding and encoding
//! round-trip whatever the portal sends.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Cx, ident, md};
use crate::catalog::Semantics;
use crate::pipelines::{CategoryEnum, DictEnum, PipelineStages, StageEnums};

/// (items of the private module, impls of the block beside the read model)
pub(super) fn items(c: &Cx<'_>) -> (TokenStream, TokenStream) {
    let cat = &c.model.catalog;
    let mut module = Vec::new();
    let mut block = Vec::new();
    if let Some(e) = &cat.category {
        let (m, b) = category(c, e);
        module.push(m);
        block.push(b);
    }
    if let Some(s) = &cat.stages {
        for p in &s.pipelines {
            let (m, b) = pipeline_stages(c, p);
            module.push(m);
            block.push(b);
        }
        let (m, b) = all_stages(c, s);
        module.push(m);
        block.push(b);
    }
    for d in &cat.dictionaries {
        module.push(dictionary(c, d));
    }
    (quote!(#(#module)*), quote!(#(#block)*))
}

/// `Display` through the name, else the code.
fn display(ty: &syn::Ident, name: TokenStream) -> TokenStream {
    quote! {
        impl ::core::fmt::Display for #ty {
            /// The name on the portal, or the id of a value the snapshot does not know.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match #name {
                    Some(name) => f.write_str(name),
                    None => ::core::fmt::Display::fmt(&self.as_str(), f),
                }
            }
        }
    }
}

fn category(c: &Cx<'_>, e: &CategoryEnum) -> (TokenStream, TokenStream) {
    let (vis, read, rt) = (&c.vis, &c.read, &c.rt);
    let ty = ident(&e.ident);
    let doc = format!(
        " The pipelines (`CATEGORY_ID`) of [`{read}`]({}) as the snapshot knows them; a pipeline added on the portal later reads as [`{}::Other`].",
        c.read_link, e.ident
    );
    let variants = e.variants.iter().map(|v| {
        let name = ident(&v.variant);
        let doc = format!(" {} (pipeline {})", md(&v.name), v.id);
        quote!(#[doc = #doc] #name,)
    });
    let all = e.variants.iter().map(|v| ident(&v.variant));
    let ids = e.variants.iter().map(|v| {
        let name = ident(&v.variant);
        let id = v.id;
        quote!(Self::#name => types::CategoryId(#id),)
    });
    let from = e.variants.iter().map(|v| {
        let name = ident(&v.variant);
        let id = v.id;
        quote!(#id => Self::#name,)
    });
    let names = e.variants.iter().map(|v| {
        let name = ident(&v.variant);
        let text = &v.name;
        quote!(Self::#name => Some(#text),)
    });
    let module = quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #vis enum #ty {
            #(#variants)*
            /// A pipeline the snapshot does not know.
            Other(types::CategoryId),
        }

        impl #ty {
            /// Every pipeline known to the snapshot, in portal order.
            pub const ALL: &'static [Self] = &[#(Self::#all),*];

            /// The pipeline's id.
            pub fn id(&self) -> types::CategoryId {
                match self {
                    #(#ids)*
                    Self::Other(id) => *id,
                }
            }

            /// The pipeline for an id; an unknown id gives [`Self::Other`].
            pub fn from_id(id: types::CategoryId) -> Self {
                match id.0 {
                    #(#from)*
                    _ => Self::Other(id),
                }
            }

            /// The pipeline's name on the portal; `None` for [`Self::Other`].
            pub fn name(&self) -> Option<&'static str> {
                match self {
                    #(#names)*
                    Self::Other(_) => None,
                }
            }
        }

        impl ::core::convert::From<types::CategoryId> for #ty {
            fn from(id: types::CategoryId) -> Self {
                Self::from_id(id)
            }
        }

        impl ::core::fmt::Display for #ty {
            /// The name on the portal, or the id of a pipeline the snapshot does not know.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => ::core::fmt::Display::fmt(&self.id(), f),
                }
            }
        }
    };
    let block = quote! {
        impl #rt::pipeline::Category for #ty {
            type Entity = #read;
            fn id(&self) -> types::CategoryId {
                #ty::id(self)
            }
            fn from_id(id: types::CategoryId) -> Self {
                #ty::from_id(id)
            }
            fn name(&self) -> Option<&'static str> {
                #ty::name(self)
            }
        }
    };
    (module, block)
}

fn semantics(rt: &TokenStream, s: Option<Semantics>) -> TokenStream {
    match s {
        Some(s) => {
            let v = ident(s.variant());
            quote!(Some(#rt::pipeline::StageSemantics::#v))
        }
        None => quote!(None),
    }
}

/// The inherent methods every stage and dictionary enum has: `ALL`, `as_str`, the typed id
/// (`status_id` / `currency_id`, a `'static` reference for known values) and `name`.
fn common(
    ty: &syn::Ident,
    id_ty: &TokenStream,
    id_fn: &syn::Ident,
    items: &[(syn::Ident, String, String)],
) -> TokenStream {
    let all = items.iter().map(|(v, _, _)| v);
    let codes = items.iter().map(|(v, code, _)| quote!(Self::#v => #code,));
    let names = items
        .iter()
        .map(|(v, _, name)| quote!(Self::#v => Some(#name),));
    let indexes = items
        .iter()
        .enumerate()
        .map(|(i, (v, _, _))| quote!(Self::#v => #i,));
    quote! {
        impl #ty {
            /// Every value known to the snapshot, in portal order.
            pub const ALL: &'static [Self] = &[#(Self::#all),*];

            /// The id as the portal knows it.
            pub fn as_str(&self) -> &str {
                match self {
                    #(#codes)*
                    Self::Other(id) => id.as_str(),
                }
            }

            /// The id, typed.
            pub fn #id_fn(&self) -> &#id_ty {
                static IDS: __p::OnceLock<Vec<#id_ty>> = __p::OnceLock::new();
                static EMPTY: #id_ty = #id_ty(String::new());
                let index = match self {
                    #(#indexes)*
                    Self::Other(id) => return id,
                };
                IDS.get_or_init(|| Self::ALL.iter().map(|v| #id_ty::from(v.as_str())).collect())
                    .get(index)
                    .unwrap_or(&EMPTY)
            }

            /// The name on the portal; `None` for [`Self::Other`].
            pub fn name(&self) -> Option<&'static str> {
                match self {
                    #(#names)*
                    Self::Other(_) => None,
                }
            }
        }
    }
}

/// `EnumValue` (the `Enum<E>` codec), `From<&str>` and `From<{id_ty}>` through `from`.
fn enum_value(ty: &syn::Ident, id_ty: &TokenStream, from: TokenStream) -> TokenStream {
    quote! {
        impl ::core::convert::From<#id_ty> for #ty {
            fn from(id: #id_ty) -> Self {
                #from(id.as_str())
            }
        }

        impl types::EnumValue for #ty {
            fn from_id(id: &str) -> Self {
                #from(id)
            }
            fn id(&self) -> &str {
                self.as_str()
            }
        }

        impl ::core::convert::From<&str> for #ty {
            fn from(id: &str) -> Self {
                #from(id)
            }
        }
    }
}

fn pipeline_stages(c: &Cx<'_>, p: &PipelineStages) -> (TokenStream, TokenStream) {
    let (vis, read, rt) = (&c.vis, &c.read, &c.rt);
    let ty = ident(&p.ident);
    let doc = format!(
        " The stages of the pipeline {} (`CATEGORY_ID` {}) of [`{read}`]({}); a stage added on the portal later reads as [`{}::Other`].",
        md(&p.name),
        p.category,
        c.read_link,
        p.ident
    );
    let items: Vec<(syn::Ident, String, String)> = p
        .stages
        .iter()
        .map(|s| (ident(&s.variant), s.code.clone(), s.name.clone()))
        .collect();
    let variants = p.stages.iter().zip(&items).map(|(s, (v, _, _))| {
        let doc = format!(" {} (`{}`)", md(&s.name), s.code);
        quote!(#[doc = #doc] #v,)
    });
    let common = common(&ty, &quote!(types::StatusId), &ident("status_id"), &items);
    let from = items.iter().map(|(v, code, _)| quote!(#code => Self::#v,));
    let sem = p.stages.iter().zip(&items).map(|(s, (v, _, _))| {
        let s = semantics(rt, s.semantics);
        quote!(Self::#v => #s,)
    });
    let category = p.category;
    let module = quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #vis enum #ty {
            #(#variants)*
            /// A stage of this pipeline the snapshot does not know.
            Other(types::StatusId),
        }

        #common

        impl #ty {
            /// The stage for a stage id; an unknown id gives [`Self::Other`].
            pub fn from_code(code: &str) -> Self {
                match code {
                    #(#from)*
                    other => Self::Other(types::StatusId::from(other)),
                }
            }
        }
    };
    let block = stage_impl(
        c,
        &ty,
        quote!(types::CategoryId(#category)),
        quote! {
            match self {
                #(#sem)*
                Self::Other(_) => None,
            }
        },
    );
    let display = display(&ty, quote!(self.name()));
    (quote!(#module #display), block)
}

/// `impl Stage` of a stage enum with these `category_id` and `semantics` bodies (the rest
/// goes through the enum's inherent methods).
fn stage_impl(
    c: &Cx<'_>,
    ty: &syn::Ident,
    category_id: TokenStream,
    semantics: TokenStream,
) -> TokenStream {
    let (read, rt) = (&c.read, &c.rt);
    quote! {
        impl #rt::pipeline::Stage for #ty {
            type Entity = #read;
            fn category_id(&self) -> types::CategoryId {
                #category_id
            }
            fn code(&self) -> &str {
                self.as_str()
            }
            fn from_code(code: &str) -> Self {
                #ty::from_code(code)
            }
            fn semantics(&self) -> Option<#rt::pipeline::StageSemantics> {
                #semantics
            }
            fn name(&self) -> Option<&'static str> {
                #ty::name(self)
            }
        }
    }
}

fn all_stages(c: &Cx<'_>, s: &StageEnums) -> (TokenStream, TokenStream) {
    let (vis, read, rt) = (&c.vis, &c.read, &c.rt);
    let ty = ident(&s.ident);
    let doc = format!(
        " A stage (`STAGE_ID`) of any pipeline of [`{read}`]({}): the stage id names its pipeline (`C5:NEW`, `DT1220_5:NEW`; no prefix is the default pipeline), so any id decodes into its pipeline's variant; a pipeline the snapshot does not know reads as [`{}::Other`].",
        c.read_link, s.ident
    );
    let variants = s.pipelines.iter().map(|p| {
        let v = ident(&p.variant);
        let inner = ident(&p.ident);
        let doc = format!(" A stage of the pipeline {} ({}).", md(&p.name), p.category);
        quote!(#[doc = #doc] #v(#inner),)
    });
    let delegate = |body: TokenStream, other: TokenStream| {
        let arms = s.pipelines.iter().map(|p| {
            let v = ident(&p.variant);
            quote!(Self::#v(s) => #body,)
        });
        quote! {
            match self {
                #(#arms)*
                Self::Other(id) => #other,
            }
        }
    };
    let as_str = delegate(quote!(s.as_str()), quote!(id.as_str()));
    let status_id = delegate(quote!(s.status_id()), quote!(id));
    let name = delegate(
        quote!(s.name()),
        quote!({
            let _ = id;
            None
        }),
    );
    let default = s.default_category;
    let category_id = delegate(
        quote!(#rt::pipeline::Stage::category_id(s)),
        quote!(#rt::pipeline::stage_category(id.as_str()).unwrap_or(types::CategoryId(#default))),
    );
    let sem = delegate(
        quote!(#rt::pipeline::Stage::semantics(s)),
        quote!({
            let _ = id;
            None
        }),
    );
    let from = s.pipelines.iter().map(|p| {
        let v = ident(&p.variant);
        let inner = ident(&p.ident);
        let id = p.category;
        quote!(#id => Self::#v(#inner::from_code(code)),)
    });
    let froms = s.pipelines.iter().map(|p| {
        let v = ident(&p.variant);
        let inner = ident(&p.ident);
        quote! {
            impl ::core::convert::From<#inner> for #ty {
                fn from(stage: #inner) -> Self {
                    Self::#v(stage)
                }
            }
        }
    });
    let module = quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #vis enum #ty {
            #(#variants)*
            /// A stage of a pipeline the snapshot does not know.
            Other(types::StatusId),
        }

        impl #ty {
            /// The stage id as the portal knows it.
            pub fn as_str(&self) -> &str {
                #as_str
            }

            /// The stage id, typed.
            pub fn status_id(&self) -> &types::StatusId {
                #status_id
            }

            /// The stage's name on the portal, when the snapshot knows the stage.
            pub fn name(&self) -> Option<&'static str> {
                #name
            }

            /// The stage for any stage id: its pipeline's variant, that pipeline's fallback for
            /// a stage added later, [`Self::Other`] for a pipeline the snapshot does not know.
            pub fn from_code(code: &str) -> Self {
                let category = #rt::pipeline::stage_category(code).map_or(#default, |c| c.0);
                match category {
                    #(#from)*
                    _ => Self::Other(types::StatusId::from(code)),
                }
            }
        }

        #(#froms)*
    };
    let value = enum_value(&ty, &quote!(types::StatusId), quote!(Self::from_code));
    let display = display(&ty, quote!(self.name()));
    let block = stage_impl(c, &ty, category_id, sem);
    (quote!(#module #value #display), block)
}

fn dictionary(c: &Cx<'_>, d: &DictEnum) -> TokenStream {
    let vis = &c.vis;
    let ty = ident(&d.ident);
    let (id_ty, id_fn, what) = if d.currency {
        (
            quote!(types::CurrencyId),
            ident("currency_id"),
            "The currencies (`crm.currency.list`)".to_owned(),
        )
    } else {
        (
            quote!(types::StatusId),
            ident("status_id"),
            format!("The items of the directory `{}`", d.directory),
        )
    };
    let doc = format!(
        " {what} of [`{}`]({}) as the snapshot knows them; an id the snapshot does not know reads as [`{}::Other`].",
        c.model.names.read, c.read_link, d.ident
    );
    let items: Vec<(syn::Ident, String, String)> = d
        .items
        .iter()
        .map(|(v, id, name)| (ident(v), id.clone(), name.clone()))
        .collect();
    let variants = items.iter().map(|(v, id, name)| {
        let doc = format!(" {} (`{}`)", md(name), id);
        quote!(#[doc = #doc] #v,)
    });
    let common = common(&ty, &id_ty, &id_fn, &items);
    let from = items.iter().map(|(v, id, _)| quote!(#id => Self::#v,));
    let value = enum_value(&ty, &id_ty, quote!(Self::from_code));
    let display = display(&ty, quote!(self.name()));
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #vis enum #ty {
            #(#variants)*
            /// An id the snapshot does not know.
            Other(#id_ty),
        }

        #common

        impl #ty {
            /// The value for an id; an unknown id gives [`Self::Other`].
            pub fn from_code(code: &str) -> Self {
                match code {
                    #(#from)*
                    other => Self::Other(#id_ty::from(other)),
                }
            }
        }

        #value
        #display
    }
}
