//! Transcript tests: a file of commands and the replies `redis-cli` would print for them. The same files
//! run against the engine directly (`tests/it`) and, over RESP, against a real `redis-server`, so every
//! expectation is Redis's own.
//!
//! Format: `> CMD args...` lines (split like `redis-cli` input, quotes allowed), each followed by the
//! expected reply lines. `# ...` lines are comments. `> :advance <ms>` moves a manual clock (engine only;
//! runners against a real server skip transcripts that use it). `> :client <n>` switches to another
//! client (connection), for WATCH and other multi-client behaviour.

use bytes::{Bytes, BytesMut};
use larder_resp::{Reply, format_double};

/// One step of a transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A command and its expected rendered reply.
    Command { line: usize, argv: Vec<Bytes>, expected: String },
    /// Move the manual clock forward.
    Advance(u64),
    /// Switch to client number `n` (each client is its own connection; client 0 is the first).
    Client(usize),
}

/// Parses a transcript file.
pub fn parse(text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let t = line.trim_end();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let Some(cmd) = t.strip_prefix("> ") else {
            return Err(format!("line {}: expected '> command', got {t:?}", i + 1));
        };
        if let Some(n) = cmd.strip_prefix(":client ") {
            steps.push(Step::Client(
                n.trim().parse().map_err(|_| format!("line {}: bad :client", i + 1))?,
            ));
            continue;
        }
        if let Some(ms) = cmd.strip_prefix(":advance ") {
            steps.push(Step::Advance(
                ms.trim().parse().map_err(|_| format!("line {}: bad :advance", i + 1))?,
            ));
            continue;
        }
        let mut buf = BytesMut::from(format!("{cmd}\r\n").as_bytes());
        let argv = larder_resp::decode_request(&mut buf, &Default::default())
            .map_err(|e| format!("line {}: {e}", i + 1))?
            .ok_or_else(|| format!("line {}: incomplete command", i + 1))?;
        let mut expected = Vec::new();
        while let Some((_, next)) = lines.peek() {
            if next.starts_with("> ") || next.starts_with('#') {
                break;
            }
            let (_, next) = lines.next().expect("peeked");
            expected.push(next.trim_end());
        }
        while expected.last().is_some_and(|l| l.is_empty()) {
            expected.pop();
        }
        steps.push(Step::Command { line: i + 1, argv, expected: expected.join("\n") });
    }
    Ok(steps)
}

/// Renders a reply the way `redis-cli` prints it over RESP2.
pub fn render(reply: &Reply) -> String {
    let mut out = String::new();
    render_into(reply, 0, &mut out);
    out
}

fn quote(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x07 => s.push_str("\\a"),
            0x08 => s.push_str("\\b"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

fn render_into(reply: &Reply, indent: usize, out: &mut String) {
    match reply {
        Reply::Nil | Reply::NilArray => out.push_str("(nil)"),
        Reply::Simple(s) => out.push_str(s),
        Reply::Int(n) => out.push_str(&format!("(integer) {n}")),
        Reply::Bool(b) => out.push_str(&format!("(integer) {}", *b as i64)),
        Reply::Bulk(b) | Reply::Verbatim(b) => out.push_str(&quote(b)),
        Reply::Double(d) => out.push_str(&quote(format_double(*d).as_bytes())),
        Reply::Error(e) => out.push_str(&format!("(error) {e}")),
        Reply::Array(items) | Reply::Set(items) => {
            render_items(items.iter(), items.len(), indent, out)
        }
        Reply::Map(pairs) => {
            let flat: Vec<&Reply> = pairs.iter().flat_map(|(k, v)| [k, v]).collect();
            render_items(flat.into_iter(), pairs.len() * 2, indent, out)
        }
    }
}

fn render_items<'a>(
    items: impl Iterator<Item = &'a Reply>,
    len: usize,
    indent: usize,
    out: &mut String,
) {
    if len == 0 {
        out.push_str("(empty array)");
        return;
    }
    let width = len.to_string().len();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        let prefix = format!("{:>width$}) ", i + 1);
        out.push_str(&prefix);
        render_into(item, indent + prefix.len(), out);
    }
}
