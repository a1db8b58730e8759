//! The model -> Rust tokens.
//!
//! Generated code names nothing but `::core`, `::std` and the runtime crate (by default
//! `::bitrix_runtime`), so a user adds one dependency.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::model::{Diagnostic, EntityModel, FieldModel};

/// How the front end wants the items dressed: visibility, attributes of the annotated struct,
/// and where warnings point.
#[derive(Debug, Clone)]
pub struct ExpandContext {
    /// Visibility of every generated item (that of the annotated struct).
    pub vis: TokenStream,
    /// Outer attributes to put on the read model (the annotated struct's docs, `cfg`s, lints).
    pub attrs: Vec<TokenStream>,
    /// Span that compile-time warnings point at (the macro's `schema` argument).
    pub warning_span: Span,
}

impl Default for ExpandContext {
    fn default() -> Self {
        ExpandContext {
            vis: quote!(pub),
            attrs: Vec::new(),
            warning_span: Span::call_site(),
        }
    }
}

struct Cx<'a> {
    model: &'a EntityModel,
    rt: TokenStream,
    vis: &'a TokenStream,
    read: syn::Ident,
    create: syn::Ident,
    builder: syn::Ident,
    values: syn::Ident,
    patch: syn::Ident,
    field_enum: syn::Ident,
    markers: syn::Ident,
}

/// Expands a model into the items of one entity.
pub fn expand(model: &EntityModel, cx: &ExpandContext, warnings: &[Diagnostic]) -> TokenStream {
    let rt: TokenStream = model
        .runtime_path
        .parse()
        .unwrap_or_else(|_| quote!(::bitrix_runtime));
    let n = &model.names;
    let c = Cx {
        model,
        rt,
        vis: &cx.vis,
        read: format_ident!("{}", n.read),
        create: format_ident!("{}", n.create),
        builder: format_ident!("{}", n.builder),
        values: format_ident!("__{}Values", n.create),
        patch: format_ident!("{}", n.patch),
        field_enum: format_ident!("{}", n.field_enum),
        markers: format_ident!("{}", n.markers),
    };
    let read = read_model(&c, &cx.attrs);
    let consts = field_consts(&c);
    let de = deserialize_read(&c);
    let ser = serialize_read(&c);
    let field_enum = field_enum(&c);
    let enums = model.fields.iter().filter_map(|f| enumeration(&c, f));
    let create = create_payload(&c);
    let patch = update_payload(&c);
    let entity = entity_impl(&c);
    let standard = standard_deal_impl(&c);
    let markers = markers(&c);
    let warnings = warnings
        .iter()
        .map(|w| warning(&w.message, cx.warning_span));
    quote! {
        #read
        #consts
        #de
        #ser
        #field_enum
        #(#enums)*
        #create
        #patch
        #entity
        #standard
        #markers
        #(#warnings)*
    }
}

fn ident(name: &str) -> syn::Ident {
    format_ident!("{}", name)
}

/// Escapes text from the portal for Markdown docs (labels are free text: `<b>`, `*`, `_`).
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' | '`' | '*' | '[' | ']' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

fn flags(f: &FieldModel) -> String {
    let mut v = Vec::new();
    if f.required {
        v.push("required");
    }
    if f.read_only {
        v.push("read-only");
    }
    if f.immutable {
        v.push("immutable");
    }
    if f.multiple {
        v.push("multiple");
    }
    if f.deprecated {
        v.push("deprecated");
    }
    if f.dynamic {
        v.push("user field");
    }
    v.join(", ")
}

/// The doc lines of a field: human name, then code, type and flags.
fn field_docs(f: &FieldModel) -> Vec<String> {
    let name = f.label.as_deref().unwrap_or(&f.title);
    let mut lines = vec![format!(" **{}**", md(name)), String::new()];
    let mut meta = format!(" `{}` · type `{}`", f.code, f.bitrix_type.replace('`', "'"));
    if let Some(st) = &f.status_type {
        meta.push_str(&format!(" (`{}`)", st.replace('`', "'")));
    }
    let fl = flags(f);
    if !fl.is_empty() {
        meta.push_str(&format!(" · {fl}"));
    }
    lines.push(meta);
    if f.labels.len() > 1 || (f.dynamic && f.title != f.code) {
        lines.push(String::new());
        let labels: Vec<String> = f.labels.iter().map(|l| format!("\"{}\"", md(l))).collect();
        lines.push(format!(" Labels: {}.", labels.join(", ")));
    }
    if !f.mapping.known {
        lines.push(String::new());
        lines.push(format!(
            " The type `{}` is unknown to bitrix-codegen: the value is raw JSON.",
            md(&f.bitrix_type)
        ));
    }
    lines
}

fn doc_attrs(lines: &[String]) -> TokenStream {
    quote!(#(#[doc = #lines])*)
}

fn deprecated_attr(f: &FieldModel) -> TokenStream {
    if f.deprecated {
        let note = format!("{} is marked isDeprecated by the portal", f.code);
        quote!(#[deprecated(note = #note)])
    } else {
        quote!()
    }
}

fn read_model(c: &Cx<'_>, attrs: &[TokenStream]) -> TokenStream {
    let Cx { rt, vis, read, .. } = c;
    let m = c.model;
    let user_fields = m.fields.iter().filter(|f| f.dynamic).count();
    let summary = format!(
        " The {} read model of the portal snapshot `{}`: {} fields, {} of them user fields.",
        m.entity.name,
        m.schema_label,
        m.fields.len(),
        user_fields
    );
    let doc_block = if attrs.is_empty() {
        let more = format!(
            " Every field is optional: `{}.list` returns only the selected fields. Create records with [`{}`], update them with [`{}`], name fields in queries with the constants (`{}::{}`) or [`{}`].",
            m.entity.method_prefix,
            c.create,
            c.patch,
            read,
            m.fields
                .first()
                .map(|f| f.const_name.as_str())
                .unwrap_or("ID"),
            c.field_enum
        );
        quote!(#[doc = #summary] #[doc = ""] #[doc = #more])
    } else {
        quote!(#(#attrs)* #[doc = ""] #[doc = #summary])
    };
    let fields = m.fields.iter().map(|f| {
        let docs = doc_attrs(&field_docs(f));
        let dep = deprecated_attr(f);
        let id = ident(&f.ident);
        let ty = &f.mapping.read_ty;
        quote! { #docs #dep pub #id: ::core::option::Option<#ty>, }
    });
    quote! {
        #doc_block
        #[derive(Debug, Clone, PartialEq, Default)]
        #[allow(deprecated)]
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        #vis struct #read {
            #(#fields)*
            /// Fields the portal returned that the snapshot does not know (added on the portal
            /// after the snapshot was taken), as raw JSON. Refresh the snapshot to type them.
            pub extra: ::std::collections::BTreeMap<::std::string::String, #rt::__private::serde_json::Value>,
        }
    }
}

fn field_consts(c: &Cx<'_>) -> TokenStream {
    let Cx {
        rt,
        read,
        field_enum,
        ..
    } = c;
    let consts = c.model.fields.iter().map(|f| {
        let name = ident(&f.const_name);
        let variant = ident(&f.variant);
        let codec = &f.mapping.filter_codec;
        let doc = format!(
            " `{}` ({}) for filters, `order` and `select`.",
            f.code,
            md(f.label.as_deref().unwrap_or(&f.title))
        );
        quote! {
            #[doc = #doc]
            pub const #name: #rt::query::Field<#read, #codec> = #rt::query::Field::new(#field_enum::#variant);
        }
    });
    quote! {
        /// Typed field identifiers.
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #read {
            #(#consts)*
        }
    }
}

fn deserialize_read(c: &Cx<'_>) -> TokenStream {
    let Cx {
        rt,
        read,
        field_enum,
        ..
    } = c;
    let arms = c.model.fields.iter().map(|f| {
        let variant = ident(&f.variant);
        let id = ident(&f.ident);
        let codec = &f.mapping.read_codec;
        let code = &f.code;
        quote! {
            Some(#field_enum::#variant) => out.#id = __p::take::<#codec, _>(&mut map, #code)?,
        }
    });
    let expecting = format!(
        "a {} record (a JSON object of field codes)",
        c.model.entity.name
    );
    let slots = c.model.fields.len() + 1;
    quote! {
        #[allow(deprecated)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl<'de> #rt::__private::serde::Deserialize<'de> for #read {
            fn deserialize<D>(deserializer: D) -> ::core::result::Result<Self, D::Error>
            where
                D: #rt::__private::serde::Deserializer<'de>,
            {
                struct Visit;
                #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
                impl<'de> #rt::__private::serde::de::Visitor<'de> for Visit {
                    type Value = #read;
                    fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.write_str(#expecting)
                    }
                    fn visit_map<A>(self, mut map: A) -> ::core::result::Result<#read, A::Error>
                    where
                        A: #rt::__private::serde::de::MapAccess<'de>,
                    {
                        use ::core::option::Option::Some;
                        use #rt::__private as __p;
                        // Rows come with their fields in the same order: learn it once.
                        static ORDER: __p::RowOrder<#slots> = __p::RowOrder::new();
                        let mut cursor = __p::RowCursor::default();
                        let mut out = <#read as ::core::default::Default>::default();
                        while let ::core::option::Option::Some(key) = map.next_key::<#rt::__private::Key<'de>>()? {
                            match __p::find_code_in_row(#field_enum::__sorted(), &ORDER, &mut cursor, key.as_str()) {
                                #(#arms)*
                                ::core::option::Option::None => {
                                    let value: #rt::__private::serde_json::Value = map.next_value()?;
                                    out.extra.insert(::std::string::String::from(key.as_str()), value);
                                }
                            }
                        }
                        ::core::result::Result::Ok(out)
                    }
                }
                deserializer.deserialize_map(Visit)
            }
        }
    }
}

fn serialize_read(c: &Cx<'_>) -> TokenStream {
    let Cx { rt, read, .. } = c;
    let entries = c.model.fields.iter().map(|f| {
        let id = ident(&f.ident);
        let codec = &f.mapping.read_codec;
        let code = &f.code;
        quote!(__p::put::<#codec, _>(&mut map, #code, &self.#id)?;)
    });
    let extra = quote! {
        for (code, value) in &self.extra {
            map.serialize_entry(code, value)?;
        }
    };
    serialize_map_impl(rt, read, quote!(#(#entries)* #extra))
}

/// `impl Serialize` writing a JSON object; `entries` call `map.serialize_entry(..)?`.
fn serialize_map_impl(rt: &TokenStream, ty: &syn::Ident, entries: TokenStream) -> TokenStream {
    quote! {
        #[allow(deprecated)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #rt::__private::serde::Serialize for #ty {
            fn serialize<S>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error>
            where
                S: #rt::__private::serde::Serializer,
            {
                use #rt::__private::serde::ser::SerializeMap as _;
                #[allow(unused_imports)]
                use #rt::__private as __p;
                let mut map = serializer.serialize_map(::core::option::Option::None)?;
                #entries
                map.end()
            }
        }
    }
}

fn field_enum(c: &Cx<'_>) -> TokenStream {
    let Cx {
        rt,
        vis,
        read,
        field_enum,
        ..
    } = c;
    let fields = &c.model.fields;
    let variants = fields.iter().map(|f| {
        let doc = format!(
            " `{}` ({}): see [`{read}::{}`].",
            f.code,
            md(f.label.as_deref().unwrap_or(&f.title)),
            f.ident
        );
        let v = ident(&f.variant);
        quote!(#[doc = #doc] #v,)
    });
    let all = fields.iter().map(|f| ident(&f.variant));
    let metas = fields.iter().map(|f| {
        let code = &f.code;
        let rust_name = &f.ident;
        let title = &f.title;
        let label = f.label.as_deref().unwrap_or("");
        let ty = &f.bitrix_type;
        let status = f.status_type.as_deref().unwrap_or("");
        let flags = [
            (f.required, "REQUIRED"),
            (f.read_only, "READ_ONLY"),
            (f.immutable, "IMMUTABLE"),
            (f.multiple, "MULTIPLE"),
            (f.dynamic, "DYNAMIC"),
            (f.deprecated, "DEPRECATED"),
            (f.label.is_some(), "HAS_LABEL"),
            (f.status_type.is_some(), "HAS_STATUS_TYPE"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| ident(name));
        quote! {
            __p::meta(#code, #rust_name, #title, #label, #ty, #status, 0 #(| __p::#flags)*),
        }
    });
    let mut sorted: Vec<&FieldModel> = fields.iter().collect();
    sorted.sort_by(|a, b| a.code.cmp(&b.code));
    let sorted = sorted.iter().map(|f| {
        let code = &f.code;
        let v = ident(&f.variant);
        quote!((#code, #field_enum::#v),)
    });
    let count = fields.len();
    let doc = format!(
        " Every field of [`{read}`], for `select` and `order`; [`{rt_name}::EntityField::meta`] gives the snapshot's descriptor.",
        rt_name = "bitrix_runtime"
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        #vis enum #field_enum {
            #(#variants)*
        }

        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #rt::EntityField for #field_enum {
            const ALL: &'static [Self] = &[#(Self::#all),*];

            fn meta(self) -> &'static #rt::FieldMeta {
                use #rt::__private as __p;
                static META: [#rt::FieldMeta; #count] = [#(#metas)*];
                &META[self as usize]
            }

            fn from_code(code: &str) -> ::core::option::Option<Self> {
                #rt::__private::find_code(Self::__sorted(), code)
            }
        }

        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #field_enum {
            /// Every field by its Bitrix code, sorted by code.
            #[doc(hidden)]
            pub fn __sorted() -> &'static [(&'static str, #field_enum)] {
                static SORTED: [(&str, #field_enum); #count] = [#(#sorted)*];
                &SORTED
            }
        }

        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl ::core::fmt::Display for #field_enum {
            /// The Bitrix code.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(#rt::EntityField::code(*self))
            }
        }

        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl<C> ::core::convert::From<#rt::query::Field<#read, C>> for #field_enum {
            fn from(field: #rt::query::Field<#read, C>) -> Self {
                field.field()
            }
        }
    }
}

fn enumeration(c: &Cx<'_>, f: &FieldModel) -> Option<TokenStream> {
    let e = f.enumeration.as_ref()?;
    let Cx { rt, vis, .. } = c;
    let name = ident(&e.ident);
    let doc = format!(
        " Items of the enumeration field `{}` ({}). Ids the snapshot does not know (items added on the portal later) read as [`{}::Other`].",
        f.code,
        md(f.label.as_deref().unwrap_or(&f.title)),
        e.ident
    );
    let variants = e.variants.iter().map(|(v, id, label)| {
        let v = ident(v);
        let doc = format!(" {} (item {id})", md(label));
        quote!(#[doc = #doc] #v,)
    });
    let all = e.variants.iter().map(|(v, _, _)| ident(v));
    let ids = e.variants.iter().map(|(v, id, _)| {
        let v = ident(v);
        quote!(Self::#v => #id,)
    });
    let labels = e.variants.iter().map(|(v, _, label)| {
        let v = ident(v);
        quote!(Self::#v => ::core::option::Option::Some(#label),)
    });
    let mut sorted: Vec<(usize, &String)> = e
        .variants
        .iter()
        .enumerate()
        .map(|(i, (_, id, _))| (i, id))
        .collect();
    sorted.sort_by(|a, b| a.1.cmp(b.1));
    let sorted = sorted.iter().map(|(i, id)| quote!((#id, #i),));
    let count = e.variants.len();
    Some(quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        #vis enum #name {
            #(#variants)*
            /// An item id the snapshot does not know.
            Other(::std::string::String),
        }

        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #name {
            /// Every item known to the snapshot, in portal order.
            pub const ALL: &'static [Self] = &[#(Self::#all),*];

            /// The item's label (`VALUE`) as the snapshot has it; `None` for [`Self::Other`].
            pub fn label(&self) -> ::core::option::Option<&'static str> {
                match self {
                    #(#labels)*
                    Self::Other(_) => ::core::option::Option::None,
                }
            }
        }

        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #rt::types::EnumValue for #name {
            fn from_id(id: &str) -> Self {
                static SORTED: [(&str, usize); #count] = [#(#sorted)*];
                match #rt::__private::find_code(&SORTED, id) {
                    ::core::option::Option::Some(i) => Self::ALL[i].clone(),
                    ::core::option::Option::None => Self::Other(::std::string::String::from(id)),
                }
            }

            fn id(&self) -> &str {
                match self {
                    #(#ids)*
                    Self::Other(id) => id,
                }
            }
        }

        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl ::core::fmt::Display for #name {
            /// The label, or the id of an unknown item.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.label() {
                    ::core::option::Option::Some(label) => f.write_str(label),
                    ::core::option::Option::None => f.write_str(#rt::types::EnumValue::id(self)),
                }
            }
        }
    })
}

fn marker_path(c: &Cx<'_>, f: &FieldModel) -> TokenStream {
    let m = &c.markers;
    let t = ident(&f.marker);
    quote!(#m::#t)
}

/// One line for a setter, linking to the field's full docs (repeating them on every setter
/// would multiply the size of the generated code for big portals).
fn setter_docs(f: &FieldModel, verb: &str, owner: &syn::Ident) -> TokenStream {
    let line = format!(
        " {verb} `{}` ({}): see [`{owner}::{}`].",
        f.code,
        md(f.label.as_deref().unwrap_or(&f.title)),
        f.ident
    );
    quote!(#[doc = #line])
}

fn read_only_guard(c: &Cx<'_>, f: &FieldModel, ret: TokenStream) -> TokenStream {
    let rt = &c.rt;
    let id = ident(&f.ident);
    let marker = marker_path(c, f);
    let doc = format!(
        " `{}` is read-only: the portal drops it on add and update, so it cannot be set. This method exists only to explain that at compile time.",
        f.code
    );
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[allow(unreachable_code)]
        pub fn #id<V>(self, value: V) -> #ret
        where
            V: #rt::__private::ReadOnly<#marker>,
        {
            match #rt::__private::ReadOnly::unreachable(value) {}
        }
    }
}

fn create_payload(c: &Cx<'_>) -> TokenStream {
    let Cx {
        rt,
        vis,
        read,
        create,
        builder,
        values,
        ..
    } = c;
    let fields: Vec<&FieldModel> = c.model.fields.iter().filter(|f| f.on_create()).collect();
    let required: Vec<&FieldModel> = fields
        .iter()
        .copied()
        .filter(|f| f.required_on_create())
        .collect();
    let optional: Vec<&FieldModel> = fields
        .iter()
        .copied()
        .filter(|f| !f.required_on_create())
        .collect();

    let struct_fields = fields.iter().map(|f| {
        let docs = setter_docs(f, "Field", read);
        let dep = deprecated_attr(f);
        let id = ident(&f.ident);
        let ty = &f.mapping.write_ty;
        if f.required_on_create() {
            quote!(#docs #dep pub #id: #ty,)
        } else {
            quote!(#docs #dep pub #id: ::core::option::Option<#ty>,)
        }
    });
    let ser_entries = fields.iter().map(|f| {
        let id = ident(&f.ident);
        let codec = &f.mapping.write_codec;
        let code = &f.code;
        if f.required_on_create() {
            quote!(__p::put_value::<#codec, _>(&mut map, #code, &self.#id)?;)
        } else {
            quote!(__p::put::<#codec, _>(&mut map, #code, &self.#id)?;)
        }
    });
    let value_fields = optional.iter().map(|f| {
        let id = ident(&f.ident);
        let ty = &f.mapping.write_ty;
        quote!(#id: ::core::option::Option<#ty>,)
    });

    // Typestate: one type parameter per required field; unset = the field's marker type.
    let params: Vec<syn::Ident> = (0..required.len())
        .map(|i| format_ident!("R{}", i))
        .collect();
    let slots: Vec<syn::Ident> = (0..required.len())
        .map(|i| format_ident!("r{}", i))
        .collect();
    let defaults = required.iter().zip(&params).map(|(f, p)| {
        let m = marker_path(c, f);
        quote!(#p = #m)
    });
    let generic_decl = if params.is_empty() {
        quote!()
    } else {
        quote!(<#(#defaults),*>)
    };
    let all_params = quote!(<#(#params),*>);
    let initial_markers = required.iter().map(|f| marker_path(c, f));

    let optional_setters = optional.iter().map(|f| {
        let id = ident(&f.ident);
        let ty = &f.mapping.write_ty;
        let docs = setter_docs(f, "Sets", create);
        let dep = deprecated_attr(f);
        quote! {
            #docs
            #dep
            pub fn #id(mut self, value: impl ::core::convert::Into<#ty>) -> Self {
                self.values.#id = ::core::option::Option::Some(value.into());
                self
            }
        }
    });
    let read_only_guards = c
        .model
        .fields
        .iter()
        .filter(|f| f.read_only)
        .map(|f| read_only_guard(c, f, quote!(Self)));
    let required_setters = required.iter().enumerate().map(|(k, f)| {
        let id = ident(&f.ident);
        let ty = &f.mapping.write_ty;
        let docs = setter_docs(f, "Sets the required field", create);
        let dep = deprecated_attr(f);
        let others: Vec<&syn::Ident> = params
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != k)
            .map(|(_, p)| p)
            .collect();
        let marker = marker_path(c, f);
        let input = params.iter().enumerate().map(
            |(i, p)| {
                if i == k { marker.clone() } else { quote!(#p) }
            },
        );
        let output = params.iter().enumerate().map(|(i, p)| {
            if i == k {
                quote!(#rt::__private::Set<#ty>)
            } else {
                quote!(#p)
            }
        });
        let moves = slots.iter().enumerate().map(|(i, s)| {
            if i == k {
                quote!(#s: #rt::__private::Set(value.into()),)
            } else {
                quote!(#s: self.#s,)
            }
        });
        quote! {
            #[allow(dead_code)]
            #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
            impl<#(#others),*> #builder<#(#input),*> {
                #docs
                #dep
                pub fn #id(self, value: impl ::core::convert::Into<#ty>) -> #builder<#(#output),*> {
                    #builder { values: self.values, #(#moves)* }
                }
            }
        }
    });
    let build_bounds = required.iter().zip(&params).map(|(f, p)| {
        let ty = &f.mapping.write_ty;
        quote!(#p: #rt::__private::Provided<#ty>)
    });
    let build_where = if required.is_empty() {
        quote!()
    } else {
        quote!(where #(#build_bounds,)*)
    };
    let build_required = required.iter().zip(&slots).map(|(f, s)| {
        let id = ident(&f.ident);
        let ty = &f.mapping.write_ty;
        quote!(#id: #rt::__private::Provided::<#ty>::into_value(self.#s),)
    });
    let build_optional = optional.iter().map(|f| {
        let id = ident(&f.ident);
        quote!(#id: self.values.#id,)
    });
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
        " The create payload of [`{read}`] (`{}.add`): read-only fields do not exist on it. Build it with [`{create}::builder`].",
        c.model.entity.method_prefix
    );
    let builder_doc = format!(
        " Builds a [`{create}`]; each required field's setter must be called before `.build()`."
    );
    let create_ser = serialize_map_impl(rt, create, quote!(#(#ser_entries)*));
    let default_impl = if required.is_empty() {
        quote! {
            #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
            impl ::core::default::Default for #create {
                fn default() -> Self {
                    #builder::new().build()
                }
            }
        }
    } else {
        quote!()
    };
    let slot_fields = slots.iter().zip(&params).map(|(s, p)| quote!(#s: #p,));
    let slot_inits = slots
        .iter()
        .zip(initial_markers)
        .map(|(s, m)| quote!(#s: #m,));
    quote! {
        #[doc = #create_doc]
        #[doc = ""]
        #[doc = #required_list]
        #[derive(Debug, Clone, PartialEq)]
        #[allow(deprecated)]
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        #vis struct #create {
            #(#struct_fields)*
        }

        #default_impl

        #create_ser

        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #rt::CreatePayload for #create {
            type Entity = #read;
        }

        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #create {
            /// Starts a create payload with no field set.
            pub fn builder() -> #builder {
                #builder::new()
            }
        }

        #[derive(Debug, Clone, PartialEq, Default)]
        #[allow(deprecated)]
        #[doc(hidden)]
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        #vis struct #values {
            #(#value_fields)*
        }

        #[doc = #builder_doc]
        #[doc = ""]
        #[doc = #required_list]
        #[derive(Debug, Clone)]
        #[must_use = "call `.build()` to get the payload"]
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        #vis struct #builder #generic_decl {
            values: #values,
            #(#slot_fields)*
        }

        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #builder {
            /// A builder with no field set.
            pub fn new() -> Self {
                #builder { values: ::core::default::Default::default(), #(#slot_inits)* }
            }
        }

        #[allow(deprecated)]
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #all_params #builder #all_params {
            #(#optional_setters)*
            #(#read_only_guards)*
        }

        #(#required_setters)*

        #[allow(deprecated)]
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #all_params #builder #all_params {
            /// The payload; compiles only when every required field is set.
            pub fn build(self) -> #create #build_where {
                #create {
                    #(#build_required)*
                    #(#build_optional)*
                }
            }
        }
    }
}

fn update_payload(c: &Cx<'_>) -> TokenStream {
    let Cx {
        rt,
        vis,
        read,
        patch,
        ..
    } = c;
    let fields: Vec<&FieldModel> = c.model.fields.iter().filter(|f| f.on_update()).collect();
    let struct_fields = fields.iter().map(|f| {
        let docs = setter_docs(f, "Field", read);
        let dep = deprecated_attr(f);
        let id = ident(&f.ident);
        let ty = &f.mapping.write_ty;
        quote!(#docs #dep pub #id: #rt::Patch<#ty>,)
    });
    let setters = fields.iter().map(|f| {
        let id = ident(&f.ident);
        let clear = format_ident!("clear_{}", f.ident);
        let ty = &f.mapping.write_ty;
        let docs = setter_docs(f, "Sets", patch);
        let clear_doc = format!(" Clears `{}` (sends the empty value).", f.code);
        let dep = deprecated_attr(f);
        quote! {
            #docs
            #dep
            pub fn #id(mut self, value: impl ::core::convert::Into<#ty>) -> Self {
                self.#id = #rt::Patch::Set(value.into());
                self
            }
            #[doc = #clear_doc]
            #dep
            pub fn #clear(mut self) -> Self {
                self.#id = #rt::Patch::Clear;
                self
            }
        }
    });
    let read_only_guards = c
        .model
        .fields
        .iter()
        .filter(|f| f.read_only)
        .map(|f| read_only_guard(c, f, quote!(Self)));
    let immutable_guards = c.model.fields.iter().filter(|f| f.immutable && !f.read_only).map(|f| {
        let id = ident(&f.ident);
        let marker = marker_path(c, f);
        let doc = format!(
            " `{}` is immutable: the portal ignores it on update, so it cannot be set here. This method exists only to explain that at compile time.",
            f.code
        );
        quote! {
            #[doc = #doc]
            #[doc(hidden)]
            #[allow(unreachable_code)]
            pub fn #id<V>(self, value: V) -> Self
            where
                V: #rt::__private::Immutable<#marker>,
            {
                match #rt::__private::Immutable::unreachable(value) {}
            }
        }
    });
    let ser_entries = fields.iter().map(|f| {
        let id = ident(&f.ident);
        let codec = &f.mapping.write_codec;
        let code = &f.code;
        quote!(__p::put_patch::<#codec, _>(&mut map, #code, &self.#id)?;)
    });
    let patch_ser = serialize_map_impl(rt, patch, quote!(#(#ser_entries)*));
    let touched = fields.iter().map(|f| {
        let id = ident(&f.ident);
        quote!(self.#id.is_touched())
    });
    let is_empty = if fields.is_empty() {
        quote!(true)
    } else {
        quote!(!(#(#touched)||*))
    };
    let cleared = fields.iter().map(|f| {
        let id = ident(&f.ident);
        let code = &f.code;
        quote!(__p::cleared(&mut out, #code, &self.#id);)
    });
    let doc = format!(
        " The update payload of [`{read}`] (`{}.update`): read-only and immutable fields do not exist on it; each field is left alone, cleared or set, and only touched fields are sent.",
        c.model.entity.method_prefix
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq, Default)]
        #[allow(deprecated)]
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        #vis struct #patch {
            #(#struct_fields)*
        }

        #[allow(deprecated)]
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #patch {
            /// An update that touches nothing.
            pub fn new() -> Self {
                ::core::default::Default::default()
            }
            #(#setters)*
            #(#read_only_guards)*
            #(#immutable_guards)*
        }

        #patch_ser

        #[allow(deprecated)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #rt::UpdatePayload for #patch {
            type Entity = #read;

            fn is_empty(&self) -> bool {
                #is_empty
            }

            fn cleared_fields(&self) -> ::std::vec::Vec<&'static str> {
                #[allow(unused_imports)]
                use #rt::__private as __p;
                let mut out = ::std::vec::Vec::new();
                #(#cleared)*
                out
            }
        }
    }
}

fn entity_impl(c: &Cx<'_>) -> TokenStream {
    let Cx {
        rt,
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
    let id_ty = ident(crate::mapping::entity_id_type(name));
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
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #rt::Entity for #read {
            const NAME: &'static str = #name;
            const METHOD_PREFIX: &'static str = #prefix;
            const ENTITY_TYPE_ID: u32 = #type_id;
            type Id = #rt::types::#id_ty;
            type New = #create;
            type Patch = #patch;
            type Field = #field_enum;

            fn id(&self) -> ::core::option::Option<Self::Id> {
                #id_body
            }
        }
    }
}

/// The standard deal fields of `bitrix_runtime::StandardDeal`: getter, code, Bitrix type,
/// codec, Rust type, and whether the getter returns a copy or a borrow.
const STANDARD_DEAL: &[(&str, &str, &str, &str, &str, Access)] = &[
    (
        "deal_id",
        "ID",
        "integer",
        "Id<DealId>",
        "DealId",
        Access::Copy,
    ),
    ("title", "TITLE", "string", "Text", "str", Access::Str),
    (
        "type_id",
        "TYPE_ID",
        "crm_status",
        "Status",
        "StatusId",
        Access::Ref,
    ),
    (
        "category_id",
        "CATEGORY_ID",
        "crm_category",
        "Id<CategoryId>",
        "CategoryId",
        Access::Copy,
    ),
    (
        "stage_id",
        "STAGE_ID",
        "crm_status",
        "Status",
        "StatusId",
        Access::Ref,
    ),
    (
        "currency_id",
        "CURRENCY_ID",
        "crm_currency",
        "Currency",
        "CurrencyId",
        Access::Ref,
    ),
    (
        "opportunity",
        "OPPORTUNITY",
        "double",
        "Decimal",
        "Decimal",
        Access::Copy,
    ),
    (
        "company_id",
        "COMPANY_ID",
        "crm_company",
        "Id<CompanyId>",
        "CompanyId",
        Access::Copy,
    ),
    (
        "assigned_by_id",
        "ASSIGNED_BY_ID",
        "user",
        "Id<UserId>",
        "UserId",
        Access::Copy,
    ),
    (
        "date_create",
        "DATE_CREATE",
        "datetime",
        "DateTime",
        "DateTime<FixedOffset>",
        Access::Copy,
    ),
    (
        "date_modify",
        "DATE_MODIFY",
        "datetime",
        "DateTime",
        "DateTime<FixedOffset>",
        Access::Copy,
    ),
    (
        "close_date",
        "CLOSEDATE",
        "date",
        "Date",
        "NaiveDate",
        Access::Copy,
    ),
    ("closed", "CLOSED", "char", "YesNo", "bool", Access::Copy),
    ("comments", "COMMENTS", "string", "Text", "str", Access::Str),
];

#[derive(Clone, Copy)]
enum Access {
    Copy,
    Ref,
    Str,
}

/// `impl StandardDeal` when the snapshot has every standard field with its standard type.
fn standard_deal_impl(c: &Cx<'_>) -> TokenStream {
    if c.model.entity.name != "deal" {
        return quote!();
    }
    let Cx {
        rt,
        read,
        field_enum,
        ..
    } = c;
    let mut consts = Vec::new();
    let mut getters = Vec::new();
    for (method, code, ty, codec, rust, access) in STANDARD_DEAL {
        let field = c
            .model
            .fields
            .iter()
            .find(|f| f.code == *code && f.bitrix_type == *ty && !f.multiple);
        let Some(field) = field else {
            return quote!();
        };
        let const_name = ident(code);
        let variant = ident(&field.variant);
        let codec = prefixed(rt, "codec", codec);
        consts.push(quote! {
            const #const_name: #rt::query::Field<Self, #codec> = #rt::query::Field::new(#field_enum::#variant);
        });
        let m = ident(method);
        let id = ident(&field.ident);
        let rust = if *rust == "str" {
            quote!(str)
        } else if *rust == "bool" {
            quote!(bool)
        } else {
            prefixed(rt, "types", rust)
        };
        let (ret, body) = match access {
            Access::Copy => (quote!(::core::option::Option<#rust>), quote!(self.#id)),
            Access::Ref => (
                quote!(::core::option::Option<&#rust>),
                quote!(self.#id.as_ref()),
            ),
            Access::Str => (
                quote!(::core::option::Option<&#rust>),
                quote!(self.#id.as_deref()),
            ),
        };
        getters.push(quote! {
            fn #m(&self) -> #ret {
                #body
            }
        });
    }
    quote! {
        #[allow(deprecated)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        impl #rt::StandardDeal for #read {
            #(#consts)*
            #(#getters)*
        }
    }
}

/// `#rt::module::Path<Args>` from text such as `Id<DealId>` (arguments live in `types`).
fn prefixed(rt: &TokenStream, module: &str, path: &str) -> TokenStream {
    let module = ident(module);
    match path.split_once('<') {
        Some((head, args)) => {
            let head = ident(head);
            let args: Vec<TokenStream> = args
                .trim_end_matches('>')
                .split(',')
                .map(|a| {
                    let a = ident(a.trim());
                    quote!(#rt::types::#a)
                })
                .collect();
            quote!(#rt::#module::#head<#(#args),*>)
        }
        None => {
            let head = ident(path);
            quote!(#rt::#module::#head)
        }
    }
}

fn markers(c: &Cx<'_>) -> TokenStream {
    let Cx {
        vis, markers, read, ..
    } = c;
    let items = c
        .model
        .fields
        .iter()
        .filter(|f| f.read_only || f.immutable || f.required_on_create())
        .map(|f| {
            let t = ident(&f.marker);
            let doc = format!(" Names the field `{}` in compile errors.", f.code);
            quote!(#[doc = #doc] #[derive(Debug, Clone, Copy)] pub struct #t;)
        });
    let doc = format!(" Marker types that name fields of [`{read}`] in compile errors.");
    let _ = read;
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #[allow(dead_code)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery)]
        #vis mod #markers {
            #(#items)*
        }
    }
}

fn warning(message: &str, span: Span) -> TokenStream {
    let note = format!("bitrix_entity: {message}");
    quote_spanned! {span=>
        const _: () = {
            #[deprecated(note = #note)]
            #[allow(non_upper_case_globals)]
            const bitrix_entity_warning: () = ();
            bitrix_entity_warning
        };
    }
}
