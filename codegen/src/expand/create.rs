//! The create payload (`NewDeal`: no read-only field exists on it) and its builder
//! (`NewDealBuilder`): required fields are typestate-checked, so `.build()` does not compile
//! until each is set: one type parameter per required field up to [`FLAT_TYPESTATE_LIMIT`] of
//! them, above it one parameter holding a tree of their states (code linear in the fields).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{
    Cx, WideField, deprecated_attr, guards, ident, marker, partial_eq, see_docs, wide_std_impls,
    write_code, write_ty,
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
    let this = if c.wide { quote!(this) } else { quote!(self) };
    let ser_entries = fields
        .iter()
        .map(|f| {
            let id = ident(&f.ident);
            let code = write_code(f);
            if f.required_on_create() {
                quote!(map.put_value(#code, &#this.#id)?;)
            } else {
                quote!(map.put(#code, &#this.#id)?;)
            }
        })
        .collect();
    let (ser_entries, ser_fns) = super::read::wide_entries(
        c,
        create,
        "__new_ser_",
        ser_entries,
        &super::read::Sink::map(),
    );
    let serialize = super::read::serialize_impl(create, ser_entries);
    let idents: Vec<syn::Ident> = fields.iter().map(|f| ident(&f.ident)).collect();
    let eq = partial_eq(c, create, "__new_", idents.iter());
    let (derive, std) = if c.wide {
        let wide: Vec<WideField> = fields
            .iter()
            .map(|f| WideField {
                id: ident(&f.ident),
                empty: (!f.required_on_create()).then(|| quote!(None)),
            })
            .collect();
        (quote!(), wide_std_impls(create, "__new_", &wide, false))
    } else {
        (quote!(#[derive(Debug, Clone)]), quote!())
    };
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
        #derive
        #vis struct #create {
            #(#struct_fields)*
        }

        #std

        #eq

        #default_impl

        #serialize
        #ser_fns

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

/// Up to this many required fields, the builder has one type parameter per required field
/// (`NewDealBuilder<R0, R1>`; each setter names every parameter, so the code grows as the
/// square of this number). Above it, the states live in one parameter, a balanced tree
/// (`__p::Node`), whose setters name only their leaf's path: code linear in the fields times
/// log2 of them. Both check every required field at compile time.
pub const FLAT_TYPESTATE_LIMIT: usize = 64;

/// The builder: it holds the optional values itself, and the typestate of the required fields
/// (each field's marker while unset, `Set<T>` once given).
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
    let value_fields: Vec<TokenStream> = optional
        .iter()
        .map(|f| {
            let id = ident(&f.ident);
            let ty = write_ty(f);
            quote!(#id: Option<#ty>,)
        })
        .collect();
    let optional_ids: Vec<syn::Ident> = optional.iter().map(|f| ident(&f.ident)).collect();
    // Where the optional values live: in the builder, or in a wide entity in one hidden
    // struct (`__values`) of hidden structs of `CHUNK` values each (`__c0`, ..): rustc finds a
    // field by a scan of its struct's fields, so a setter naming one of N fields in one struct
    // cost about N; and a change of typestate moves one field.
    let values_ty = format_ident!("__{}Values", builder);
    let chunk_field = |j: usize| format_ident!("__c{}", j / super::CHUNK);
    let value_path = |j: usize| -> TokenStream {
        let id = &optional_ids[j];
        if c.wide {
            let k = chunk_field(j);
            quote!(self.__values.#k.#id)
        } else {
            quote!(self.#id)
        }
    };
    let (values_item, moved) = if c.wide {
        let chunks: Vec<(syn::Ident, syn::Ident, &[TokenStream])> = value_fields
            .chunks(super::CHUNK)
            .enumerate()
            .map(|(k, fields)| {
                (
                    format_ident!("__c{k}"),
                    format_ident!("{values_ty}{k}"),
                    fields,
                )
            })
            .collect();
        let defs = chunks.iter().map(|(_, ty, fields)| {
            quote! {
                #[doc(hidden)]
                #[derive(Debug, Clone, Default)]
                pub struct #ty {
                    #(#fields)*
                }
            }
        });
        let (names, tys): (Vec<&syn::Ident>, Vec<&syn::Ident>) =
            chunks.iter().map(|(name, ty, _)| (name, ty)).unzip();
        (
            quote! {
                #[doc(hidden)]
                #[derive(Debug, Clone, Default)]
                pub struct #values_ty {
                    #(#names: #tys,)*
                }
                #(#defs)*
            },
            quote!(__values: self.__values,),
        )
    } else {
        (quote!(), quote!(#(#optional_ids: self.#optional_ids,)*))
    };
    let fields_decl = if c.wide {
        quote!(__values: #values_ty,)
    } else {
        quote!(#(#value_fields)*)
    };
    let stage = typed_stage(c, optional);
    let position = |code: &str| optional.iter().position(|f| f.code == code);
    let stage_setter = stage.as_ref().and_then(|t| {
        let (stage, category) = (position(&t.stage.code)?, position(&t.category.code)?);
        Some(stage_setter(
            c,
            t,
            &value_path(stage),
            &value_path(category),
        ))
    });
    let optional_setters = optional
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            stage
                .as_ref()
                .is_none_or(|t| f.code != t.stage.code && f.code != t.category.code)
        })
        .map(|(j, f)| {
            let path = value_path(j);
            let id = ident(&f.ident);
            let ty = write_ty(f);
            let docs = see_docs(f, "Sets", create);
            let dep = deprecated_attr(f);
            quote! {
                #docs
                #dep
                pub fn #id(mut self, value: impl ::core::convert::Into<#ty>) -> Self {
                    #path = Some(value.into());
                    self
                }
            }
        });
    let state = if required.len() <= FLAT_TYPESTATE_LIMIT {
        flat_typestate(c, required, &moved)
    } else {
        tree_typestate(c, required, &moved)
    };
    let Typestate {
        generic_decl,
        params,
        slot_fields,
        with_slots,
        build_where,
        build_prelude,
        build_required,
        setters,
    } = state;
    // A wide payload starts with no optional value and takes them over in hidden functions
    // of `CHUNK` fields: a literal moving every value out of the builder costs rustc as the
    // square of the fields (the partly moved builder's drop).
    let (build_payload, take_fns) = if c.wide {
        let takes = optional_ids
            .iter()
            .enumerate()
            .map(|(j, id)| {
                let k = chunk_field(j);
                quote!(out.#id = values.#k.#id.take();)
            })
            .collect();
        let (calls, fns) = super::chunked(
            "__new_take_",
            takes,
            |name, takes| {
                quote! {
                    fn #name(out: &mut #create, values: &mut #values_ty) {
                        #(#takes)*
                    }
                }
            },
            |name| quote!(#name(&mut out, &mut values);),
        );
        (
            if calls.is_empty() {
                // Every field required: nothing to take over.
                quote!(#create { #build_required })
            } else {
                quote! {
                    let mut out = #create {
                        #build_required
                        #(#optional_ids: None,)*
                    };
                    let mut values = self.__values;
                    #(#calls)*
                    out
                }
            },
            fns,
        )
    } else {
        (
            quote! {
                #create {
                    #build_required
                    #(#optional_ids: self.#optional_ids,)*
                }
            },
            quote!(),
        )
    };
    let guards = guards(c, quote!(#params #builder #params), false);
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
            #fields_decl
            #slot_fields
        }

        #values_item
        #take_fns

        impl #builder {
            /// A builder with no field set.
            pub fn new() -> Self {
                ::core::default::Default::default()
            }
        }

        impl #params #builder #params {
            #(#optional_setters)*
            #stage_setter
            #with_slots

            /// The payload; compiles only when every required field is set.
            pub fn build(self) -> #create #build_where {
                #build_prelude
                #build_payload
            }
        }

        #guards

        #setters
    }
}

/// The parts of the builder that depend on how the required fields' states are typed.
struct Typestate {
    /// The builder's generic parameters with their defaults (every field unset).
    generic_decl: TokenStream,
    /// The generic parameters as used (`<R0, R1>`).
    params: TokenStream,
    /// The struct fields holding the states.
    slot_fields: TokenStream,
    /// `fn with_slots`: the one place that moves every optional value into a builder whose
    /// states changed type.
    with_slots: TokenStream,
    /// `build()`'s where clause.
    build_where: TokenStream,
    /// Statements of `build()` before the payload is assembled.
    build_prelude: TokenStream,
    /// The required fields of the payload literal.
    build_required: TokenStream,
    /// The required fields' setters (whole impl blocks).
    setters: TokenStream,
}

/// One type parameter per required field; each setter is its own impl block over the other
/// parameters.
/// `moved`: the builder literal's fields that carry the optional values over.
fn flat_typestate(c: &Cx<'_>, required: &[&FieldModel], moved: &TokenStream) -> Typestate {
    let (create, builder) = (&c.create, &c.builder);
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
    let setters = required.iter().enumerate().map(|(k, f)| {
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
                #builder { #(#slots,)* #moved }
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
    Typestate {
        generic_decl,
        params: quote!(<#(#params),*>),
        slot_fields: quote!(#(#slots: #params,)*),
        with_slots,
        build_where,
        build_prelude: quote!(),
        build_required: quote!(#(#build_required)*),
        setters: quote!(#(#setters)*),
    }
}

/// One type parameter `S` for all required fields: a balanced tree of their states. A setter
/// puts `Set<T>` at its leaf's path (`__p::Put`); `build()` bounds every leaf by `Provided`
/// (`__p::ProvidedAt`), so a missing field is reported as the flat layout reports it.
fn tree_typestate(c: &Cx<'_>, required: &[&FieldModel], moved: &TokenStream) -> Typestate {
    let (create, builder) = (&c.create, &c.builder);
    let unset = tree(required, &marker);
    let setters = required.iter().enumerate().map(|(k, f)| {
        let id = ident(&f.ident);
        let ty = write_ty(f);
        let docs = see_docs(f, "Sets the required field", create);
        let dep = deprecated_attr(f);
        let marker = marker(f);
        let path = path(k, required.len());
        quote! {
            #docs
            #dep
            pub fn #id(self, value: impl ::core::convert::Into<#ty>) -> #builder<<__S as __p::Put<#path, __p::Set<#ty>>>::Out>
            where
                __S: __p::Put<#path, __p::Set<#ty>> + __p::UnsetAt<#path, #marker>,
            {
                self.with_slots(|s| __p::Put::put(s, __p::Set(value.into())))
            }
        }
    });
    let paths: Vec<TokenStream> = (0..required.len())
        .map(|k| path(k, required.len()))
        .collect();
    let build_bounds = required.iter().zip(&paths).map(|(f, path)| {
        let ty = write_ty(f);
        quote!(__S: __p::ProvidedAt<#path, #ty>,)
    });
    // Cloned out of the tree: moving each value out would need one bound over the whole tree,
    // whose compile error prints the tree instead of naming the missing field.
    let build_required = required.iter().zip(&paths).map(|(f, path)| {
        let id = ident(&f.ident);
        let ty = write_ty(f);
        quote!(#id: ::core::clone::Clone::clone(__p::ProvidedAt::<#path, #ty>::value_at(&self.__slots)),)
    });
    Typestate {
        generic_decl: quote!(<__S = #unset>),
        params: quote!(<__S>),
        slot_fields: quote!(__slots: __S,),
        with_slots: quote! {
            fn with_slots<__Q>(self, slots: impl ::core::ops::FnOnce(__S) -> __Q) -> #builder<__Q> {
                #builder { __slots: slots(self.__slots), #moved }
            }
        },
        build_where: quote!(where #(#build_bounds)*),
        build_prelude: quote!(),
        build_required: quote!(#(#build_required)*),
        setters: quote! {
            impl<__S> #builder<__S> {
                #(#setters)*
            }
        },
    }
}

/// The balanced tree over `fields` (halves split at the middle), each leaf from `leaf`.
fn tree(fields: &[&FieldModel], leaf: &dyn Fn(&FieldModel) -> TokenStream) -> TokenStream {
    match fields {
        [f] => leaf(f),
        _ => {
            let mid = fields.len() / 2;
            let (a, b) = (tree(&fields[..mid], leaf), tree(&fields[mid..], leaf));
            quote!(__p::Node<#a, #b>)
        }
    }
}

/// The path type to leaf `k` of the tree over `n` fields (`Left<Right<Here>>`).
fn path(k: usize, n: usize) -> TokenStream {
    let (mut start, mut end) = (0, n);
    let mut steps = Vec::new();
    while end - start > 1 {
        let mid = start + (end - start) / 2;
        if k < mid {
            steps.push(quote!(__p::Left));
            end = mid;
        } else {
            steps.push(quote!(__p::Right));
            start = mid;
        }
    }
    steps
        .iter()
        .rev()
        .fold(quote!(__p::Here), |inner, step| quote!(#step<#inner>))
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
/// `stage_path`, `category_path`: where the builder holds the two values (`self.stage_id`).
fn stage_setter(
    c: &Cx<'_>,
    t: &TypedStage<'_>,
    stage_path: &TokenStream,
    category_path: &TokenStream,
) -> TokenStream {
    let rt = &c.rt;
    let (stage_enum, category_enum) = (ident(t.stage_enum), ident(t.category_enum));
    let doc = format!(
        " Sets the stage (`{}`) and the pipeline it belongs to (`{}`): the pipeline is taken from the stage, so a create cannot combine a stage with another pipeline. Takes [`{}`] or any pipeline's stage enum.",
        t.stage.code, t.category.code, t.stage_enum
    );
    quote! {
        #[doc = #doc]
        pub fn stage(mut self, stage: impl ::core::convert::Into<#stage_enum>) -> Self {
            let stage: #stage_enum = stage.into();
            #category_path = Some(#category_enum::from_id(#rt::pipeline::Stage::category_id(&stage)));
            #stage_path = Some(stage);
            self
        }
    }
}
