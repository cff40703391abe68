//! Redis's glob matching (`stringmatchlen`) for `KEYS`, `SCAN MATCH` and friends: `*`, `?`, `[abc]`,
//! `[^a-z]`, and `\` escapes.

/// Whether `string` matches `pattern` with Redis's rules. `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    matches(pattern, string, nocase, &mut skip_longer, 0)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase { a.eq_ignore_ascii_case(&b) } else { a == b }
}

fn matches(mut p: &[u8], mut s: &[u8], nocase: bool, skip_longer: &mut bool, depth: usize) -> bool {
    // Like Redis, bound recursion so that a pathological pattern cannot blow the stack.
    if depth > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if matches(&p[1..], s, nocase, skip_longer, depth + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut hit = false;
                loop {
                    if p.is_empty() {
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            hit = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut lo, mut hi) = (p[0], p[2]);
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        let c = s[0];
                        let (c, lo, hi) = if nocase {
                            (
                                c.to_ascii_lowercase(),
                                lo.to_ascii_lowercase(),
                                hi.to_ascii_lowercase(),
                            )
                        } else {
                            (c, lo, hi)
                        };
                        if c >= lo && c <= hi {
                            hit = true;
                        }
                        p = &p[2..];
                    } else if eq(p[0], s[0], nocase) {
                        hit = true;
                    }
                    p = &p[1..];
                }
                if p.is_empty() {
                    // An unterminated class: Redis treats the end of the pattern as its end.
                    p = &p[..0];
                    let hit = if not { !hit } else { hit };
                    if !hit {
                        return false;
                    }
                    s = &s[1..];
                    continue;
                }
                let hit = if not { !hit } else { hit };
                if !hit {
                    return false;
                }
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if !eq(p[0], s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if !eq(c, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while !p.is_empty() && p[0] == b'*' {
                p = &p[1..];
            }
            break;
        }
    }
    if s.is_empty() {
        while p.first() == Some(&b'*') {
            p = &p[1..];
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    fn m(p: &[u8], s: &[u8]) -> bool {
        super::glob_match(p, s, false)
    }

    #[test]
    fn redis_glob_rules() {
        assert!(m(b"*", b""));
        assert!(m(b"*", b"anything"));
        assert!(m(b"h?llo", b"hello"));
        assert!(!m(b"h?llo", b"hllo"));
        assert!(m(b"h*llo", b"heeeello"));
        assert!(m(b"h[ae]llo", b"hallo"));
        assert!(!m(b"h[ae]llo", b"hillo"));
        assert!(m(b"h[^e]llo", b"hallo"));
        assert!(!m(b"h[^e]llo", b"hello"));
        assert!(m(b"h[a-b]llo", b"hbllo"));
        assert!(m(b"h[b-a]llo", b"hallo"));
        assert!(m(b"h\\*llo", b"h*llo"));
        assert!(!m(b"h\\*llo", b"hello"));
        assert!(m(b"user:*:name", b"user:42:name"));
        assert!(!m(b"user:*:name", b"user:42:age"));
        assert!(m(b"a*", b"a"));
        assert!(m(b"*a*b*", b"xxaxxbxx"));
        assert!(!m(b"abc", b"ab"));
        assert!(!m(b"ab", b"abc"));
        assert!(m(b"ab*", b"ab"));
        assert!(m(b"[abc", b"a"));
    }

    #[test]
    fn pathological_patterns_terminate() {
        let p = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let s = vec![b'a'; 200];
        assert!(!m(p, &s));
    }
}
