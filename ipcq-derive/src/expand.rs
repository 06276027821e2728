//! Writes the code: the `…Kind` enum, the `…Handler` trait, and the
//! `QueueMessage` and `Dispatch` impls.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

use crate::ast::{Enum, Style, Variant};
use crate::attr::{Encoding, EnumAttrs};
use crate::ctxt::Ctxt;
use crate::{fallback, valid};

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let model = Enum::from_ast(&cx, input);
    if let Some(model) = &model {
        valid::check(&cx, model);
    }
    match (cx.check(), model) {
        (Ok(()), Some(model)) => expand(&model),
        (Err(errors), model) => fallback::expand(input, model.as_ref(), errors),
        (Ok(()), None) => unreachable!("a model is only missing after an error"),
    }
}

fn expand(input: &Enum<'_>) -> TokenStream {
    let kind_enum = kind_enum(input);
    let handler_trait = handler_trait(input);
    let impls = impls(input);
    quote! {
        #kind_enum
        #handler_trait
        #[doc(hidden)]
        // `deprecated`: the impls name every variant, deprecated ones too.
        #[allow(non_upper_case_globals, unused_qualifications, deprecated, clippy::all)]
        const _: () = {
            #impls
        };
    }
}

/// Where the calls of a variant's arms are, and so where the compiler
/// reports a bound they need that does not hold: at the variant's first
/// field for a text or bytes variant (its one field), and at the variant's
/// name for a typed one, whose fields go to the codec as one tuple. A field
/// type lacking `Serialize` or `Deserialize` is reported at that field
/// first ([`field_checks`]); the tuple's error follows at the variant, not
/// at a field that is not at fault.
fn fields_span(variant: &Variant<'_>) -> Span {
    match (variant.encoding, variant.fields.first()) {
        (Encoding::Text | Encoding::Bytes, Some(first)) => first.ty.span(),
        _ => variant.ident.span(),
    }
}

/// A checked mtype: `valid` has made sure that it is known and fits an i64.
fn mtype(variant: &Variant<'_>) -> i64 {
    variant
        .mtype
        .and_then(|m| i64::try_from(m).ok())
        .expect("mtypes are checked before expansion")
}

/// The Kind enum's name: `kind = "..."`, or the enum's name and `Kind`.
pub(crate) fn kind_ident(input: &syn::Ident, attrs: Option<&EnumAttrs>) -> Ident {
    attrs
        .and_then(|a| a.kind.clone())
        .unwrap_or_else(|| format_ident!("{}Kind", input))
}

/// The handler trait's name: `handler = "..."`, or the enum's name and
/// `Handler`.
pub(crate) fn handler_ident(input: &syn::Ident, attrs: Option<&EnumAttrs>) -> Ident {
    attrs
        .and_then(|a| a.handler.clone())
        .unwrap_or_else(|| format_ident!("{}Handler", input))
}

/// The `#[allow(...)]` and `#[expect(...)]` among `attrs`, each as an
/// allowance: an expectation the user's item meets need not be met by the
/// generated one too.
fn allowances(attrs: &[syn::Attribute]) -> impl Iterator<Item = TokenStream> + '_ {
    attrs.iter().filter_map(|a| {
        let syn::Meta::List(list) = &a.meta else {
            return None;
        };
        let tokens = &list.tokens;
        (a.path().is_ident("allow") || a.path().is_ident("expect"))
            .then(|| quote!(#[allow(#tokens)]))
    })
}

fn kind_enum(input: &Enum<'_>) -> TokenStream {
    let krate = input.krate();
    let vis = input.vis;
    let name = input.ident;
    let kind = kind_ident(name, Some(&input.attrs));
    let idents: Vec<&syn::Ident> = input.variants.iter().map(|v| v.ident).collect();
    let names: Vec<String> = input.variants.iter().map(Variant::name).collect();
    let mtypes: Vec<i64> = input.variants.iter().map(mtype).collect();
    let docs = input
        .variants
        .iter()
        .map(|v| format!("`{name}::{}`, sent with mtype {}.", v.name(), mtype(v)));
    // The user's `#[allow(...)]` and `#[expect(...)]`, on the enum and on
    // each variant, cover the variant names the Kind repeats.
    let lints = allowances(&input.original.attrs);
    let variant_lints: Vec<Vec<TokenStream>> = input
        .variants
        .iter()
        .map(|v| allowances(&v.original.attrs).collect())
        .collect();
    // A variant added to a `#[non_exhaustive]` enum adds a kind: other
    // crates must not match its kinds exhaustively either.
    let non_exhaustive = input
        .original
        .attrs
        .iter()
        .find(|a| a.path().is_ident("non_exhaustive"));
    let doc =
        format!("Which variant of [`{name}`] a message is: one value per variant, with its mtype.");
    // The trait impls, Display and From repeat the matches rather than call
    // `#kind::mtype`: a variant named `mtype` or `name` would win that path.
    let mtype_match = quote!(match self { #( #kind::#idents => #mtypes, )* });
    let name_match = quote!(match self { #( #kind::#idents => #names, )* });
    let from_mtype_match = quote! {
        match mtype {
            #( #mtypes => ::core::option::Option::Some(#kind::#idents), )*
            _ => ::core::option::Option::None,
        }
    };
    quote! {
        #[doc = #doc]
        #(#lints)*
        #non_exhaustive
        // By path: a `Debug` or `Clone` derive of another crate may be in scope.
        #[derive(
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::fmt::Debug,
            ::core::cmp::PartialEq,
            ::core::cmp::Eq,
            ::core::hash::Hash
        )]
        #vis enum #kind {
            #( #[doc = #docs] #(#variant_lints)* #idents, )*
        }

        #[automatically_derived]
        // The trait impl has its own copies, which generic code uses; these
        // are for const contexts, and may go unused.
        #[allow(dead_code)]
        impl #kind {
            /// Every kind, in declaration order.
            #vis const ALL: &'static [#kind] = &[ #( #kind::#idents ),* ];

            /// The mtype the variant is sent with.
            #vis const fn mtype(self) -> i64 {
                #mtype_match
            }

            /// The variant's name as declared.
            #vis const fn name(self) -> &'static str {
                #name_match
            }

            /// The kind sent with `mtype`, if any.
            #vis const fn from_mtype(mtype: i64) -> ::core::option::Option<Self> {
                #from_mtype_match
            }
        }

        /// Kinds are ordered by mtype, as `recv_priority` ranks them.
        #[automatically_derived]
        impl ::core::cmp::Ord for #kind {
            fn cmp(&self, other: &Self) -> ::core::cmp::Ordering {
                ::core::cmp::Ord::cmp(
                    &#krate::MessageKind::mtype(*self),
                    &#krate::MessageKind::mtype(*other),
                )
            }
        }

        #[automatically_derived]
        impl ::core::cmp::PartialOrd for #kind {
            fn partial_cmp(&self, other: &Self) -> ::core::option::Option<::core::cmp::Ordering> {
                ::core::option::Option::Some(::core::cmp::Ord::cmp(self, other))
            }
        }

        #[automatically_derived]
        impl #krate::MessageKind for #kind {
            const ALL: &'static [Self] = &[ #( #kind::#idents ),* ];
            fn mtype(self) -> i64 { #mtype_match }
            fn name(self) -> &'static str { #name_match }
            fn from_mtype(mtype: i64) -> ::core::option::Option<Self> { #from_mtype_match }
        }

        #[automatically_derived]
        impl ::core::fmt::Display for #kind {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(#krate::MessageKind::name(*self))
            }
        }

        #[automatically_derived]
        impl ::core::convert::From<#kind> for i64 {
            fn from(kind: #kind) -> i64 { #krate::MessageKind::mtype(kind) }
        }
    }
}

/// Names for the fields of a variant as bindings: the field names of a struct
/// variant, `arg0`, `arg1`… for a tuple variant, at the field's type, where
/// the compiler then reports a text or bytes field's missing trait.
fn bindings(variant: &Variant<'_>) -> Vec<Ident> {
    variant
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| match f.ident {
            Some(ident) => ident.clone(),
            None => format_ident!("arg{}", i, span = f.ty.span()),
        })
        .collect()
}

/// A pattern that binds every field of the variant by its binding name.
fn pattern(enum_ident: &syn::Ident, variant: &Variant<'_>) -> TokenStream {
    let ident = variant.ident;
    let names = bindings(variant);
    match variant.style {
        Style::Unit => quote!(#enum_ident::#ident),
        Style::Tuple => quote!(#enum_ident::#ident( #(#names),* )),
        Style::Struct => quote!(#enum_ident::#ident { #(#names),* }),
    }
}

pub(crate) fn handler_trait(input: &Enum<'_>) -> TokenStream {
    let vis = input.vis;
    let name = input.ident;
    let handler = handler_ident(name, Some(&input.attrs));
    // Colliding names are an error reported by `valid`; keeping the first
    // spares the user a second error about the same thing from the fallback.
    let mut seen = std::collections::HashSet::new();
    let unique = input
        .variants
        .iter()
        .filter(|v| seen.insert(v.method_ident().to_string()));
    let methods = unique.map(|v| {
        let method = v.method_ident();
        let names = bindings(v);
        // In the trait, `Self` would be the handler: name the enum instead.
        let types = v
            .fields
            .iter()
            .map(|f| replace_self(f.ty.to_token_stream(), name));
        let doc = format!("Handles a [`{name}::{}`].", v.name());
        quote! {
            #[doc = #doc]
            fn #method(&mut self #(, #names: #types)*);
        }
    });
    let doc = format!(
        "A handler for every variant of [`{name}`], for `TypedQueue::serve`: one method per variant, taking its fields."
    );
    quote! {
        #[doc = #doc]
        // A variant with many fields gives a method with as many arguments;
        // a deprecated enum is named where a field type said `Self`.
        #[allow(clippy::too_many_arguments, deprecated)]
        #vis trait #handler {
            #(#methods)*
        }
    }
}

/// A check that each field of the typed variants implements `Serialize` and
/// `Deserialize`, at the field's type: the encode and decode of a variant
/// need them of the fields' tuple, and the compiler reports a tuple's
/// failing bound at the tuple, whose tokens can only be at one field.
fn field_checks(input: &Enum<'_>) -> TokenStream {
    let name = input.ident;
    let checks = input
        .variants
        .iter()
        .filter(|v| v.encoding == Encoding::Typed)
        .flat_map(|v| &v.fields)
        .filter(|f| !f.byte_vec)
        .map(|f| {
            let (span, ty) = (f.ty.span(), f.ty);
            let krate = input.krate_at(span);
            quote_spanned!(span=> #krate::__private::field_is_serde::<#ty>();)
        });
    quote! {
        #[automatically_derived]
        impl #name {
            #[allow(dead_code)]
            fn __ipcq_fields_are_serde() {
                #(#checks)*
            }
        }
    }
}

/// `tokens` with every `Self` replaced by `name`.
fn replace_self(tokens: TokenStream, name: &syn::Ident) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Ident(ident) if ident == "Self" => {
                // A clone keeps a raw name's `r#`, which `Ident::new` refuses.
                let mut name = name.clone();
                name.set_span(ident.span());
                TokenTree::Ident(name)
            }
            TokenTree::Group(group) => {
                let mut replaced =
                    Group::new(group.delimiter(), replace_self(group.stream(), name));
                replaced.set_span(group.span());
                TokenTree::Group(replaced)
            }
            other => other,
        })
        .collect()
}

/// The most elements serde implements `Serialize` and `Deserialize` for in a
/// tuple.
const SERDE_MAX_TUPLE: usize = 16;

/// A tuple of `items` (a type, an expression or a pattern), nested in tuples
/// of at most [`SERDE_MAX_TUPLE`] where there are more: a variant's fields go
/// to the codec as one tuple. Formats without framing for tuples (bincode,
/// postcard) write the same bytes for the nested tuple as for a flat one.
///
/// The parentheses are at `span`, where the compiler reports a field type
/// that the tuple's trait bounds do not hold for.
fn tuple(items: impl IntoIterator<Item = TokenStream>, span: Span) -> TokenStream {
    nest(items.into_iter().collect(), span)
}

fn nest(items: Vec<TokenStream>, span: Span) -> TokenStream {
    if items.len() <= SERDE_MAX_TUPLE {
        return quote_spanned!(span=> ( #(#items,)* ));
    }
    nest(
        items
            .chunks(SERDE_MAX_TUPLE)
            .map(|chunk| nest(chunk.to_vec(), span))
            .collect(),
        span,
    )
}

fn impls(input: &Enum<'_>) -> TokenStream {
    let krate = &input.krate();
    let name = input.ident;
    let kind = kind_ident(name, Some(&input.attrs));
    let handler = handler_ident(name, Some(&input.attrs));
    // The body parameter, named at the call site: the arms below are spanned
    // at the fields, which may come from a `macro_rules!` whose hygiene would
    // hide a local named there.
    let body = Ident::new("__ipcq_body", Span::call_site());
    let or_else = Ident::new("__ipcq_or_else", Span::call_site());

    let kind_arms = input.variants.iter().map(|v| {
        let ident = v.ident;
        let pat = match v.style {
            Style::Unit => quote!(#name::#ident),
            Style::Tuple => quote!(#name::#ident(..)),
            Style::Struct => quote!(#name::#ident { .. }),
        };
        quote!(#pat => #kind::#ident,)
    });

    let encode_arms = input.variants.iter().map(|v| {
        let pat = pattern(name, v);
        let names = bindings(v);
        let variant = v.name();
        let mtype = mtype(v);
        let span = fields_span(v);
        let krate = input.krate_at(span);
        let write = match v.encoding {
            Encoding::Typed => {
                let signature = v.signature();
                let fields = tuple(
                    v.fields.iter().zip(&names).map(|(f, name)| {
                        if f.byte_vec {
                            let (krate, ty) = (input.krate_at(f.ty.span()), f.ty);
                            quote_spanned!(f.ty.span()=> #krate::__private::AsBytes::of::<#ty>(#name))
                        } else {
                            quote!(#name)
                        }
                    }),
                    span,
                );
                quote_spanned! {span=>
                    #krate::__private::encode_fields::<__IpcqCodec, _>(
                        #body, #variant, #mtype,
                        const { #krate::__private::fingerprint(#signature) },
                        &#fields,
                    )
                }
            }
            Encoding::Text => quote_spanned! {span=>
                #krate::__private::encode_text(#body, #variant, #mtype, #(#names)*)
            },
            Encoding::Bytes => quote_spanned! {span=>
                #krate::__private::encode_bytes(#body, #(#names)*)
            },
        };
        quote!(#pat => #write,)
    });

    let decode_arms = input.variants.iter().map(|v| {
        let mtype = mtype(v);
        let variant = v.name();
        let pat = pattern(name, v);
        let names = bindings(v);
        let span = fields_span(v);
        let krate = input.krate_at(span);
        // Each arm's value is the decode's result: the message is built in
        // it, and a failure goes to `or_else`, whose result is the caller's.
        // A text or bytes variant's one field is read by `read`.
        let raw = |read: &str| {
            let read = Ident::new(read, span);
            quote_spanned! {span=>
                match #krate::__private::#read(#variant, #body) {
                    ::core::result::Result::Ok(#(#names)*) => ::core::result::Result::Ok(#pat),
                    ::core::result::Result::Err(__ipcq_reason) => #or_else(__ipcq_reason),
                }
            }
        };
        let decode = match v.encoding {
            Encoding::Typed => {
                let signature = v.signature();
                // `Vec<u8>` fields are read as byte strings (see
                // `Field::byte_vec`).
                let types = v.fields.iter().map(|f| {
                    if f.byte_vec {
                        quote_spanned!(span=> #krate::__private::ByteVec)
                    } else {
                        f.ty.to_token_stream()
                    }
                });
                let byte_vecs = v.fields.iter().zip(&names).filter(|(f, _)| f.byte_vec);
                let into_fields = byte_vecs.map(|(f, name)| {
                    // At the type: where a `Vec` that is not std's is reported.
                    let (krate, ty) = (input.krate_at(f.ty.span()), f.ty);
                    quote_spanned! {f.ty.span()=>
                        let #name = #krate::__private::ByteVec::into_field::<#ty>(#name);
                    }
                });
                let (types, fields) = (
                    tuple(types, span),
                    tuple(names.iter().map(|n| quote!(#n)), span),
                );
                quote_spanned! {span=>
                    #krate::__private::decode_fields_then::<__IpcqCodec, #types, _>(
                        #variant,
                        const { #krate::__private::fingerprint(#signature) },
                        #body,
                        |#fields| {
                            #(#into_fields)*
                            ::core::result::Result::Ok(#pat)
                        },
                        #or_else,
                    )
                }
            }
            Encoding::Text => raw("decode_text"),
            Encoding::Bytes => raw("decode_bytes"),
        };
        quote!(#mtype => #decode,)
    });

    let field_checks = field_checks(input);

    let dispatch_arms = input.variants.iter().map(|v| {
        let pat = pattern(name, v);
        let method = v.method_ident();
        let names = bindings(v);
        quote!(#pat => __ipcq_handler.#method(#(#names),*),)
    });

    quote! {
        // First: the compiler reports a missing impl here, at the field,
        // before it reports it at the fields' tuple below.
        #field_checks

        #[automatically_derived]
        impl #krate::QueueMessage for #name {
            type Kind = #kind;

            fn kind(&self) -> #kind {
                match self { #(#kind_arms)* }
            }

            #[inline]
            fn encode_body<__IpcqCodec: #krate::Codec>(
                &self,
                #body: &mut #krate::__private::Body<'_>,
            ) -> ::core::result::Result<(), #krate::EncodeError> {
                match self { #(#encode_arms)* }
            }

            #[inline]
            fn decode_body_or_else<__IpcqCodec: #krate::Codec, __IpcqError>(
                __ipcq_mtype: i64,
                #body: &[u8],
                #or_else: impl ::core::ops::FnOnce(#krate::DecodeReason) -> ::core::result::Result<Self, __IpcqError>,
            ) -> ::core::result::Result<Self, __IpcqError> {
                match __ipcq_mtype {
                    #(#decode_arms)*
                    _ => #or_else(#krate::DecodeReason::UnknownType),
                }
            }
        }

        #[automatically_derived]
        impl<__IpcqHandler: #handler + ?::core::marker::Sized> #krate::Dispatch<__IpcqHandler> for #name {
            fn dispatch(self, __ipcq_handler: &mut __IpcqHandler) {
                match self { #(#dispatch_arms)* }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of a tuple type: `n` for an item, `(..)` for a tuple.
    fn shape(tokens: &TokenStream) -> String {
        let syn::Type::Tuple(tuple) = syn::parse2(tokens.clone()).unwrap() else {
            panic!("not a tuple: {tokens}");
        };
        let items: Vec<String> = tuple
            .elems
            .iter()
            .map(|e| match e {
                syn::Type::Tuple(_) => shape(&e.to_token_stream()),
                _ => "n".to_string(),
            })
            .collect();
        format!("({})", items.join(","))
    }

    fn items(n: usize) -> Vec<TokenStream> {
        (0..n)
            .map(|i| format_ident!("T{i}").to_token_stream())
            .collect()
    }

    /// The Kind enum generated for `input`, as text.
    fn kind_of(input: TokenStream) -> String {
        let input: DeriveInput = syn::parse2(input).unwrap();
        let cx = Ctxt::new();
        let model = Enum::from_ast(&cx, &input).unwrap();
        cx.check().unwrap();
        kind_enum(&model).to_string()
    }

    #[test]
    fn a_non_exhaustive_enum_has_a_non_exhaustive_kind() {
        let open = kind_of(quote!(
            #[non_exhaustive]
            pub enum Cmd {
                A,
                B(u8),
            }
        ));
        assert!(open.contains("# [non_exhaustive] # [derive"), "{open}");
        let closed = kind_of(quote!(
            pub enum Cmd {
                A,
                B(u8),
            }
        ));
        assert!(!closed.contains("non_exhaustive"), "{closed}");
    }

    #[test]
    fn tuples_of_more_than_sixteen_are_nested_sixteen_at_a_time() {
        assert_eq!(shape(&tuple(items(0), Span::call_site())), "()");
        assert_eq!(shape(&tuple(items(1), Span::call_site())), "(n)");
        assert_eq!(
            shape(&tuple(items(16), Span::call_site())),
            format!("({})", ["n"; 16].join(","))
        );
        let sixteen = format!("({})", ["n"; 16].join(","));
        assert_eq!(
            shape(&tuple(items(17), Span::call_site())),
            format!("({sixteen},(n))")
        );
        // 16 × 16 + 1: two levels.
        let full = format!("({})", vec![sixteen.as_str(); 16].join(","));
        assert_eq!(
            shape(&tuple(items(257), Span::call_site())),
            format!("({full},((n)))")
        );
        // Every item is there once, in order.
        let flat = tuple(items(300), Span::call_site()).to_string();
        let numbers: Vec<usize> = flat
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(numbers, (0..300).collect::<Vec<_>>());
    }
}
