//! The create payload (`NewDeal`: no read-only field exists on it) and its builder
//! (`NewDealBuilder`): required fields are typestate-checked, one type parameter per required
//! field, so `.build()` does not compile until each is set.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{
    Cx, deprecated_attr, guards, ident, marker, partial_eq, see_docs, write_code, write_ty,
};
use crate::model::FieldModel;

/// (items of the private module, impls of the block beside the read model)
pub(super) fn items(c: &Cx<'_>) -> (TokenStream, TokenStream) {
    let Cx {
        vis,
        read,
        create,
        builder,
        ..
    } = c;
    let fields: Vec<&FieldModel> = c.model.fields.iter().filter(|f| f.on_create()).collect();
    let (required, optional): (Vec<&FieldModel>, Vec<&FieldModel>) =
        fields.iter().partition(|f| f.required_on_create());

    let struct_fields = fields.iter().map(|f| {
        let docs = see_docs(f, "Field", &c.read_link);
        let dep = deprecated_attr(f);
        let id = ident(&f.ident);
        let ty = write_ty(f);
        if f.required_on_create() {
            quote!(#docs #dep pub #id: #ty,)
        } else {
            quote!(#docs #dep pub #id: Option<#ty>,)
        }
    });
    let ser_entries = fields.iter().map(|f| {
        let id = ident(&f.ident);
        let code = write_code(f);
        if f.required_on_create() {
            quote!(map.put_value(#code, &self.#id)?;)
        } else {
            quote!(map.put(#code, &self.#id)?;)
        }
    });
    let serialize = super::read::serialize_impl(create, quote!(#(#ser_entries)*));
    let idents: Vec<syn::Ident> = fields.iter().map(|f| ident(&f.ident)).collect();
    let eq = partial_eq(create, idents.iter());
    let default_impl = if required.is_empty() {
        quote! {
            impl ::core::default::Default for #create {
                fn default() -> Self {
                    #builder::new().build()
                }
            }
        }
    } else {
        quote!()
    };
    let required_list = if required.is_empty() {
        " This portal has no required fields.".to_owned()
    } else {
        format!(
            " Required on this portal (`.build()` does not compile until each is set): {}.",
            required
                .iter()
                .map(|f| format!("`{}` (`.{}()`)", f.code, f.ident))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let create_doc = format!(
        " The create payload of [`{read}`](super::{read}) (`{}.add`): read-only fields do not exist on it. Build it with [`{create}::builder`].",
        c.model.entity.method_prefix
    );
    let builder_items = builder_items(c, &required, &optional, &required_list);
    let module = quote! {
        #[doc = #create_doc]
        #[doc = ""]
        #[doc = #required_list]
        #[derive(Debug, Clone)]
        #vis struct #create {
            #(#struct_fields)*
        }

        #eq

        #default_impl

        #serialize

        impl #create {
            /// Starts a create payload with no field set.
            pub fn builder() -> #builder {
                #builder::new()
            }
        }

        #builder_items
    };
    let block = quote! {
        impl __p::CreatePayload for #create {
            type Entity = #read;
        }
    };
    (module, block)
}

/// The builder: it holds the optional values itself, and one typestate slot per required
/// field (the field's marker while unset, `Set<T>` once given).
fn builder_items(
    c: &Cx<'_>,
    required: &[&FieldModel],
    optional: &[&FieldModel],
    required_list: &str,
) -> TokenStream {
    let Cx {
        vis,
        create,
        builder,
        ..
    } = c;
    let params: Vec<syn::Ident> = (0..required.len()).map(|i| format_ident!("R{i}")).collect();
    // `__r0`: no field's snake_case name starts with `__`, so the slots never meet a value field.
    let slots: Vec<syn::Ident> = (0..required.len())
        .map(|i| format_ident!("__r{i}"))
        .collect();
    let defaults = required.iter().zip(&params).map(|(f, p)| {
        let m = marker(f);
        quote!(#p = #m)
    });
    let generic_decl = if params.is_empty() {
        quote!()
    } else {
        quote!(<#(#defaults),*>)
    };
    let all_params = quote!(<#(#params),*>);
    let value_fields = optional.iter().map(|f| {
        let id = ident(&f.ident);
        let ty = write_ty(f);
        quote!(#id: Option<#ty>,)
    });
    let optional_ids: Vec<syn::Ident> = optional.iter().map(|f| ident(&f.ident)).collect();
    let stage = typed_stage(c, optional);
    let stage_setter = stage.as_ref().map(|t| stage_setter(c, t));
    let optional_setters = optional
        .iter()
        .filter(|f| {
            stage
                .as_ref()
                .is_none_or(|t| f.code != t.stage.code && f.code != t.category.code)
        })
        .map(|f| {
            let id = ident(&f.ident);
            let ty = write_ty(f);
            let docs = see_docs(f, "Sets", create);
            let dep = deprecated_attr(f);
            quote! {
                #docs
                #dep
                pub fn #id(mut self, value: impl ::core::convert::Into<#ty>) -> Self {
                    self.#id = Some(value.into());
                    self
                }
            }
        });
    let guards = guards(c, quote!(#all_params #builder #all_params), false);
    let required_setters = required.iter().enumerate().map(|(k, f)| {
        let id = ident(&f.ident);
        let ty = write_ty(f);
        let docs = see_docs(f, "Sets the required field", create);
        let dep = deprecated_attr(f);
        let others = params
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != k)
            .map(|(_, p)| p);
        let marker = marker(f);
        let input = params
            .iter()
            .enumerate()
            .map(|(i, p)| if i == k { marker.clone() } else { quote!(#p) });
        let output = params.iter().enumerate().map(|(i, p)| {
            if i == k {
                quote!(__p::Set<#ty>)
            } else {
                quote!(#p)
            }
        });
        let closure_args = slots
            .iter()
            .enumerate()
            .map(|(i, s)| if i == k { quote!(_) } else { quote!(#s) });
        let closure_out = slots.iter().enumerate().map(|(i, s)| {
            if i == k {
                quote!(__p::Set(value.into()))
            } else {
                quote!(#s)
            }
        });
        quote! {
            impl<#(#others),*> #builder<#(#input),*> {
                #docs
                #dep
                pub fn #id(self, value: impl ::core::convert::Into<#ty>) -> #builder<#(#output),*> {
                    self.with_slots(|#(#closure_args),*| (#(#closure_out,)*))
                }
            }
        }
    });
    // One move of every value when a required field's slot changes type.
    let with_slots = if required.is_empty() {
        quote!()
    } else {
        let next: Vec<syn::Ident> = (0..required.len()).map(|i| format_ident!("Q{i}")).collect();
        quote! {
            fn with_slots<#(#next),*>(self, slots: impl ::core::ops::FnOnce(#(#params),*) -> (#(#next,)*)) -> #builder<#(#next),*> {
                let (#(#slots,)*) = slots(#(self.#slots),*);
                #builder { #(#slots,)* #(#optional_ids: self.#optional_ids,)* }
            }
        }
    };
    let build_bounds = required.iter().zip(&params).map(|(f, p)| {
        let ty = write_ty(f);
        quote!(#p: __p::Provided<#ty>)
    });
    let build_where = if required.is_empty() {
        quote!()
    } else {
        quote!(where #(#build_bounds,)*)
    };
    let build_required = required.iter().zip(&slots).map(|(f, s)| {
        let id = ident(&f.ident);
        quote!(#id: __p::Provided::into_value(self.#s),)
    });
    let builder_doc = format!(
        " Builds a [`{create}`]; each required field's setter must be called before `.build()`."
    );
    quote! {
        #[doc = #builder_doc]
        #[doc = ""]
        #[doc = #required_list]
        #[derive(Debug, Clone, Default)]
        #[must_use = "call `.build()` to get the payload"]
        #vis struct #builder #generic_decl {
            #(#value_fields)*
            #(#slots: #params,)*
        }

        impl #builder {
            /// A builder with no field set.
            pub fn new() -> Self {
                ::core::default::Default::default()
            }
        }

        impl #all_params #builder #all_params {
            #(#optional_setters)*
            #stage_setter
            #with_slots

            /// The payload; compiles only when every required field is set.
            pub fn build(self) -> #create #build_where {
                #create {
                    #(#build_required)*
                    #(#optional_ids: self.#optional_ids,)*
                }
            }
        }

        #guards

        #(#required_setters)*
    }
}

/// The stage and pipeline fields of a create payload whose snapshot types them: both
/// optional on create, so the builder sets them together from a stage.
struct TypedStage<'a> {
    stage: &'a FieldModel,
    category: &'a FieldModel,
    stage_enum: &'a str,
    category_enum: &'a str,
}

fn typed_stage<'a>(c: &Cx<'a>, optional: &[&'a FieldModel]) -> Option<TypedStage<'a>> {
    let cat = &c.model.catalog;
    let (stages, category) = (cat.stages.as_ref()?, cat.category.as_ref()?);
    let find = |code: &str| optional.iter().copied().find(|f| f.code == code);
    Some(TypedStage {
        stage: find("STAGE_ID")?,
        category: find("CATEGORY_ID")?,
        stage_enum: &stages.ident,
        category_enum: &category.ident,
    })
}

/// `.stage(..)`: sets `STAGE_ID` and, from the stage, `CATEGORY_ID`; the builder has no
/// separate setter for either, so a stage and a pipeline cannot disagree.
fn stage_setter(c: &Cx<'_>, t: &TypedStage<'_>) -> TokenStream {
    let rt = &c.rt;
    let (stage, category) = (ident(&t.stage.ident), ident(&t.category.ident));
    let (stage_enum, category_enum) = (ident(t.stage_enum), ident(t.category_enum));
    let doc = format!(
        " Sets the stage (`{}`) and the pipeline it belongs to (`{}`): the pipeline is taken from the stage, so a create cannot combine a stage with another pipeline. Takes [`{}`] or any pipeline's stage enum.",
        t.stage.code, t.category.code, t.stage_enum
    );
    quote! {
        #[doc = #doc]
        pub fn stage(mut self, stage: impl ::core::convert::Into<#stage_enum>) -> Self {
            let stage: #stage_enum = stage.into();
            self.#category = Some(#category_enum::from_id(#rt::pipeline::Stage::category_id(&stage)));
            self.#stage = Some(stage);
            self
        }
    }
}
