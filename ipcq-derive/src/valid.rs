//! Checks the model: everything the expansion relies on, reported on the
//! user's own code.

use std::collections::HashMap;

use syn::GenericParam;

use crate::ast::{Enum, Variant};
use crate::attr::Encoding;
use crate::ctxt::Ctxt;

/// The largest mtype: msgsnd takes a C `long`, 64 bits on the 64-bit Linux
/// targets ipcq supports.
const MAX_MTYPE: i128 = i64::MAX as i128;

pub(crate) fn check(cx: &Ctxt, input: &Enum<'_>) {
    check_generics(cx, input);
    if input.variants.is_empty() {
        cx.error_spanned_by(
            input.ident,
            "a message enum needs at least one variant: each variant is one message type",
        );
    }
    if let Some(base) = input.attrs.base {
        if base.value < 1 || base.value > MAX_MTYPE {
            cx.syn_error(syn::Error::new(
                base.span,
                format!(
                    "base = {} is out of range: mtypes go from 1 to {MAX_MTYPE} (C long)",
                    base.value
                ),
            ));
        }
    }
    let mut mtypes: HashMap<i128, &Variant<'_>> = HashMap::new();
    let mut methods: HashMap<String, &Variant<'_>> = HashMap::new();
    for variant in &input.variants {
        check_mtype(cx, variant);
        check_encoding(cx, variant);
        if let Some((_, discriminant)) = &variant.original.discriminant {
            cx.error_spanned_by(
                discriminant,
                "explicit discriminants are not used as mtypes: write #[ipcq(mtype = N)] on the variant instead",
            );
        }
        if let Some(first) = mtypes.insert(variant.mtype, variant) {
            // Keep the first holder so that later duplicates all name it.
            mtypes.insert(variant.mtype, first);
            cx.error_spanned_by(
                variant.original,
                format!(
                    "duplicate mtype {}: variant `{}` already has it",
                    variant.mtype, first.ident
                ),
            );
        }
        if let Some(first) = methods.insert(variant.method_name(), variant) {
            methods.insert(variant.method_name(), first);
            cx.error_spanned_by(
                variant.ident,
                format!(
                    "variants `{}` and `{}` both give the handler method `{}`; rename one",
                    first.ident,
                    variant.ident,
                    variant.method_name()
                ),
            );
        }
    }
}

fn check_generics(cx: &Ctxt, input: &Enum<'_>) {
    for param in &input.original.generics.params {
        let what = match param {
            GenericParam::Lifetime(_) => {
                "a message enum cannot borrow: received messages own their data, so lifetime parameters are not supported"
            }
            GenericParam::Type(_) | GenericParam::Const(_) => {
                "generic message enums are not supported: each variant's mtype and schema fingerprint must be fixed at compile time"
            }
        };
        cx.error_spanned_by(param, what);
    }
}

fn check_mtype(cx: &Ctxt, variant: &Variant<'_>) {
    if (1..=MAX_MTYPE).contains(&variant.mtype) {
        return;
    }
    let message = format!(
        "mtype {} of variant `{}` is out of range: mtypes go from 1 to {MAX_MTYPE} (C long){}",
        variant.mtype,
        variant.ident,
        if variant.explicit.is_some() {
            ""
        } else {
            ", and this one is counted on from the previous variant"
        }
    );
    match variant.explicit {
        Some(span) => cx.syn_error(syn::Error::new(span, message)),
        None => cx.error_spanned_by(variant.original, message),
    }
}

fn check_encoding(cx: &Ctxt, variant: &Variant<'_>) {
    let name = match variant.encoding {
        Encoding::Typed => return,
        Encoding::Text => "text",
        Encoding::Bytes => "bytes",
    };
    if variant.fields.len() != 1 {
        cx.syn_error(syn::Error::new(
            variant.encoding_span,
            format!(
                "a `{name}` variant carries exactly one field, whose {} is the whole message body; `{}` has {}",
                if name == "text" { "text" } else { "bytes" },
                variant.ident,
                variant.fields.len()
            ),
        ));
    }
}
