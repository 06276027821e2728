//! Reads the `#[ipcq(...)]` attributes of the enum and of its variants.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, ExprUnary, Lit, UnOp};

use crate::ctxt::Ctxt;

/// A number given in an attribute, with where it was written.
///
/// Kept as i128 so that values beyond a C `long` can be reported rather than
/// overflow while being read.
#[derive(Clone, Copy)]
pub(crate) struct Number {
    pub(crate) value: i128,
    pub(crate) span: Span,
}

/// `#[ipcq(...)]` on the enum.
#[derive(Default)]
pub(crate) struct EnumAttrs {
    /// `base = N`: the mtype of the first variant without an explicit one.
    pub(crate) base: Option<Number>,
}

/// How a variant's body is encoded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Header and codec-encoded fields.
    Typed,
    /// `#[ipcq(text)]`: the Display text of the one field.
    Text,
    /// `#[ipcq(bytes)]`: the raw bytes of the one field.
    Bytes,
}

/// `#[ipcq(...)]` on a variant.
pub(crate) struct VariantAttrs {
    pub(crate) mtype: Option<Number>,
    pub(crate) encoding: Encoding,
    /// Where `text` or `bytes` was written.
    pub(crate) encoding_span: Span,
}

pub(crate) fn enum_attrs(cx: &Ctxt, attrs: &[Attribute]) -> EnumAttrs {
    let mut out = EnumAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("ipcq")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("base") {
                let number = number(&meta.value()?.parse()?)?;
                if out.base.replace(number).is_some() {
                    cx.error_spanned_by(&meta.path, "duplicate ipcq attribute `base`");
                }
                Ok(())
            } else if meta.path.is_ident("mtype")
                || meta.path.is_ident("text")
                || meta.path.is_ident("bytes")
            {
                Err(meta.error(format!(
                    "`{}` belongs on a variant, not on the enum",
                    meta.path
                        .get_ident()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )))
            } else {
                Err(meta.error("unknown ipcq attribute on the enum: expected `base = N`"))
            }
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    out
}

pub(crate) fn variant_attrs(cx: &Ctxt, attrs: &[Attribute]) -> VariantAttrs {
    let mut out = VariantAttrs {
        mtype: None,
        encoding: Encoding::Typed,
        encoding_span: Span::call_site(),
    };
    for attr in attrs.iter().filter(|a| a.path().is_ident("ipcq")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("mtype") {
                let number = number(&meta.value()?.parse()?)?;
                if out.mtype.replace(number).is_some() {
                    cx.error_spanned_by(&meta.path, "duplicate ipcq attribute `mtype`");
                }
                Ok(())
            } else if meta.path.is_ident("text") || meta.path.is_ident("bytes") {
                let encoding = if meta.path.is_ident("text") {
                    Encoding::Text
                } else {
                    Encoding::Bytes
                };
                if out.encoding != Encoding::Typed {
                    cx.error_spanned_by(
                        &meta.path,
                        "a variant is either `text` or `bytes`, and says so once",
                    );
                }
                out.encoding = encoding;
                out.encoding_span = meta.path.span();
                Ok(())
            } else if meta.path.is_ident("base") {
                Err(meta.error("`base` belongs on the enum, not on a variant"))
            } else {
                Err(meta.error(
                    "unknown ipcq attribute on a variant: expected `mtype = N`, `text` or `bytes`",
                ))
            }
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
    out
}

/// An integer literal, possibly negated, so that `mtype = -1` is reported as
/// out of range rather than as a syntax error.
fn number(expr: &Expr) -> syn::Result<Number> {
    let span = expr.span();
    let (negative, lit) = match expr {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(ExprLit { lit, .. }) => (true, lit),
            _ => return Err(syn::Error::new(span, "expected an integer literal")),
        },
        _ => return Err(syn::Error::new(span, "expected an integer literal")),
    };
    let Lit::Int(int) = lit else {
        return Err(syn::Error::new(span, "expected an integer literal"));
    };
    let value = int.base10_parse::<i128>().map_err(|_| {
        syn::Error::new(
            span,
            "integer too large: mtypes go up to 9223372036854775807 (C long)",
        )
    })?;
    Ok(Number {
        value: if negative { -value } else { value },
        span,
    })
}
