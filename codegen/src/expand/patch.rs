//! The update payload (`DealPatch`): no read-only or immutable field; each field is left
//! alone, cleared or set, and only touched fields are sent.

use proc_macro2::TokenStream;
use quote::quote;

use super::{
    Cx, WideField, deprecated_attr, guards, ident, partial_eq, see_docs, wide_std_impls,
    write_code, write_ty,
};
use crate::model::FieldModel;

/// (items of the private module, impls of the block beside the read model)
pub(super) fn items(c: &Cx<'_>) -> (TokenStream, TokenStream) {
    let Cx {
        vis, read, patch, ..
    } = c;
    let fields: Vec<&FieldModel> = c.model.fields.iter().filter(|f| f.on_update()).collect();
    let struct_fields = fields.iter().map(|f| {
        let docs = see_docs(f, "Field", &c.read_link);
        let dep = deprecated_attr(f);
        let id = ident(&f.ident);
        let ty = write_ty(f);
        quote!(#docs #dep pub #id: Patch<#ty>,)
    });
    let setters = fields.iter().map(|f| {
        let id = ident(&f.ident);
        let clear = ident(&format!("clear_{}", f.ident));
        let ty = write_ty(f);
        let docs = see_docs(f, "Sets", patch);
        let clear_doc = format!(" Clears `{}` (sends the empty value).", f.code);
        let dep = deprecated_attr(f);
        quote! {
            #docs
            #dep
            pub fn #id(mut self, value: impl ::core::convert::Into<#ty>) -> Self {
                self.#id = Patch::Set(value.into());
                self
            }
            #[doc = #clear_doc]
            #dep
            pub fn #clear(mut self) -> Self {
                self.#id = Patch::Clear;
                self
            }
        }
    });
    let guards = guards(c, quote!(#patch), true);
    let idents: Vec<syn::Ident> = fields.iter().map(|f| ident(&f.ident)).collect();
    let eq = partial_eq(c, patch, "__patch_", idents.iter());
    let this = if c.wide { quote!(this) } else { quote!(self) };
    let entries: Vec<TokenStream> = fields
        .iter()
        .map(|f| {
            let id = ident(&f.ident);
            let code = write_code(f);
            quote!(visitor.entry(#code, &#this.#id)?;)
        })
        .collect();
    let sink = super::read::Sink {
        generic: quote!(__V: __p::PatchVisitor),
        arg: quote!(visitor: &mut __V),
        error: quote!(__V::Error),
        pass: quote!(visitor),
    };
    let (entries, each_fns) = super::read::wide_entries(c, patch, "__patch_each_", entries, &sink);
    let (derive, std) = if c.wide {
        let wide: Vec<WideField> = idents
            .iter()
            .map(|id| WideField {
                id: id.clone(),
                empty: Some(quote!(Patch::Unset)),
            })
            .collect();
        (quote!(), wide_std_impls(patch, "__patch_", &wide, true))
    } else {
        (quote!(#[derive(Debug, Clone, Default)]), quote!())
    };
    let doc = format!(
        " The update payload of [`{read}`](super::{read}) (`{}.update`): read-only and immutable fields do not exist on it; each field is left alone, cleared or set, and only touched fields are sent.",
        c.model.entity.method_prefix
    );
    let module = quote! {
        #[doc = #doc]
        #derive
        #vis struct #patch {
            #(#struct_fields)*
        }

        #std

        #eq

        impl #patch {
            /// An update that touches nothing.
            pub fn new() -> Self {
                ::core::default::Default::default()
            }
            #(#setters)*
        }

        #guards

        impl __p::PatchFields for #patch {
            fn each<__V: __p::PatchVisitor>(&self, visitor: &mut __V) -> Result<(), __V::Error> {
                #entries
                Ok(())
            }
        }
        #each_fns

        impl serde::Serialize for #patch {
            fn serialize<__S: serde::Serializer>(&self, serializer: __S) -> Result<__S::Ok, __S::Error> {
                __p::serialize_patch(self, serializer)
            }
        }

    };
    let stage_guard = stage_guard(c, &fields);
    let block = quote! {
        impl __p::UpdatePayload for #patch {
            type Entity = #read;

            fn is_empty(&self) -> bool {
                __p::patch_is_empty(self)
            }

            fn cleared_fields(&self) -> Vec<&'static str> {
                __p::patch_cleared(self)
            }
            #stage_guard
        }
    };
    (module, block)
}

/// `stage_guard()` of a patch whose `STAGE_ID` is a generated stage enum: a set stage comes
/// with its pipeline, which the client checks against the record's before sending.
fn stage_guard(c: &Cx<'_>, fields: &[&FieldModel]) -> TokenStream {
    let rt = &c.rt;
    let Some(stages) = &c.model.catalog.stages else {
        return quote!();
    };
    let Some(f) = fields.iter().find(|f| {
        f.code == "STAGE_ID"
            && matches!(&f.mapping.element, crate::mapping::ElementCodec::Enum(e) if *e == stages.ident)
    }) else {
        return quote!();
    };
    let id = ident(&f.ident);
    quote! {
        fn stage_guard(&self) -> Option<#rt::pipeline::StageGuard> {
            match &self.#id {
                Patch::Set(stage) => Some(#rt::pipeline::StageGuard {
                    stage: String::from(stage.as_str()),
                    category: #rt::pipeline::Stage::category_id(stage),
                }),
                _ => None,
            }
        }
    }
}
