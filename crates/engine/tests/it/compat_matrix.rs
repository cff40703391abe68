//! `docs/compat/commands.md` is generated from the command table and `docs/compat/upstash-commands.tsv`
//! (every command the official Upstash REST clients can send), so it cannot drift: this test fails when
//! the file is stale. `UPDATE_COMPAT_MATRIX=1 cargo test -p larder-engine --test it compat_matrix` rewrites it.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use larder_engine::{Engine, ManualClock, Reply, ServerInfo, lookup};

/// Commands larder serves with a known gap, and what is missing.
const PARTIAL: &[(&str, &str)] = &[];

fn supported(engine: &mut Engine, command: &str) -> bool {
    // `(any)`: the escape hatch, served by `POST /` for any command larder knows.
    if command == "(any)" {
        return true;
    }
    // `MULTI/EXEC`: the clients' transactions, served by `POST /multi-exec`.
    if command.contains('/') {
        return command.split('/').all(|c| supported(engine, c));
    }
    let mut words = command.split(' ');
    let name = words.next().expect("a command name");
    if lookup(name.as_bytes()).is_none() {
        return false;
    }
    let Some(sub) = words.next() else { return true };
    // A subcommand is supported when the parent does not call it unknown.
    let mut client = engine.new_client("matrix".into());
    let argv =
        vec![Bytes::copy_from_slice(name.as_bytes()), Bytes::copy_from_slice(sub.as_bytes())];
    !matches!(engine.execute(&mut client, &argv), Reply::Error(e) if e.starts_with("ERR unknown subcommand '"))
}

fn render() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tsv = std::fs::read_to_string(root.join("docs/compat/upstash-commands.tsv")).unwrap();
    let mut engine = Engine::new(Arc::new(ManualClock::new(0)), ServerInfo::default());
    let mut rows = Vec::new();
    let mut groups: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for line in tsv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (command, group, js, py, notes) = (
            cols[0],
            cols[1],
            cols.get(2).copied().unwrap_or(""),
            cols.get(3).copied().unwrap_or(""),
            cols.get(4).copied().unwrap_or(""),
        );
        let partial = PARTIAL.iter().find(|(c, _)| *c == command).map(|(_, why)| *why);
        let status = match (supported(&mut engine, command), partial) {
            (true, None) => "supported",
            (true, Some(_)) => "partial",
            (false, _) => "not yet",
        };
        let g = groups.entry(group.to_string()).or_default();
        match status {
            "supported" => g.0 += 1,
            "partial" => g.1 += 1,
            _ => g.2 += 1,
        }
        let mut note = partial.map(|p| format!("missing: {p}")).unwrap_or_default();
        if !notes.is_empty() {
            if !note.is_empty() {
                note.push_str("; ");
            }
            note.push_str(notes);
        }
        let js = if js == "-" { "—".to_string() } else { format!("`{js}`") };
        let py = if py == "y" { "yes" } else { "no" };
        rows.push(format!(
            "| `{command}` | {group} | {js} | {py} | {status} | {} |",
            note.replace('|', "\\|")
        ));
    }
    let mut out = String::new();
    out.push_str("# Command compatibility\n\n");
    out.push_str("Every command the official `@upstash/redis` (JS) and `upstash-redis` (Python) clients can send, and\n");
    out.push_str("whether larder serves it. Generated from larder's command table by\n");
    out.push_str("`UPDATE_COMPAT_MATRIX=1 cargo test -p larder-engine --test it compat_matrix`; a test fails when this file\n");
    out.push_str("is stale. \"partial\" names what is missing. Where larder deliberately differs from Redis, the engine's\n");
    out.push_str("`crates/engine/tests/transcripts/*.larder.txt` files say how and why.\n\n");
    out.push_str("| group | supported | partial | not yet |\n| --- | ---: | ---: | ---: |\n");
    let mut total = (0, 0, 0);
    for (g, (s, p, n)) in &groups {
        out.push_str(&format!("| {g} | {s} | {p} | {n} |\n"));
        total = (total.0 + s, total.1 + p, total.2 + n);
    }
    out.push_str(&format!("| **all** | **{}** | **{}** | **{}** |\n\n", total.0, total.1, total.2));
    out.push_str("| command | group | JS method | Python | larder | notes |\n| --- | --- | --- | --- | --- | --- |\n");
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    out
}

#[test]
fn compat_matrix() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/compat/commands.md");
    let want = render();
    if std::env::var_os("UPDATE_COMPAT_MATRIX").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/compat/commands.md is stale: run UPDATE_COMPAT_MATRIX=1 cargo test -p larder-engine --test it compat_matrix"
    );
}
