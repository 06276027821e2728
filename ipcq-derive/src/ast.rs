//! The model of a message enum that the later stages work on.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Ident, Type, Visibility};

use crate::attr::{self, Encoding, EnumAttrs, Setting};
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
    /// The mtype as written, if it was.
    pub(crate) explicit: Option<TokenStream>,
    /// The mtype, explicit or counted on from the previous one; checked by
    /// `valid`. `None` when it rests on a number that could not be read.
    pub(crate) mtype: Option<i128>,
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
    /// Whether `ty` is written `Vec<u8>` ([`is_byte_vec`]): such a field
    /// goes to the codec as a byte string.
    pub(crate) byte_vec: bool,
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
        let mut next = match &attrs.base {
            Setting::Absent => Some(1),
            Setting::Given(n) => Some(n.value),
            Setting::Invalid => None,
        };
        let variants = data
            .variants
            .iter()
            .map(|variant| {
                let vattrs = attr::variant_attrs(cx, &variant.attrs);
                attr::no_serde_wire_attrs(cx, &variant.attrs, "variant");
                for field in &variant.fields {
                    attr::no_field_attrs(cx, &field.attrs);
                }
                let mtype = match &vattrs.mtype {
                    Setting::Absent => next,
                    Setting::Given(n) => Some(n.value),
                    Setting::Invalid => None,
                };
                next = mtype.map(|m| m.saturating_add(1));
                let explicit = match vattrs.mtype {
                    Setting::Given(n) => Some(n.tokens),
                    _ => None,
                };
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
                            byte_vec: is_byte_vec(&f.ty),
                        })
                        .collect(),
                    encoding: vattrs.encoding,
                    encoding_span: vattrs.encoding_span,
                    explicit,
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

impl Enum<'_> {
    /// The path the generated code names ipcq by: `::ipcq`, or the one given
    /// with `#[ipcq(crate = "...")]`.
    pub(crate) fn krate(&self) -> TokenStream {
        krate(Some(&self.attrs))
    }

    /// [`krate`](Self::krate) with every token at `span`: where the compiler
    /// reports a call through it that does not type-check.
    pub(crate) fn krate_at(&self, span: Span) -> TokenStream {
        self.krate()
            .into_iter()
            .map(|mut token| {
                token.set_span(span);
                token
            })
            .collect()
    }
}

/// [`Enum::krate`] for attributes that may not have been read.
pub(crate) fn krate(attrs: Option<&EnumAttrs>) -> TokenStream {
    match attrs.and_then(|a| a.krate.as_ref()) {
        Some(path) => path.to_token_stream(),
        None => quote!(::ipcq),
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
        let name = self.name();
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
                            f.ident.map(|i| i.unraw().to_string()).unwrap_or_default(),
                            ty(f)
                        )
                    })
                    .collect();
                format!("{name}{{{}}}", fields.join(","))
            }
        }
    }

    /// The variant's name as declared, without any `r#`.
    pub(crate) fn name(&self) -> String {
        self.ident.unraw().to_string()
    }

    /// The variant's handler method: its name in snake case, made a raw
    /// identifier or suffixed with `_` where it is a keyword.
    pub(crate) fn method_ident(&self) -> Ident {
        let name = snake_case(&self.name());
        let span = self.ident.span();
        match name.as_str() {
            // Keywords that cannot be raw identifiers.
            "self" | "super" | "crate" | "_" => format_ident!("{}_", name, span = span),
            _ if is_keyword(&name) => Ident::new_raw(&name, span),
            _ => Ident::new(&name, span),
        }
    }
}

/// Whether a field's type is written `Vec<u8>` (or `std::vec::Vec<u8>`,
/// `alloc::vec::Vec<u8>`): the generated code passes such a field to the
/// codec as a byte string, whose bytes in bincode are those of the sequence
/// serde would make of it, in one write and one copy instead of one call per
/// byte. A type behind an alias is not seen, and goes through serde as it is.
fn is_byte_vec(ty: &Type) -> bool {
    let Type::Path(path) = ty else {
        return false;
    };
    if path.qself.is_some() {
        return false;
    }
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let prefix_ok = match segments.as_slice() {
        [_] => path.path.leading_colon.is_none(),
        [krate, module, _] => (krate == "std" || krate == "alloc") && module == "vec",
        _ => false,
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    prefix_ok
        && last.ident == "Vec"
        && args.args.len() == 1
        && matches!(
            args.args.first(),
            Some(syn::GenericArgument::Type(Type::Path(elem)))
                if elem.qself.is_none() && elem.path.is_ident("u8")
        )
        && path
            .path
            .segments
            .iter()
            .rev()
            .skip(1)
            .all(|s| s.arguments.is_none())
}

/// Whether `name` is a keyword, strict or reserved, in any edition up to 2024.
fn is_keyword(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "abstract", "async", "await", "become", "box", "do", "dyn", "final", "gen", "macro",
        "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
    ];
    RESERVED.contains(&name) || syn::parse_str::<Ident>(name).is_err()
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
    use super::{is_byte_vec, snake_case};

    #[test]
    fn byte_vecs_are_read_from_how_the_type_is_written() {
        let is_byte_vec = |ty: &str| is_byte_vec(&syn::parse_str(ty).unwrap());
        for ty in [
            "Vec<u8>",
            "std::vec::Vec<u8>",
            "::std::vec::Vec<u8>",
            "alloc::vec::Vec<u8>",
        ] {
            assert!(is_byte_vec(ty), "{ty}");
        }
        for ty in [
            "Vec<i8>",
            "Vec<Vec<u8>>",
            "Vec<u8, A>",
            "my::Vec<u8>",
            "::Vec<u8>",
            "std::vec::Vec<u16>",
            "std::collections::Vec<u8>",
            "Box<[u8]>",
            "[u8; 4]",
            "&'static [u8]",
            "Bytes",
            "<T as Tr>::Vec<u8>",
            "Vec<<T as Tr>::u8>",
        ] {
            assert!(!is_byte_vec(ty), "{ty}");
        }
    }

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
