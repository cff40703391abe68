//! Tests against reference vectors produced with glibc `strtold`, x87 `long double`
//! addition and `printf("%.17Lf")` on x86-64 (see `tests/README.md`).

use super::*;

/// Vectors: `P<TAB>input<TAB>(ERR | bits<TAB>text)` checks [`parse`] (bits of the
/// parsed value and its `to_redis_string`); `A<TAB>a<TAB>b<TAB>(ERR notfloat |
/// ERR naninf | bits<TAB>text)` checks INCRBYFLOAT's parse + add + format.
const VECTORS: &str = include_str!("vectors.txt");

fn bits_text(v: &LongDouble) -> String {
    let bits = v.to_bits();
    format!("{:04x}:{:016x}", bits >> 64, bits as u64)
}

fn incrbyfloat(a: &str, b: &str) -> String {
    let (Some(x), Some(y)) = (parse(a.as_bytes()), parse(b.as_bytes())) else {
        return "ERR notfloat".to_owned();
    };
    let sum = x.add(y);
    if !sum.is_finite() {
        return "ERR naninf".to_owned();
    }
    format!("{}\t{}", bits_text(&sum), sum.to_redis_string())
}

/// Checks every vector line; returns (checked, failures).
fn check_vectors(text: &str) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (got, want) = match fields[0] {
            "P" => {
                let got = match parse(fields[1].as_bytes()) {
                    None => "ERR".to_owned(),
                    Some(v) => format!("{}\t{}", bits_text(&v), v.to_redis_string()),
                };
                (got, fields[2..].join("\t"))
            }
            "A" => (incrbyfloat(fields[1], fields[2]), fields[3..].join("\t")),
            other => panic!("bad vector kind {other:?}"),
        };
        checked += 1;
        if got != want {
            failures.push(format!("{line}\n   got: {got}"));
        }
    }
    (checked, failures)
}

#[test]
fn reference_vectors() {
    let (checked, failures) = check_vectors(VECTORS);
    assert!(checked > 1000, "only {checked} vectors");
    assert!(
        failures.is_empty(),
        "{} of {checked} vectors failed, first:\n{}",
        failures.len(),
        failures.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Bulk check of an external vector file: `LDOUBLE_VECTORS=path cargo test -- --ignored`.
#[test]
#[ignore = "needs a generated vector file: LDOUBLE_VECTORS=path cargo test -p larder-engine -- --ignored external_vectors"]
fn external_vectors() {
    let path = std::env::var("LDOUBLE_VECTORS").expect("set LDOUBLE_VECTORS");
    let text = std::fs::read_to_string(path).expect("read vectors");
    let (checked, failures) = check_vectors(&text);
    for f in failures.iter().take(20) {
        eprintln!("{f}");
    }
    assert!(failures.is_empty(), "{} of {checked} failed", failures.len());
    eprintln!("{checked} vectors ok");
}

#[test]
fn redis_examples() {
    for (a, b, want) in [
        ("0.1", "0.2", "0.3"),
        ("10.5", "0.1", "10.6"),
        ("5.0e3", "2.0e2", "5200"),
        ("5.6", "5.0e3", "5005.60000000000000009"),
        ("5", "1.23456789012345678", "6.23456789012345678"),
        ("3.0e3", "-3.0e3", "0"),
        ("-1e-30", "0", "0"),
    ] {
        let sum = parse(a.as_bytes()).unwrap().add(parse(b.as_bytes()).unwrap());
        assert_eq!(sum.to_redis_string(), want, "{a} + {b}");
    }
    let big = parse(b"1e308").unwrap();
    let s = big.add(big).to_redis_string();
    assert_eq!(s.len(), 309);
    assert!(s.starts_with("19999999999999999999337"));
}

#[test]
fn rejects_like_string2ld() {
    for bad in [
        &b""[..],
        b" 1",
        b"\t1",
        b"\n1",
        b"1 ",
        b"1\0",
        b"nan",
        b"-NaN",
        b"nan(1)",
        b"0x",
        b"1e",
        b"1e+",
        b".",
        b"infin",
        b"1e5000",
        b"-1e5000",
        b"1e-5000",
        b"0x1p-16446",
    ] {
        assert!(parse(bad).is_none(), "{:?}", String::from_utf8_lossy(bad));
    }
    assert!(!parse(b"inf").unwrap().is_finite());
    assert!(!parse(b"-Infinity").unwrap().is_finite());
    assert!(parse(b"0x1p-16445").unwrap().is_finite());
}

#[test]
fn input_length_limit() {
    let mut s = vec![b'0'; MAX_INPUT_LEN - 1];
    s[MAX_INPUT_LEN - 2] = b'1';
    assert_eq!(parse(&s).unwrap().to_redis_string(), "1");
    s.push(b'0');
    assert!(parse(&s).is_none());
}

#[test]
fn special_sums() {
    let inf = parse(b"inf").unwrap();
    let ninf = parse(b"-inf").unwrap();
    assert!(inf.add(ninf).is_nan());
    assert_eq!(inf.add(ninf).to_redis_string(), "nan");
    assert_eq!(inf.add(LongDouble::ZERO).to_redis_string(), "inf");
    assert_eq!(ninf.to_redis_string(), "-inf");
    let nz = parse(b"-0").unwrap();
    assert_eq!(nz.add(nz).to_bits() >> 79, 1);
    assert_eq!(nz.add(LongDouble::ZERO).to_bits(), 0);
    let one = parse(b"1").unwrap();
    let neg_one = parse(b"-1").unwrap();
    assert_eq!(one.add(neg_one).to_bits(), 0);
}

#[test]
fn from_i64_matches_parse() {
    for v in [0, 1, -1, 42, i64::MAX, i64::MIN, i64::MAX - 1, 1 << 62, -(1 << 53) - 1] {
        let parsed = parse(v.to_string().as_bytes()).unwrap();
        assert_eq!(LongDouble::from_i64(v).to_bits(), parsed.to_bits(), "{v}");
    }
}
