//! The manifest: which base and incr files make up the data set, in Redis 7's line format
//! (`file <name> seq <n> type b|i|h`, one file per line, `#` comments), replaced atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::AofLoadError;

/// The manifest's file name.
pub(crate) const MANIFEST: &str = "appendonly.aof.manifest";
const TEMP_MANIFEST: &str = "temp-appendonly.aof.manifest";
/// The prefix of every data file.
pub(crate) const PREFIX: &str = "appendonly.aof";

/// A file listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AofFile {
    pub name: String,
    pub seq: u64,
}

/// The files of the data set: a base (absent only in a manifest written by hand) and the incr files
/// replayed after it, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub base: Option<AofFile>,
    pub incrs: Vec<AofFile>,
}

/// The name of base file number `seq`.
pub(crate) fn base_name(seq: u64) -> String {
    format!("{PREFIX}.{seq}.base.aof")
}

/// The name of incr file number `seq`.
pub(crate) fn incr_name(seq: u64) -> String {
    format!("{PREFIX}.{seq}.incr.aof")
}

/// Whether `name` is one of the data files larder writes (so an unlisted one may be deleted).
pub(crate) fn is_data_file(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX).and_then(|r| r.strip_prefix('.')) else {
        return false;
    };
    let Some((seq, kind)) = rest.split_once('.') else { return false };
    !seq.is_empty()
        && seq.bytes().all(|b| b.is_ascii_digit())
        && (kind == "base.aof" || kind == "incr.aof")
}

impl Manifest {
    /// Parses the manifest text. Errors carry the 1-based line number.
    pub(crate) fn parse(text: &str) -> Result<Manifest, (usize, String)> {
        let mut m = Manifest::default();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            if !words.len().is_multiple_of(2) {
                return Err((n, "expected `file <name> seq <n> type <b|i|h>`".into()));
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks(2) {
                match pair[0] {
                    "file" => name = Some(pair[1]),
                    "seq" => {
                        seq = Some(
                            pair[1]
                                .parse::<u64>()
                                .map_err(|_| (n, format!("bad seq {:?}", pair[1])))?,
                        )
                    }
                    "type" => kind = Some(pair[1]),
                    // Redis ignores keys it does not know (forward compatibility).
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err((n, "a line needs file, seq and type".into()));
            };
            if name.contains('/') || name.contains('\\') || name.starts_with('.') {
                return Err((n, format!("file name {name:?} is not a plain name")));
            }
            let file = AofFile { name: name.to_string(), seq };
            match kind {
                "b" => {
                    if m.base.is_some() {
                        return Err((n, "more than one base file".into()));
                    }
                    m.base = Some(file);
                }
                "i" => {
                    if m.incrs.last().is_some_and(|l| l.seq >= seq) {
                        return Err((n, "incr files out of sequence".into()));
                    }
                    m.incrs.push(file);
                }
                // History files (Redis keeps them until deleted); not part of the data set.
                "h" => {}
                other => return Err((n, format!("unknown file type {other:?}"))),
            }
        }
        if m.base.is_none() && m.incrs.is_empty() {
            return Err((0, "lists no file".into()));
        }
        Ok(m)
    }

    /// The manifest text.
    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        if let Some(b) = &self.base {
            s.push_str(&format!("file {} seq {} type b\n", b.name, b.seq));
        }
        for f in &self.incrs {
            s.push_str(&format!("file {} seq {} type i\n", f.name, f.seq));
        }
        s
    }

    /// The files in replay order: the base, then the incr files.
    pub(crate) fn files(&self) -> impl Iterator<Item = &AofFile> {
        self.base.iter().chain(&self.incrs)
    }

    /// The next free incr sequence number.
    pub(crate) fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(1, |f| f.seq + 1)
    }

    /// Reads `<dir>/appendonly.aof.manifest`; `Ok(None)` when there is none.
    pub(crate) fn load(dir: &Path) -> Result<Option<Manifest>, AofLoadError> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(AofLoadError::io("read", path, e)),
        };
        let text = String::from_utf8(text).map_err(|_| AofLoadError::Manifest {
            path: path.clone(),
            line: 0,
            reason: "not UTF-8".into(),
        })?;
        Manifest::parse(&text).map(Some).map_err(|(line, reason)| AofLoadError::Manifest {
            path,
            line,
            reason,
        })
    }

    /// Replaces the manifest atomically: write a temp file, fsync it, rename it over the manifest, fsync
    /// the directory.
    pub(crate) fn store(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join(TEMP_MANIFEST);
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(self.render().as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, dir.join(MANIFEST))?;
        sync_dir(dir)
    }
}

/// fsyncs a directory, so renames and new files in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// `dir/name`.
pub(crate) fn path_of(dir: &Path, f: &AofFile) -> PathBuf {
    dir.join(&f.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let m = Manifest {
            base: Some(AofFile { name: base_name(3), seq: 3 }),
            incrs: vec![
                AofFile { name: incr_name(4), seq: 4 },
                AofFile { name: incr_name(5), seq: 5 },
            ],
        };
        let text = m.render();
        assert_eq!(
            text,
            "file appendonly.aof.3.base.aof seq 3 type b\nfile appendonly.aof.4.incr.aof seq 4 type i\nfile appendonly.aof.5.incr.aof seq 5 type i\n"
        );
        assert_eq!(Manifest::parse(&text).unwrap(), m);
        // Redis's own manifests: an rdb base, history lines, any key order.
        let redis = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof type h seq 1\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let r = Manifest::parse(redis).unwrap();
        assert_eq!(r.incrs.len(), 1);
        assert!(Manifest::parse("").is_err());
        assert!(Manifest::parse("file x seq 1").is_err());
        assert!(Manifest::parse("file ../x seq 1 type i").is_err());
        assert!(Manifest::parse("file a seq 2 type i\nfile b seq 1 type i").is_err());
        assert!(is_data_file("appendonly.aof.12.incr.aof"));
        assert!(is_data_file("appendonly.aof.1.base.aof"));
        assert!(!is_data_file("appendonly.aof.manifest"));
        assert!(!is_data_file("appendonly.aof.x.incr.aof"));
    }
}
