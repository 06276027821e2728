//! Checks the model: everything the expansion relies on, reported on the
//! user's own code.

use std::collections::HashMap;

use syn::GenericParam;
use syn::ext::IdentExt;

use crate::ast::{Enum, Variant};
use crate::attr::{Encoding, EnumAttrs, Setting};
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
    let base_ok = match &input.attrs.base {
        Setting::Given(base) if !(1..=MAX_MTYPE).contains(&base.value) => {
            cx.error_spanned_by(
                &base.tokens,
                format!(
                    "base = {} is out of range: mtypes go from 1 to {MAX_MTYPE} (C long)",
                    base.value
                ),
            );
            false
        }
        Setting::Given(base) if input.variants.first().is_some_and(|v| v.explicit.is_some()) => {
            cx.error_spanned_by(
                &base.tokens,
                "`base` has no effect: the first variant has an mtype of its own, and the \
                 variants after it count on from that; drop `base` or the first variant's mtype",
            );
            false
        }
        _ => true,
    };
    check_generated_names(cx, input);
    let mut mtypes: HashMap<i128, (&Variant<'_>, &'static str)> = HashMap::new();
    let mut methods: HashMap<String, &Variant<'_>> = HashMap::new();
    let mut after_explicit = false;
    // With a lifetime parameter, that is the error to fix, not each
    // borrowing field.
    let borrows = input.original.generics.lifetimes().next().is_some();
    // Past the largest mtype: the variants counted on from it are too, and
    // one error says it.
    let mut overflowed = false;
    for (index, variant) in input.variants.iter().enumerate() {
        after_explicit |= variant.explicit.is_some();
        if variant.explicit.is_some() {
            overflowed = false;
        }
        // Numbers counted on from a bad base were reported with the base.
        if (base_ok || after_explicit) && !overflowed {
            let origin = match (&variant.explicit, index, input.attrs.base.is_present()) {
                (Some(_), _, _) => "",
                (None, 0, true) => " (the enum's `base`)",
                (None, 0, false) => " (the first variant's, 1 without a `base`)",
                (None, _, _) => " (counted on from the variant before it)",
            };
            // Past the largest mtype, written or counted: the variants
            // counted on from it are too.
            check_mtype(cx, variant, origin, &mut mtypes);
            overflowed = variant.mtype.is_some_and(|m| m > MAX_MTYPE);
        }
        check_encoding(cx, variant);
        check_field_names(cx, variant);
        if !borrows {
            check_field_types(cx, variant);
        }
        // A discriminant beside an explicit mtype is the user's own, for `as`
        // casts: the generated code never uses it.
        if let (Some((_, discriminant)), None) = (&variant.original.discriminant, &variant.explicit)
        {
            cx.error_spanned_by(
                discriminant,
                "explicit discriminants are not used as mtypes: write #[ipcq(mtype = N)] on the variant instead",
            );
        }
        let method = variant.method_ident().to_string();
        match methods.get(&method) {
            Some(first) => cx.error_spanned_by(
                variant.ident,
                format!(
                    "variants `{}` and `{}` both give the handler method `{method}`; rename one",
                    first.name(),
                    variant.name(),
                ),
            ),
            None => {
                methods.insert(method, variant);
            }
        }
    }
}

/// Whether the names of the enum, its Kind and its handler trait differ, as
/// [`check_generated_names`] requires.
pub(crate) fn generated_names_differ(name: &syn::Ident, attrs: &EnumAttrs) -> bool {
    let kind = crate::expand::kind_ident(name, Some(attrs));
    let handler = crate::expand::handler_ident(name, Some(attrs));
    kind != *name && handler != *name && kind != handler
}

/// The names given to the Kind enum and the handler trait must differ from
/// each other and from the enum's.
fn check_generated_names(cx: &Ctxt, input: &Enum<'_>) {
    let name = input.ident;
    let (kind, handler) = (&input.attrs.kind, &input.attrs.handler);
    for (given, what) in [(kind, "Kind enum"), (handler, "handler trait")] {
        if let Some(given) = given.as_ref().filter(|g| *g == name) {
            cx.error_spanned_by(
                given,
                format!("the {what} cannot be named `{name}`, as the message enum is"),
            );
        }
    }
    // The names in use, given or not: `kind = "CmdHandler"` takes the
    // handler trait's default name.
    let kind = crate::expand::kind_ident(name, Some(&input.attrs));
    let handler = crate::expand::handler_ident(name, Some(&input.attrs));
    // Named as the enum as well: reported above.
    if kind == handler && kind != *name {
        // At whichever name was given; the handler's if both were.
        let given = input.attrs.handler.as_ref().or(input.attrs.kind.as_ref());
        if let Some(given) = given {
            cx.error_spanned_by(
                given,
                format!("the Kind enum and the handler trait cannot both be named `{kind}`"),
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

/// Checks a variant's mtype, `origin` saying where an automatic one came
/// from.
fn check_mtype<'a>(
    cx: &Ctxt,
    variant: &'a Variant<'a>,
    origin: &'static str,
    seen: &mut HashMap<i128, (&'a Variant<'a>, &'static str)>,
) {
    // An unreadable number was reported where it was written.
    let Some(mtype) = variant.mtype else { return };
    let report = |message: String| match &variant.explicit {
        Some(tokens) => cx.error_spanned_by(tokens, message),
        None => cx.error_spanned_by(variant.ident, message),
    };
    if !(1..=MAX_MTYPE).contains(&mtype) {
        report(format!(
            "mtype {mtype} of variant `{}`{origin} is out of range: mtypes go from 1 to {MAX_MTYPE} (C long)",
            variant.name()
        ));
        return;
    }
    match seen.get(&mtype) {
        Some((first, first_origin)) => report(format!(
            "duplicate mtype {mtype}{origin}: variant `{}` already has it{first_origin}",
            first.name(),
        )),
        None => {
            seen.insert(mtype, (variant, origin));
        }
    }
}

/// The generated code names its own values `__ipcq_…`: a field so named
/// would hide one of them, with errors about code the user never wrote.
fn check_field_names(cx: &Ctxt, variant: &Variant<'_>) {
    for ident in variant.fields.iter().filter_map(|f| f.ident) {
        let name = ident.unraw().to_string();
        if name.starts_with("__ipcq") {
            cx.error_spanned_by(
                ident,
                format!(
                    "field names starting with `__ipcq` are reserved for the code \
                     #[derive(QueueMessage)] generates; rename `{name}`"
                ),
            );
        }
    }
}

/// A field that borrows (`&'static str`) cannot be decoded into: a received
/// message owns its data. The compiler's own error ("implementation of
/// `Deserialize` is not general enough") does not say so.
fn check_field_types(cx: &Ctxt, variant: &Variant<'_>) {
    for field in &variant.fields {
        if let syn::Type::Reference(reference) = field.ty {
            cx.error_spanned_by(
                reference,
                "a message cannot borrow: a received message owns its data, so a field \
                 cannot be a reference; use an owned type (`String` for `&str`, `Vec<T>` or \
                 `Box<[T]>` for `&[T]`)",
            );
        }
    }
}

fn check_encoding(cx: &Ctxt, variant: &Variant<'_>) {
    let (name, what) = match variant.encoding {
        Encoding::Typed => return,
        Encoding::Text => ("text", "text is"),
        Encoding::Bytes => ("bytes", "bytes are"),
    };
    if variant.fields.len() != 1 {
        cx.syn_error(syn::Error::new(
            variant.encoding_span,
            format!(
                "a `{name}` variant carries exactly one field, whose {what} the whole message body; `{}` has {}",
                variant.name(),
                variant.fields.len()
            ),
        ));
    }
}
