//! Reads the `#[ipcq(...)]` attributes of the enum and of its variants.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, ExprUnary, Ident, Lit, Meta, Path, Token, UnOp};

use crate::ctxt::Ctxt;

/// A number given in an attribute, with where it was written.
///
/// Kept as i128 so that values beyond a C `long` can be reported rather than
/// overflow while being read.
#[derive(Clone)]
pub(crate) struct Number {
    pub(crate) value: i128,
    /// The whole expression as written, for errors that underline all of it.
    pub(crate) tokens: TokenStream,
}

/// A numeric attribute: absent, given, or given but unreadable (already
/// reported, and not to be guessed at by later checks).
#[derive(Clone, Default)]
pub(crate) enum Setting {
    #[default]
    Absent,
    Given(Number),
    Invalid,
}

impl Setting {
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Setting::Absent)
    }
}

/// `#[ipcq(...)]` on the enum.
#[derive(Default)]
pub(crate) struct EnumAttrs {
    /// `base = N`: the mtype of the first variant without an explicit one.
    pub(crate) base: Setting,
    /// `crate = "path"`: where the generated code finds ipcq, for a
    /// dependency renamed in Cargo.toml or re-exported by another crate.
    pub(crate) krate: Option<Path>,
    /// `kind = "Name"`: the Kind enum's name, instead of `…Kind`.
    pub(crate) kind: Option<Ident>,
    /// `handler = "Name"`: the handler trait's name, instead of `…Handler`.
    pub(crate) handler: Option<Ident>,
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
    pub(crate) mtype: Setting,
    pub(crate) encoding: Encoding,
    /// Where `text` or `bytes` was written.
    pub(crate) encoding_span: Span,
}

pub(crate) fn enum_attrs(cx: &Ctxt, attrs: &[Attribute]) -> EnumAttrs {
    let mut out = EnumAttrs::default();
    // Whether `base` was written: `out.base` is also `Invalid` after an
    // attribute that failed to parse, which gave none.
    let mut base_written = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("ipcq")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("base") {
                let setting = setting(cx, &meta.value()?.parse()?);
                if base_written {
                    cx.error_spanned_by(&meta.path, "duplicate ipcq attribute `base`");
                }
                base_written = true;
                out.base = setting;
                Ok(())
            } else if meta.path.is_ident("crate") {
                let expr: Expr = meta.value()?.parse()?;
                let path = crate_path(&expr)?;
                if out.krate.is_some() {
                    cx.error_spanned_by(&meta.path, "duplicate ipcq attribute `crate`");
                }
                out.krate = Some(path);
                Ok(())
            } else if meta.path.is_ident("kind") || meta.path.is_ident("handler") {
                let key = word(&meta.path);
                let expr: Expr = meta.value()?.parse()?;
                let ident = item_name(&expr, &key)?;
                let slot = if key == "kind" {
                    &mut out.kind
                } else {
                    &mut out.handler
                };
                if slot.is_some() {
                    cx.error_spanned_by(&meta.path, format!("duplicate ipcq attribute `{key}`"));
                }
                *slot = Some(ident);
                Ok(())
            } else if meta.path.is_ident("mtype")
                || meta.path.is_ident("text")
                || meta.path.is_ident("bytes")
            {
                Err(meta.error(format!(
                    "`{}` belongs on a variant, not on the enum",
                    word(&meta.path)
                )))
            } else {
                Err(meta.error(
                    "unknown ipcq attribute on the enum: expected `base = N`, `crate = \"path\"`, \
                     `kind = \"Name\"` or `handler = \"Name\"`",
                ))
            }
        });
        if let Err(err) = result {
            cx.syn_error(err);
            // A misspelt `base`, perhaps: the numbering is not known, and
            // mtypes counted without it would draw errors of their own.
            if !out.base.is_present() {
                out.base = Setting::Invalid;
            }
        }
    }
    out
}

pub(crate) fn variant_attrs(cx: &Ctxt, attrs: &[Attribute]) -> VariantAttrs {
    let mut out = VariantAttrs {
        mtype: Setting::Absent,
        encoding: Encoding::Typed,
        encoding_span: Span::call_site(),
    };
    // Whether `mtype` was written: `out.mtype` is also `Invalid` after an
    // attribute that failed to parse, which gave none.
    let mut mtype_written = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("ipcq")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("mtype") {
                let setting = setting(cx, &meta.value()?.parse()?);
                if mtype_written {
                    cx.error_spanned_by(&meta.path, "duplicate ipcq attribute `mtype`");
                }
                mtype_written = true;
                out.mtype = setting;
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
            } else if ["base", "crate", "kind", "handler"]
                .iter()
                .any(|key| meta.path.is_ident(key))
            {
                Err(meta.error(format!(
                    "`{}` belongs on the enum, not on a variant",
                    word(&meta.path)
                )))
            } else {
                Err(meta.error(
                    "unknown ipcq attribute on a variant: expected `mtype = N`, `text` or `bytes`",
                ))
            }
        });
        if let Err(err) = result {
            cx.syn_error(err);
            // The rest of the attribute went unread, and may have given an
            // mtype: the variant's is unknown, not the next automatic one.
            if !out.mtype.is_present() {
                out.mtype = Setting::Invalid;
            }
        }
    }
    out
}

/// Rejects `#[ipcq(...)]` where it has no meaning, on a field, and the
/// `#[serde(...)]` attributes that a user would expect to change what is
/// sent ([`no_serde_wire_attrs`]).
pub(crate) fn no_field_attrs(cx: &Ctxt, attrs: &[Attribute]) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("ipcq")) {
        cx.error_spanned_by(
            attr,
            "ipcq attributes go on the enum or on a variant, not on a field",
        );
    }
    no_serde_wire_attrs(cx, attrs, "field");
}

/// Rejects the `#[serde(...)]` attributes of a variant or field (`what`)
/// that the queue would contradict. The derive sends every field of a
/// variant and decodes each with its type's own `Deserialize`:
///
/// - `skip` and `skip_serializing` say that a field is not sent; it would be
///   (a password, say);
/// - `skip_deserializing`, `deserialize_with` and `with` say how a field is
///   taken from input; a received message would set it from the body, past
///   the check or the default (an `is_admin` flag, say).
///
/// Other serde attributes are left to serde: they shape the enum's own
/// `Serialize` (JSON logs, say) and change nothing a receiver relies on
/// (`serialize_with`, `skip_serializing_if`, `rename`, `default`, …).
pub(crate) fn no_serde_wire_attrs(cx: &Ctxt, attrs: &[Attribute], what: &str) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // What does not parse is serde's to report.
        let Ok(metas) = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
        else {
            continue;
        };
        for meta in metas {
            let key = word(meta.path());
            let message = match key.as_str() {
                "skip" | "skip_serializing" => format!(
                    "`#[serde({key})]` does not keep a {what} off the queue: \
                     #[derive(QueueMessage)] sends every field of a variant; leave the {what} \
                     out of the message enum"
                ),
                "skip_deserializing" | "deserialize_with" | "with" => format!(
                    "`#[serde({key})]` does not apply to received messages: \
                     #[derive(QueueMessage)] decodes every field of a variant from the body, \
                     with its type's own Deserialize; leave the {what} out of the message \
                     enum, or give the check to a type of its own"
                ),
                _ => continue,
            };
            cx.error_spanned_by(&meta, message);
        }
    }
}

/// The name in `kind = "Name"` or `handler = "Name"` (`key`), written as a
/// string as serde's `rename` is.
fn item_name(expr: &Expr, key: &str) -> syn::Result<Ident> {
    let (item, example) = if key == "kind" {
        ("Kind enum", "CmdType")
    } else {
        ("handler trait", "CmdWorker")
    };
    let message = format!(
        "expected a name for the generated {item} as a string, such as `{key} = \"{example}\"`"
    );
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit
            .parse::<Ident>()
            .map_err(|_| syn::Error::new_spanned(lit, &message)),
        _ => Err(syn::Error::new_spanned(expr, message)),
    }
}

/// The path in `crate = "path"`, written as a string as serde's is.
fn crate_path(expr: &Expr) -> syn::Result<Path> {
    let message = "expected the path to ipcq as a string, such as `crate = \"my_framework::ipcq\"`";
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit
            .parse::<Path>()
            .map_err(|_| syn::Error::new_spanned(lit, message)),
        _ => Err(syn::Error::new_spanned(expr, message)),
    }
}

/// The one word of an attribute's path, such as `base`.
fn word(path: &Path) -> String {
    path.get_ident()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Reads a number, reporting a bad one and marking it invalid so that later
/// checks do not report guesses built on it.
fn setting(cx: &Ctxt, expr: &Expr) -> Setting {
    match number(expr) {
        Ok(number) => Setting::Given(number),
        Err(err) => {
            cx.syn_error(err);
            Setting::Invalid
        }
    }
}

/// An integer literal, possibly negated, so that `mtype = -1` is reported as
/// out of range rather than as a syntax error.
fn number(expr: &Expr) -> syn::Result<Number> {
    let not_integer =
        || syn::Error::new_spanned(expr, "expected an integer literal, such as `mtype = 10`");
    let (negative, lit) = match expr {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr: inner,
            ..
        }) => match &**inner {
            Expr::Lit(ExprLit { lit, .. }) => (true, lit),
            _ => return Err(not_integer()),
        },
        _ => return Err(not_integer()),
    };
    let Lit::Int(int) = lit else {
        return Err(not_integer());
    };
    if !int.suffix().is_empty() {
        return Err(syn::Error::new_spanned(
            expr,
            "write the number without a type suffix: mtypes are C longs",
        ));
    }
    let value = int.base10_parse::<i128>().map_err(|_| {
        syn::Error::new_spanned(
            expr,
            "integer too large: mtypes go up to 9223372036854775807 (C long)",
        )
    })?;
    Ok(Number {
        value: if negative { -value } else { value },
        tokens: expr.to_token_stream(),
    })
}
