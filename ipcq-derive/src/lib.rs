//! `#[derive(QueueMessage)]`, the derive macro of [ipcq](https://docs.rs/ipcq).
//!
//! Use it through `ipcq::QueueMessage`; this crate's version always matches
//! the runtime's. The stages live in their own files: `ast` reads the enum
//! into a small model (with `attr` for `#[ipcq(...)]`), `valid` checks the
//! model, `expand` writes the code; `ctxt` collects every error with its
//! span so that one compile shows them all.

#![warn(missing_docs)]

mod ast;
mod attr;
mod ctxt;
mod expand;
mod fallback;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `ipcq::QueueMessage` for an enum, with a companion `…Kind` enum and
/// a `…Handler` trait. The attributes are listed in the documentation of the
/// `ipcq::QueueMessage` trait.
#[proc_macro_derive(QueueMessage, attributes(ipcq))]
pub fn derive_queue_message(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
