//! The model of a message enum that the later stages work on.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{Data, DeriveInput, Fields, Ident, Type, Visibility};

use crate::attr::{self, Encoding, EnumAttrs, Number};
use crate::ctxt::Ctxt;

pub(crate) struct Enum<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) attrs: EnumAttrs,
    pub(crate) variants: Vec<Variant<'a>>,
    pub(crate) original: &'a DeriveInput,
}

pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) style: Style,
    pub(crate) fields: Vec<Field<'a>>,
    pub(crate) encoding: Encoding,
    pub(crate) encoding_span: Span,
    /// Whether the mtype was written out, and where.
    pub(crate) explicit: Option<Span>,
    /// The mtype, explicit or counted on from the previous one; checked by `valid`.
    pub(crate) mtype: i128,
    pub(crate) original: &'a syn::Variant,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Unit,
    Tuple,
    Struct,
}

pub(crate) struct Field<'a> {
    /// The field's name in a struct variant.
    pub(crate) ident: Option<&'a Ident>,
    pub(crate) ty: &'a Type,
}

impl<'a> Enum<'a> {
    /// Reads the enum, or records why it is not one and returns `None`.
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let data = match &input.data {
            Data::Enum(data) => data,
            Data::Struct(data) => {
                cx.error_spanned_by(
                    data.struct_token,
                    "QueueMessage can only be derived for an enum: each variant becomes one message type",
                );
                return None;
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "QueueMessage can only be derived for an enum: each variant becomes one message type",
                );
                return None;
            }
        };
        let attrs = attr::enum_attrs(cx, &input.attrs);
        let mut next = attrs.base.map_or(1, |Number { value, .. }| value);
        let variants = data
            .variants
            .iter()
            .map(|variant| {
                let vattrs = attr::variant_attrs(cx, &variant.attrs);
                let mtype = vattrs.mtype.map_or(next, |n| n.value);
                next = mtype.saturating_add(1);
                Variant {
                    ident: &variant.ident,
                    style: match variant.fields {
                        Fields::Unit => Style::Unit,
                        Fields::Unnamed(_) => Style::Tuple,
                        Fields::Named(_) => Style::Struct,
                    },
                    fields: variant
                        .fields
                        .iter()
                        .map(|f| Field {
                            ident: f.ident.as_ref(),
                            ty: &f.ty,
                        })
                        .collect(),
                    encoding: vattrs.encoding,
                    encoding_span: vattrs.encoding_span,
                    explicit: vattrs.mtype.map(|n| n.span),
                    mtype,
                    original: variant,
                }
            })
            .collect();
        Some(Enum {
            ident: &input.ident,
            vis: &input.vis,
            attrs,
            variants,
            original: input,
        })
    }
}

impl Variant<'_> {
    /// The signature the schema fingerprint is computed from (see `docs/WIRE.md`):
    /// `Name`, `Name(T1,T2)` or `Name{a:T1,b:T2}`, types without whitespace.
    pub(crate) fn signature(&self) -> String {
        let ty = |f: &Field<'_>| {
            let mut s = f.ty.to_token_stream().to_string();
            s.retain(|c| !c.is_whitespace());
            s
        };
        let name = self.ident.to_string();
        match self.style {
            Style::Unit => name,
            Style::Tuple => {
                let types: Vec<String> = self.fields.iter().map(ty).collect();
                format!("{name}({})", types.join(","))
            }
            Style::Struct => {
                let fields: Vec<String> = self
                    .fields
                    .iter()
                    .map(|f| {
                        format!(
                            "{}:{}",
                            f.ident.map(ToString::to_string).unwrap_or_default(),
                            ty(f)
                        )
                    })
                    .collect();
                format!("{name}{{{}}}", fields.join(","))
            }
        }
    }

    /// The name of the variant's handler method: the variant name in snake case.
    pub(crate) fn method_name(&self) -> String {
        snake_case(&self.ident.to_string())
    }
}

/// `JobDone` → `job_done`, `HTTPRequest` → `http_request`, `V2Hello` → `v2_hello`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.trim_start_matches("r#").chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None | Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) => p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()),
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_cases_variant_names() {
        assert_eq!(snake_case("Reload"), "reload");
        assert_eq!(snake_case("JobDone"), "job_done");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("V2Hello"), "v2_hello");
        assert_eq!(snake_case("A"), "a");
        assert_eq!(snake_case("Already_Snake"), "already_snake");
    }
}
