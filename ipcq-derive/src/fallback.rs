//! What the derive emits when the input has errors: the errors, plus stand-ins
//! for the items it would have generated, so that the user sees the real
//! mistakes rather than a cascade of "cannot find `CmdKind`" or "method is not
//! a member of `CmdHandler`" (thiserror's way).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput};

use crate::ast::Enum;
use crate::expand::{handler_ident, handler_trait, kind_ident};
use crate::valid::generated_names_differ;

pub(crate) fn expand(
    input: &DeriveInput,
    model: Option<&Enum<'_>>,
    errors: syn::Error,
) -> TokenStream {
    let errors = errors.to_compile_error();
    let Data::Enum(data) = &input.data else {
        return errors;
    };
    if !input.generics.params.is_empty() {
        return errors;
    }
    let krate = crate::ast::krate(model.map(|m| &m.attrs));
    let vis = &input.vis;
    let name = &input.ident;
    // Names that collide were reported; stand-ins under them would only add
    // errors about the collision.
    let model = model.filter(|m| generated_names_differ(name, &m.attrs));
    let kind = kind_ident(name, model.map(|m| &m.attrs));
    let handler = match model {
        Some(model) => handler_trait(model),
        None => {
            let handler = handler_ident(name, None);
            quote!(#[allow(missing_docs)] #vis trait #handler {})
        }
    };
    let variants = data.variants.iter().map(|v| &v.ident);
    quote! {
        #errors

        #[allow(missing_docs, dead_code, non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #vis enum #kind { #(#variants,)* }

        #handler

        // The inherent items and impls the real Kind has, so that code using
        // them adds no errors of its own.
        #[allow(missing_docs, dead_code, unused_variables, clippy::all)]
        impl #kind {
            #vis const ALL: &'static [#kind] = &[];
            #vis const fn mtype(self) -> i64 { ::core::unreachable!() }
            #vis const fn name(self) -> &'static str { ::core::unreachable!() }
            #vis const fn from_mtype(mtype: i64) -> ::core::option::Option<Self> {
                ::core::option::Option::None
            }
        }

        #[allow(unused_variables, clippy::all)]
        const _: () = {
            impl ::core::fmt::Display for #kind {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    ::core::unreachable!()
                }
            }

            impl ::core::convert::From<#kind> for i64 {
                fn from(kind: #kind) -> i64 { ::core::unreachable!() }
            }

            impl #krate::MessageKind for #kind {
                const ALL: &'static [Self] = &[];
                fn mtype(self) -> i64 { ::core::unreachable!() }
                fn name(self) -> &'static str { ::core::unreachable!() }
            }

            impl #krate::QueueMessage for #name {
                type Kind = #kind;
                fn kind(&self) -> #kind { ::core::unreachable!() }
                fn encode_body<__IpcqCodec: #krate::Codec>(
                    &self,
                    __ipcq_body: &mut #krate::__private::Body<'_>,
                ) -> ::core::result::Result<(), #krate::EncodeError> {
                    ::core::unreachable!()
                }
                fn decode_body_or_else<__IpcqCodec: #krate::Codec, __IpcqError>(
                    __ipcq_mtype: i64,
                    __ipcq_body: &[u8],
                    __ipcq_or_else: impl ::core::ops::FnOnce(
                        #krate::DecodeReason,
                    ) -> ::core::result::Result<Self, __IpcqError>,
                ) -> ::core::result::Result<Self, __IpcqError> {
                    ::core::unreachable!()
                }
            }
        };
    }
}
