//! Rules of the code base that the compiler alone does not state.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// All `unsafe` code of the library lives in its one syscall module: the
/// crate denies `unsafe_code` and allows it for `sys` alone, and no other
/// file so much as mentions an unsafe block, function or impl.
#[test]
fn unsafe_code_lives_only_in_the_syscall_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ipcq/src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert_eq!(lib.matches("#[allow(unsafe_code)]").count(), 1);
    assert!(
        lib.contains("#[allow(unsafe_code)]\nmod sys;"),
        "only `mod sys` may allow unsafe code"
    );

    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "found only {files:?}");
    for file in files.iter().filter(|f| !f.ends_with("sys.rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            assert!(
                !["unsafe {", "unsafe fn", "unsafe impl", "unsafe extern"]
                    .iter()
                    .any(|u| code.contains(u)),
                "{}:{}: unsafe code outside sys.rs: {line}",
                file.display(),
                n + 1
            );
        }
    }
    let workspace =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"))
            .unwrap();
    assert!(workspace.contains("unsafe_code = \"deny\""));
    assert!(workspace.contains("undocumented_unsafe_blocks = \"deny\""));
}
