//! UI tests of `#[derive(QueueMessage)]`: every error the derive reports, with
//! its span, and the shapes that must compile and run.
//!
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test -p ipcq-derive
//! --test compiletest`; the toolchain is pinned in `rust-toolchain.toml`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
