//! Stage 3: the request builders made from the original schema: the typed create builder,
//! the JSON-patch setters and the list filters for operator-defined properties.
//!
//! Only writable properties of a settable type (string, integer, boolean, string array) get
//! setters; everything else is reachable through the builders' raw-value methods.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::{Property, ValueKind};
use crate::naming::method_ident;

/// The argument type and value-conversion expression of a setter for a property.
fn setter_parts(p: &Property) -> (TokenStream, TokenStream) {
    if let Some(en) = &p.enum_type {
        let ty = format_ident!("{}", en);
        return (
            quote!(impl ::std::convert::Into<#ty>),
            quote!(::serde_json::Value::String(
                value.into().as_str().to_owned()
            )),
        );
    }
    match p.kind {
        ValueKind::Str => (
            quote!(impl ::std::convert::Into<::std::string::String>),
            quote!(::serde_json::Value::String(value.into())),
        ),
        ValueKind::Int => (quote!(i64), quote!(::serde_json::Value::from(value))),
        // A float that is not finite has no JSON form: it becomes `null`, which validation
        // refuses before the request leaves.
        ValueKind::Number => (quote!(f64), quote!(::serde_json::Value::from(value))),
        ValueKind::Bool => (quote!(bool), quote!(::serde_json::Value::Bool(value))),
        ValueKind::StrArray => (
            quote!(
                impl ::std::iter::IntoIterator<Item = impl ::std::convert::Into<::std::string::String>>
            ),
            quote!(::serde_json::Value::Array(
                value
                    .into_iter()
                    .map(|s| ::serde_json::Value::String(s.into()))
                    .collect()
            )),
        ),
        ValueKind::Object | ValueKind::Array | ValueKind::Any => {
            (quote!(::serde_json::Value), quote!(value))
        }
    }
}

/// The doc comment of a setter: what it does, the property's description and its rules.
fn doc_for(p: &Property, what: &str) -> String {
    let mut d = format!(
        "{what} `{}`: {}",
        p.name,
        p.description.trim_end_matches('.')
    );
    d.push('.');
    if !p.enum_values.is_empty() {
        d.push_str(&format!(" Allowed: {}.", p.enum_values.join(", ")));
    }
    if let Some(n) = p.max_length {
        d.push_str(&format!(" At most {n} characters."));
    }
    if p.custom {
        d.push_str(" Defined by the operator (`schema-image.json`).");
    }
    d
}

/// `ImageCreate`: the create request body with a typed setter per writable property.
pub fn create_builder(props: &[Property]) -> TokenStream {
    let settable = |p: &&Property| {
        !p.read_only
            && !matches!(
                p.kind,
                ValueKind::Array | ValueKind::Object | ValueKind::Any
            )
    };
    // `new(name)` goes through the `name` setter when there is a plain string one.
    let named = props
        .iter()
        .filter(settable)
        .find(|p| p.name == "name" && p.kind == ValueKind::Str && p.enum_type.is_none())
        .map(|p| syn::Ident::new(&p.field, proc_macro2::Span::call_site()));
    let new_body = match named {
        Some(setter) => quote!(ImageCreate::default().#setter(name)),
        None => quote! {
            let mut create = ImageCreate::default();
            create.body.insert("name".to_owned(), ::serde_json::Value::String(name.into()));
            create
        },
    };
    let setters = props.iter().filter(settable).map(|p| {
        let f = syn::Ident::new(&p.field, proc_macro2::Span::call_site());
        let key = &p.name;
        let (arg, conv) = setter_parts(p);
        let doc = doc_for(p, "Sets");
        quote! {
            #[doc = #doc]
            pub fn #f(mut self, value: #arg) -> Self {
                self.body.insert(#key.to_owned(), #conv);
                self
            }
        }
    });
    quote! {
        /// The body of an image create request (`POST /v2/images`), with a typed setter for
        /// every writable property of the served schema and free-form string properties.
        ///
        /// Nothing is checked until the request is sent; then every property is validated
        /// against the schema (read-only attributes, enum values, lengths, patterns, string
        /// custom values) and the first problem is returned as
        /// [`Error::InvalidInput`](crate::Error::InvalidInput) before any request leaves.
        ///
        /// ```
        /// use openstack_images::{ImageCreate, ImageVisibility};
        /// let req = ImageCreate::new("cirros")
        ///     .visibility(ImageVisibility::Private)
        ///     .disk_format("qcow2")
        ///     .tags(["base", "tiny"])
        ///     .property("os_distro", "cirros");
        /// assert!(req.validate().is_ok());
        /// ```
        #[derive(Debug, Clone, Default, PartialEq)]
        #[must_use]
        pub struct ImageCreate {
            body: ::std::collections::BTreeMap<::std::string::String, ::serde_json::Value>,
        }

        impl ImageCreate {
            /// A create request for an image with this name.
            pub fn new(name: impl ::std::convert::Into<::std::string::String>) -> Self {
                #new_body
            }
            #(#setters)*
            /// Sets a custom property to a string value (custom values are strings in Glance).
            pub fn property(
                mut self,
                key: impl ::std::convert::Into<::std::string::String>,
                value: impl ::std::convert::Into<::std::string::String>,
            ) -> Self {
                self.body.insert(key.into(), ::serde_json::Value::String(value.into()));
                self
            }
            /// Sets any property to a raw JSON value; validation still applies when sent.
            pub fn property_value(
                mut self,
                key: impl ::std::convert::Into<::std::string::String>,
                value: ::serde_json::Value,
            ) -> Self {
                self.body.insert(key.into(), value);
                self
            }
            /// Checks every property against the image schema.
            pub fn validate(&self) -> crate::runtime::Result<()> {
                for (k, v) in &self.body {
                    IMAGE_SCHEMA.check_write(k, v)?;
                }
                Ok(())
            }
            /// The properties set so far.
            pub fn properties(&self) -> &::std::collections::BTreeMap<::std::string::String, ::serde_json::Value> {
                &self.body
            }
        }
    }
}

/// `add_*`/`replace_*` (and, for optional properties, `remove_*`) methods of `ImagePatch`.
pub fn patch_setters(props: &[Property]) -> TokenStream {
    let methods = props
        .iter()
        .filter(|p| !p.read_only && !matches!(p.kind, ValueKind::Array | ValueKind::Object | ValueKind::Any))
        .map(|p| {
            let key = format!("/{}", p.name);
            let (arg, conv) = setter_parts(p);
            let add = method_ident("add_", &p.field, "");
            let replace = method_ident("replace_", &p.field, "");
            let (add_doc, replace_doc) = if p.kind == ValueKind::StrArray {
                let replace_doc = format!(
                    "{} Glance's patch has no path for a single item.",
                    doc_for(p, "Replaces the whole list")
                );
                (
                    format!("{replace_doc} The old name of `{replace}`."),
                    replace_doc,
                )
            } else {
                (
                    doc_for(p, "Adds (or, in patch v2.1, overwrites)"),
                    doc_for(p, "Replaces (the property must exist)"),
                )
            };
            // A list goes whole: Glance's patch has no `/tags/-`, so `add` of a list replaces
            // it, while `ImagesApi::add_tags` appends. Lists keep `add_*` only as a deprecated
            // alias; `replace_*` is the name.
            let add_attr = if p.kind == ValueKind::StrArray {
                let note = format!(
                    "replaces the whole list; use `{replace}` (or the `ImagesApi` calls that add and remove single items)"
                );
                quote!(#[deprecated(note = #note)])
            } else {
                quote!()
            };
            let mut t = quote! {
                #[doc = #add_doc]
                #add_attr
                pub fn #add(mut self, value: #arg) -> Self {
                    self.ops.push(crate::runtime::PatchOp::Add { path: #key.to_owned(), value: #conv });
                    self
                }
                #[doc = #replace_doc]
                pub fn #replace(mut self, value: #arg) -> Self {
                    self.ops.push(crate::runtime::PatchOp::Replace { path: #key.to_owned(), value: #conv });
                    self
                }
            };
            if p.custom || p.nullable {
                let remove = method_ident("remove_", &p.field, "");
                let remove_doc = doc_for(p, "Removes");
                t.extend(quote! {
                    #[doc = #remove_doc]
                    pub fn #remove(mut self) -> Self {
                        self.ops.push(crate::runtime::PatchOp::Remove { path: #key.to_owned() });
                        self
                    }
                });
            }
            t
        });
    quote! {
        impl crate::runtime::ImagePatch {
            #(#methods)*
        }
    }
}

/// `*_eq` filters of `ImageListQuery`, one per operator-defined property.
pub fn list_filters(props: &[Property]) -> TokenStream {
    let methods = props.iter().filter(|p| p.custom).map(|p| {
        let f = method_ident("", &p.field, "_eq");
        let key = &p.name;
        let (arg, conv) = if let Some(en) = &p.enum_type {
            let ty = format_ident!("{}", en);
            (
                quote!(impl ::std::convert::Into<#ty>),
                quote!(value.into().as_str().to_owned()),
            )
        } else {
            match p.kind {
                ValueKind::Int => (quote!(i64), quote!(value.to_string())),
                ValueKind::Number => (quote!(f64), quote!(value.to_string())),
                ValueKind::Bool => (quote!(bool), quote!(value.to_string())),
                _ => (
                    quote!(impl ::std::convert::Into<::std::string::String>),
                    quote!(value.into()),
                ),
            }
        };
        let doc = format!(
            "Only images whose operator-defined property `{key}` equals the value ({}).",
            p.description.trim_end_matches('.')
        );
        quote! {
            #[doc = #doc]
            pub fn #f(self, value: #arg) -> Self {
                self.push_pair(#key, #conv)
            }
        }
    });
    quote! {
        impl crate::runtime::ImageListQuery {
            #(#methods)*
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::properties_of;
    use serde_json::json;

    fn props() -> Vec<Property> {
        let schema = json!({"properties": {
            "name": {"type": ["null", "string"]},
            "status": {"type": "string", "readOnly": true, "enum": ["queued"]},
            "visibility": {"type": "string", "enum": ["public", "private"]},
            "min_disk": {"type": "integer"},
            "protected": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "locations": {"type": "array", "items": {"type": "object"}},
            "type": {"type": "string", "is_base": false, "description": "Kind."},
            "hw_cpu_count": {"type": "integer", "is_base": false}
        }});
        properties_of(&schema, "Image", &|p| {
            format!("Image{}", crate::naming::pascal(p))
        })
    }

    fn method_names(tokens: TokenStream) -> Vec<String> {
        let file: syn::File = syn::parse2(tokens).unwrap();
        let mut names = Vec::new();
        for item in file.items {
            if let syn::Item::Impl(block) = item {
                for member in block.items {
                    if let syn::ImplItem::Fn(f) = member {
                        names.push(f.sig.ident.to_string());
                    }
                }
            }
        }
        names.sort();
        names
    }

    #[test]
    fn create_has_a_setter_per_writable_settable_property() {
        let names = method_names(create_builder(&props()));
        let expected = [
            "hw_cpu_count",
            "min_disk",
            "name",
            "new",
            "properties",
            "property",
            "property_value",
            "protected",
            "tags",
            "type_",
            "validate",
            "visibility",
        ];
        assert_eq!(names, expected);
    }

    #[test]
    fn patch_removes_only_optional_properties() {
        let names = method_names(patch_setters(&props()));
        let expected = [
            "add_hw_cpu_count",
            "add_min_disk",
            "add_name",
            "add_protected",
            "add_tags",
            "add_type",
            "add_visibility",
            "remove_hw_cpu_count",
            "remove_name",
            "remove_type",
            "replace_hw_cpu_count",
            "replace_min_disk",
            "replace_name",
            "replace_protected",
            "replace_tags",
            "replace_type",
            "replace_visibility",
        ];
        assert_eq!(names, expected);
    }

    #[test]
    fn a_lists_add_is_only_a_deprecated_alias() {
        let file: syn::File = syn::parse2(patch_setters(&props())).unwrap();
        let mut deprecated = Vec::new();
        for item in file.items {
            if let syn::Item::Impl(block) = item {
                for member in block.items {
                    if let syn::ImplItem::Fn(f) = member
                        && f.attrs.iter().any(|a| a.path().is_ident("deprecated"))
                    {
                        deprecated.push(f.sig.ident.to_string());
                    }
                }
            }
        }
        // `add_tags` would read as "append" (as `ImagesApi::add_tags` does); it replaces.
        assert_eq!(deprecated, ["add_tags"]);
    }

    #[test]
    fn filters_exist_for_operator_properties_only() {
        let tokens = list_filters(&props());
        let text = tokens.to_string();
        assert_eq!(method_names(tokens), ["hw_cpu_count_eq", "type_eq"]);
        assert!(
            text.contains("self . push_pair (\"type\" , value . into ())"),
            "{text}"
        );
        assert!(
            text.contains(
                "value : i64) -> Self { self . push_pair (\"hw_cpu_count\" , value . to_string ())"
            ),
            "{text}"
        );
    }

    #[test]
    fn enum_setters_take_the_open_enum_and_send_its_spelling() {
        let all = props();
        let visibility = all.iter().find(|p| p.name == "visibility").unwrap();
        let (arg, conv) = setter_parts(visibility);
        assert_eq!(
            arg.to_string(),
            "impl :: std :: convert :: Into < ImageVisibility >"
        );
        assert!(
            conv.to_string()
                .contains("value . into () . as_str () . to_owned ()")
        );
    }

    #[test]
    fn setter_docs_carry_the_rules() {
        let all = props();
        let custom = all.iter().find(|p| p.name == "type").unwrap();
        assert_eq!(
            doc_for(custom, "Sets"),
            "Sets `type`: Kind. Defined by the operator (`schema-image.json`)."
        );
        let visibility = all.iter().find(|p| p.name == "visibility").unwrap();
        assert!(doc_for(visibility, "Sets").ends_with("Allowed: public, private."));
    }
}
