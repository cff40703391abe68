//! Codec tests: encoding tables, request and reply decoding, and property tests tying them together.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;

use crate::{
    DecodeError, Limits, Protocol, Reply, decode_reply, decode_request, encode, format_double,
};

fn enc(r: &Reply, proto: Protocol) -> Vec<u8> {
    let mut out = Vec::new();
    encode(r, proto, &mut out);
    out
}

fn b(s: &str) -> Reply {
    Reply::bulk(s)
}

#[test]
fn encode_table() {
    let s = |x: &'static str| Reply::simple(x);
    #[rustfmt::skip]
    let cases: Vec<(Reply, &[u8], &[u8])> = vec![
        (Reply::Nil, b"$-1\r\n", b"_\r\n"),
        (Reply::NilArray, b"*-1\r\n", b"_\r\n"),
        (Reply::OK, b"+OK\r\n", b"+OK\r\n"),
        (s(""), b"+\r\n", b"+\r\n"),
        (Reply::Simple("a\r\nb\rc\nd".into()), b"+a  b c d\r\n", b"+a  b c d\r\n"),
        (Reply::Error("ERR syntax error".into()), b"-ERR syntax error\r\n", b"-ERR syntax error\r\n"),
        (Reply::Error("ERR bad\r\n+OK".into()), b"-ERR bad  +OK\r\n", b"-ERR bad  +OK\r\n"),
        (Reply::Int(0), b":0\r\n", b":0\r\n"),
        (Reply::Int(-42), b":-42\r\n", b":-42\r\n"),
        (Reply::Int(i64::MAX), b":9223372036854775807\r\n", b":9223372036854775807\r\n"),
        (Reply::Int(i64::MIN), b":-9223372036854775808\r\n", b":-9223372036854775808\r\n"),
        (b(""), b"$0\r\n\r\n", b"$0\r\n\r\n"),
        (b("hello"), b"$5\r\nhello\r\n", b"$5\r\nhello\r\n"),
        (Reply::bulk(b"a\r\nb"), b"$4\r\na\r\nb\r\n", b"$4\r\na\r\nb\r\n"),
        (Reply::Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n"),
        (Reply::Double(3.0), b"$1\r\n3\r\n", b",3\r\n"),
        (Reply::Double(-0.0), b"$2\r\n-0\r\n", b",-0\r\n"),
        (Reply::Double(1e21), b"$5\r\n1e+21\r\n", b",1e+21\r\n"),
        (Reply::Double(f64::INFINITY), b"$3\r\ninf\r\n", b",inf\r\n"),
        (Reply::Double(f64::NEG_INFINITY), b"$4\r\n-inf\r\n", b",-inf\r\n"),
        (Reply::Double(f64::NAN), b"$3\r\nnan\r\n", b",nan\r\n"),
        (Reply::Bool(true), b":1\r\n", b"#t\r\n"),
        (Reply::Bool(false), b":0\r\n", b"#f\r\n"),
        (Reply::Array(vec![]), b"*0\r\n", b"*0\r\n"),
        (Reply::Array(vec![b("a"), Reply::Int(1), Reply::Nil]), b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
        (Reply::Array(vec![Reply::Array(vec![Reply::NilArray])]), b"*1\r\n*1\r\n*-1\r\n", b"*1\r\n*1\r\n_\r\n"),
        (Reply::Map(vec![]), b"*0\r\n", b"%0\r\n"),
        (
            Reply::Map(vec![(b("k"), Reply::Double(0.5)), (s("x"), Reply::Bool(true))]),
            b"*4\r\n$1\r\nk\r\n$3\r\n0.5\r\n+x\r\n:1\r\n",
            b"%2\r\n$1\r\nk\r\n,0.5\r\n+x\r\n#t\r\n",
        ),
        (Reply::Set(vec![b("a"), b("b")]), b"*2\r\n$1\r\na\r\n$1\r\nb\r\n", b"~2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        (Reply::Verbatim(Bytes::from_static(b"# Server\r\n")), b"$10\r\n# Server\r\n\r\n", b"=14\r\ntxt:# Server\r\n\r\n"),
        (Reply::Verbatim(Bytes::new()), b"$0\r\n\r\n", b"=4\r\ntxt:\r\n"),
        (
            Reply::Array(vec![Reply::OK, Reply::Error("WRONGTYPE x".into())]),
            b"*2\r\n+OK\r\n-WRONGTYPE x\r\n",
            b"*2\r\n+OK\r\n-WRONGTYPE x\r\n",
        ),
    ];
    for (reply, resp2, resp3) in cases {
        assert_eq!(enc(&reply, Protocol::Resp2), resp2, "RESP2 {reply:?}");
        assert_eq!(enc(&reply, Protocol::Resp3), resp3, "RESP3 {reply:?}");
    }
    assert_eq!(Protocol::default(), Protocol::Resp2);
}

#[test]
fn encode_appends() {
    let mut out = b"xy".to_vec();
    encode(&Reply::Int(7), Protocol::Resp3, &mut out);
    assert_eq!(out, b"xy:7\r\n");
}

// ---- decode_request -------------------------------------------------------------------------------------

fn req(input: &[u8]) -> Result<Option<Vec<Bytes>>, DecodeError> {
    req_with(input, &Limits::default())
}

fn req_with(input: &[u8], limits: &Limits) -> Result<Option<Vec<Bytes>>, DecodeError> {
    let mut buf = BytesMut::from(input);
    decode_request(&mut buf, limits)
}

fn argv(args: &[&[u8]]) -> Vec<Bytes> {
    args.iter().map(|a| Bytes::copy_from_slice(a)).collect()
}

fn multibulk(args: &[Bytes]) -> Vec<u8> {
    let items = args.iter().cloned().map(Reply::Bulk).collect();
    enc(&Reply::Array(items), Protocol::Resp2)
}

#[test]
fn multibulk_basic() {
    let mut buf =
        BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPI"[..]);
    let l = Limits::default();
    assert_eq!(decode_request(&mut buf, &l), Ok(Some(argv(&[b"GET", b"k"]))));
    assert_eq!(decode_request(&mut buf, &l), Ok(Some(argv(&[b"PING"]))));
    assert_eq!(decode_request(&mut buf, &l), Ok(None));
    assert_eq!(&buf[..], b"*1\r\n$4\r\nPI");
    buf.extend_from_slice(b"NG\r\n");
    assert_eq!(decode_request(&mut buf, &l), Ok(Some(argv(&[b"PING"]))));
    assert!(buf.is_empty());
    assert_eq!(decode_request(&mut buf, &l), Ok(None));
}

#[test]
fn multibulk_many_args() {
    // More arguments than the decoder keeps positions for between its two passes.
    for n in [15, 16, 17, 40] {
        let args: Vec<Bytes> =
            (0..n).map(|i| Bytes::from(format!("arg{i}").repeat(i % 3))).collect();
        assert_eq!(req(&multibulk(&args)), Ok(Some(args.clone())), "{n} arguments");
    }
}

#[test]
fn multibulk_binary_and_empty_args() {
    assert_eq!(
        req(b"*3\r\n$0\r\n\r\n$2\r\n\r\n\r\n$1\r\n\0\r\n"),
        Ok(Some(argv(&[b"", b"\r\n", b"\0"])))
    );
}

#[test]
fn multibulk_zero_copy() {
    let mut buf = BytesMut::from(&b"*1\r\n$5\r\nhello\r\n"[..]);
    let base = buf.as_ptr() as usize;
    let args = decode_request(&mut buf, &Limits::default()).unwrap().unwrap();
    assert_eq!(args[0].as_ptr() as usize, base + 8);
}

#[test]
fn multibulk_empty_counts() {
    for input in [&b"*0\r\n"[..], b"*-1\r\n", b"*-5\r\n"] {
        let mut buf = BytesMut::from(input);
        buf.extend_from_slice(b"*1\r\n$1\r\nx\r\n");
        assert_eq!(decode_request(&mut buf, &Limits::default()), Ok(Some(vec![])));
        assert_eq!(decode_request(&mut buf, &Limits::default()), Ok(Some(argv(&[b"x"]))));
    }
}

#[test]
fn multibulk_errors() {
    use DecodeError::*;
    for (input, err) in [
        (&b"*x\r\n"[..], InvalidMultibulkLength),
        (b"*\r\n", InvalidMultibulkLength),
        (b"*+1\r\n", InvalidMultibulkLength),
        (b"*01\r\n", InvalidMultibulkLength),
        (b"* 1\r\n", InvalidMultibulkLength),
        (b"*1 \r\n", InvalidMultibulkLength),
        (b"*99999999999999999999\r\n", InvalidMultibulkLength),
        (b"*1048577\r\n", InvalidMultibulkLength),
        (b"*1\r\n+OK\r\n", ExpectedBulk(b'+')),
        (b"*2\r\n$1\r\na\r\n:1\r\n", ExpectedBulk(b':')),
        (b"*1\r\n\r\n", ExpectedBulk(b'\r')),
        (b"*1\r\n$-1\r\n", InvalidBulkLength),
        (b"*1\r\n$x\r\n", InvalidBulkLength),
        (b"*1\r\n$\r\n", InvalidBulkLength),
        (b"*1\r\n$536870913\r\n", InvalidBulkLength),
    ] {
        assert_eq!(req(input), Err(err), "{:?}", String::from_utf8_lossy(input));
    }
    // Limits are reported from the header alone, before any data arrives.
    assert_eq!(req(b"*1\r\n$536870912\r\n"), Ok(None));
    assert_eq!(req(b"*1048576\r\n"), Ok(None));
    let small = Limits { max_bulk_len: 3, max_multibulk_len: 2, max_inline_len: 10 };
    assert_eq!(req_with(b"*1\r\n$3\r\nabc\r\n", &small), Ok(Some(argv(&[b"abc"]))));
    assert_eq!(req_with(b"*1\r\n$4\r\n", &small), Err(DecodeError::InvalidBulkLength));
    assert_eq!(req_with(b"*3\r\n", &small), Err(DecodeError::InvalidMultibulkLength));
    // No CR within max_inline_len bytes of a header's start.
    assert_eq!(req_with(b"*1234567890", &small), Err(DecodeError::TooBigMultibulkCount));
    assert_eq!(req_with(b"*123456789", &small), Ok(None));
    assert_eq!(req_with(b"*1\r\n$1234567890", &small), Err(DecodeError::TooBigBulkCount));
    assert_eq!(req_with(b"*1\r\n$123456789", &small), Ok(None));
}

#[test]
fn error_texts() {
    use DecodeError::*;
    for (err, text) in [
        (InvalidMultibulkLength, "ERR Protocol error: invalid multibulk length"),
        (InvalidBulkLength, "ERR Protocol error: invalid bulk length"),
        (ExpectedBulk(b'x'), "ERR Protocol error: expected '$', got 'x'"),
        (ExpectedBulk(b'\r'), "ERR Protocol error: expected '$', got ' '"),
        (TooBigInline, "ERR Protocol error: too big inline request"),
        (UnbalancedQuotes, "ERR Protocol error: unbalanced quotes in request"),
        (TooBigMultibulkCount, "ERR Protocol error: too big mbulk count string"),
        (TooBigBulkCount, "ERR Protocol error: too big bulk count string"),
        (InvalidReplyType, "ERR Protocol error: invalid reply type"),
        (TooDeep, "ERR Protocol error: reply nesting too deep"),
    ] {
        assert_eq!(err.to_string(), text);
    }
}

#[test]
fn every_prefix_is_incomplete_and_untouched() {
    let whole = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$9\r\nvalue\r\n\r\n\r\n";
    for n in 0..whole.len() {
        let mut buf = BytesMut::from(&whole[..n]);
        assert_eq!(decode_request(&mut buf, &Limits::default()), Ok(None), "prefix {n}");
        assert_eq!(&buf[..], &whole[..n]);
    }
    assert_eq!(req(whole), Ok(Some(argv(&[b"SET", b"key", b"value\r\n\r\n"]))));
}

#[test]
fn inline_requests() {
    #[rustfmt::skip]
    let cases: &[(&[u8], &[&[u8]])] = &[
        (b"PING\r\n", &[b"PING"]),
        (b"PING\n", &[b"PING"]),
        (b"\r\n", &[]),
        (b"\n", &[]),
        (b"   \t \r\n", &[]),
        (b"set  a   b\r\n", &[b"set", b"a", b"b"]),
        (b"  lead trail  \n", &[b"lead", b"trail"]),
        (b"a\rb\r\n", &[b"a", b"b"]),
        (b"a\x0bb \x0bc\n", &[b"a\x0bb", b"c"]),
        (b"set k \"hello world\"\r\n", &[b"set", b"k", b"hello world"]),
        (b"\"\"\n", &[b""]),
        (b"'' \"\"\n", &[b"", b""]),
        (b"\"a\\nb\\r\\t\\b\\a\\\\\\\"c\"\n", &[b"a\nb\r\t\x08\x07\\\"c"]),
        (b"\"\\x41\\x7a\\xff\\x00\"\n", &[b"Az\xff\0"]),
        (b"\"\\xZZ\\x4\"\n", &[b"xZZx4"]),
        (b"\"\\q\"\n", &[b"q"]),
        (b"'it\\'s' 'a\\nb' '\"'\n", &[b"it's", b"a\\nb", b"\""]),
        (b"foo\"bar baz\" x\n", &[b"foobar baz", b"x"]),
        (b"a'b c' d\n", &[b"ab c", b"d"]),
        (b"\"x\"\t\"y\"\x0b'z'\n", &[b"x", b"y", b"z"]),
        (b"\xff\xfe \0\n", &[b"\xff\xfe", b"\0"]),
        (b"-ERR\r\n", &[b"-ERR"]),
        (b"$3\r\n", &[b"$3"]),
    ];
    for (input, expected) in cases {
        assert_eq!(req(input), Ok(Some(argv(expected))), "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn inline_zero_copy_for_plain_and_quoted_args() {
    let mut buf = BytesMut::from(&b"GET \"key\"\r\n"[..]);
    let base = buf.as_ptr() as usize;
    let args = decode_request(&mut buf, &Limits::default()).unwrap().unwrap();
    assert_eq!(args[0].as_ptr() as usize, base);
    assert_eq!(args[1].as_ptr() as usize, base + 5);
}

#[test]
fn inline_errors_and_incomplete() {
    for input in [
        &b"\"abc\n"[..],
        b"'abc\n",
        b"\"abc\"def\n",
        b"'abc'def\n",
        b"\"abc\\\"\n",
        b"\"abc\\\n",
        b"a \"b\"c d\n",
        b"\"\n",
    ] {
        assert_eq!(
            req(input),
            Err(DecodeError::UnbalancedQuotes),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(req(b"PING"), Ok(None));
    assert_eq!(req(b"PING\r"), Ok(None));
    let small = Limits { max_inline_len: 4, ..Limits::default() };
    assert_eq!(req_with(b"PING", &small), Ok(None));
    assert_eq!(req_with(b"PINGS", &small), Err(DecodeError::TooBigInline));
    // With its newline, a long line is fine (as in Redis).
    assert_eq!(req_with(b"PINGS\n", &small), Ok(Some(argv(&[b"PINGS"]))));
    let mut buf = BytesMut::from(&b"ECHO a\nECHO b\r\nPI"[..]);
    assert_eq!(decode_request(&mut buf, &Limits::default()), Ok(Some(argv(&[b"ECHO", b"a"]))));
    assert_eq!(decode_request(&mut buf, &Limits::default()), Ok(Some(argv(&[b"ECHO", b"b"]))));
    assert_eq!(decode_request(&mut buf, &Limits::default()), Ok(None));
    assert_eq!(&buf[..], b"PI");
}

// ---- decode_reply ---------------------------------------------------------------------------------------

fn rep(input: &[u8]) -> Result<Option<Reply>, DecodeError> {
    let mut buf = BytesMut::from(input);
    let r = decode_reply(&mut buf);
    if let Ok(Some(_)) = r {
        assert!(buf.is_empty(), "trailing bytes after {:?}", String::from_utf8_lossy(input));
    }
    r
}

#[test]
fn reply_decoding() {
    let s = |x: &'static str| Reply::simple(x);
    let cases: Vec<(&[u8], Reply)> = vec![
        (b"+OK\r\n", Reply::OK),
        (b"+\r\n", s("")),
        (b"-ERR x y\r\n", Reply::Error("ERR x y".into())),
        (b"!8\r\nERR a\r\nb\r\n", Reply::Error("ERR a\r\nb".into())),
        (b":0\r\n", Reply::Int(0)),
        (b":-17\r\n", Reply::Int(-17)),
        (b":+17\r\n", Reply::Int(17)),
        (b":-9223372036854775808\r\n", Reply::Int(i64::MIN)),
        (b"$-1\r\n", Reply::Nil),
        (b"$0\r\n\r\n", b("")),
        (b"$4\r\na\r\nb\r\n", Reply::bulk(b"a\r\nb")),
        (b"*-1\r\n", Reply::NilArray),
        (b"*0\r\n", Reply::Array(vec![])),
        (b"_\r\n", Reply::Nil),
        (b",1.5\r\n", Reply::Double(1.5)),
        (b",-0\r\n", Reply::Double(-0.0)),
        (b",1e+21\r\n", Reply::Double(1e21)),
        (b",1.2E-5\r\n", Reply::Double(1.2e-5)),
        (b",inf\r\n", Reply::Double(f64::INFINITY)),
        (b",-inf\r\n", Reply::Double(f64::NEG_INFINITY)),
        (b"#t\r\n", Reply::Bool(true)),
        (b"#f\r\n", Reply::Bool(false)),
        (
            b"(3492890328409238509324850943850943825024385\r\n",
            b("3492890328409238509324850943850943825024385"),
        ),
        (b"(-12\r\n", b("-12")),
        (b"=15\r\ntxt:Some string\r\n", Reply::Verbatim(Bytes::from_static(b"Some string"))),
        (b"=8\r\nmkd:a\r\nb\r\n", Reply::Verbatim(Bytes::from_static(b"a\r\nb"))),
        (
            b"%2\r\n+a\r\n:1\r\n$1\r\nb\r\n#f\r\n",
            Reply::Map(vec![(s("a"), Reply::Int(1)), (b("b"), Reply::Bool(false))]),
        ),
        (b"~2\r\n+a\r\n_\r\n", Reply::Set(vec![s("a"), Reply::Nil])),
        (
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            Reply::Array(vec![b("message"), b("ch"), b("hi")]),
        ),
        (
            b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2\r\n",
            Reply::Array(vec![Reply::Int(2)]),
        ),
        (
            b"*2\r\n|1\r\n+ttl\r\n:3\r\n:1\r\n:2\r\n",
            Reply::Array(vec![Reply::Int(1), Reply::Int(2)]),
        ),
        (
            b"*2\r\n*1\r\n*-1\r\n$-1\r\n",
            Reply::Array(vec![Reply::Array(vec![Reply::NilArray]), Reply::Nil]),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(rep(input), Ok(Some(expected)), "{:?}", String::from_utf8_lossy(input));
        for n in 0..input.len() {
            let mut buf = BytesMut::from(&input[..n]);
            assert_eq!(
                decode_reply(&mut buf),
                Ok(None),
                "{:?}",
                String::from_utf8_lossy(&input[..n])
            );
            assert_eq!(buf.len(), n);
        }
    }
    assert!(matches!(rep(b",nan\r\n"), Ok(Some(Reply::Double(d))) if d.is_nan()));
}

#[test]
fn reply_errors() {
    use DecodeError::*;
    for (input, err) in [
        (&b"x\r\n"[..], InvalidReplyType),
        (b"PING\r\n", InvalidReplyType),
        (b"*1\r\n@\r\n", InvalidReplyType),
        (b":abc\r\n", InvalidReply("invalid integer")),
        (b":\r\n", InvalidReply("invalid integer")),
        (b",abc\r\n", InvalidReply("invalid double")),
        (b",\r\n", InvalidReply("invalid double")),
        (b"#x\r\n", InvalidReply("invalid boolean")),
        (b"_x\r\n", InvalidReply("invalid null")),
        (b"(1a\r\n", InvalidReply("invalid big number")),
        (b"+OK\rx", InvalidReply("expected CRLF")),
        (b"$-2\r\n", InvalidBulkLength),
        (b"$x\r\n", InvalidBulkLength),
        (b"$1\r\nabc\r\n", InvalidBulkLength),
        (b"!-1\r\n", InvalidBulkLength),
        (b"=2\r\nab\r\n", InvalidReply("invalid verbatim string")),
        (b"=5\r\ntxt-a\r\n", InvalidReply("invalid verbatim string")),
        (b"*-2\r\n", InvalidMultibulkLength),
        (b"*x\r\n", InvalidMultibulkLength),
        (b"%-1\r\n", InvalidReply("invalid aggregate length")),
        (b"~x\r\n", InvalidReply("invalid aggregate length")),
    ] {
        assert_eq!(rep(input), Err(err), "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn reply_nesting_limit() {
    let nested = |depth: usize| {
        let mut v = b"*1\r\n".repeat(depth);
        v.extend_from_slice(b":1\r\n");
        v
    };
    let mut expected = Reply::Int(1);
    for _ in 0..512 {
        expected = Reply::Array(vec![expected]);
    }
    assert_eq!(rep(&nested(512)), Ok(Some(expected)));
    assert_eq!(rep(&nested(513)), Err(DecodeError::TooDeep));
    assert_eq!(rep(&nested(100_000)), Err(DecodeError::TooDeep));
    assert_eq!(rep(&b"|1\r\n:1\r\n".repeat(513)), Err(DecodeError::TooDeep));
    // Empty attributes do not nest.
    let mut attrs = b"|0\r\n".repeat(100_000);
    assert_eq!(rep(&attrs), Ok(None));
    attrs.extend_from_slice(b":1\r\n");
    assert_eq!(rep(&attrs), Ok(Some(Reply::Int(1))));
}

#[test]
fn reply_stream() {
    let mut buf = BytesMut::from(&b"+OK\r\n:1\r\n$3\r\nab"[..]);
    assert_eq!(decode_reply(&mut buf), Ok(Some(Reply::OK)));
    assert_eq!(decode_reply(&mut buf), Ok(Some(Reply::Int(1))));
    assert_eq!(decode_reply(&mut buf), Ok(None));
    buf.extend_from_slice(b"c\r\n");
    assert_eq!(decode_reply(&mut buf), Ok(Some(b("abc"))));
    assert_eq!(decode_reply(&mut buf), Ok(None));
}

// ---- properties -----------------------------------------------------------------------------------------

fn arb_args() -> impl Strategy<Value = Vec<Bytes>> {
    let arg = prop_oneof![
        vec(any::<u8>(), 0..40),
        vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'$'), Just(b'*'), Just(b'a')], 0..10),
    ];
    vec(arg.prop_map(Bytes::from), 0..8)
}

fn arb_reply() -> impl Strategy<Value = Reply> {
    let leaf = prop_oneof![
        Just(Reply::Nil),
        Just(Reply::NilArray),
        "[^\r\n]{0,12}".prop_map(|s| Reply::Simple(Cow::Owned(s))),
        "[A-Z]{1,8}( [^\r\n]{0,12})?".prop_map(|s| Reply::Error(Cow::Owned(s))),
        any::<i64>().prop_map(Reply::Int),
        vec(any::<u8>(), 0..24).prop_map(|v| Reply::Bulk(v.into())),
        any::<f64>()
            .prop_filter("NaN never compares equal", |d| !d.is_nan())
            .prop_map(Reply::Double),
        prop_oneof![
            Just(1.5),
            Just(-0.0),
            Just(1e21),
            Just(1e-7),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY)
        ]
        .prop_map(Reply::Double),
        any::<bool>().prop_map(Reply::Bool),
        vec(any::<u8>(), 0..24).prop_map(|v| Reply::Verbatim(v.into())),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Reply::Array),
            vec((inner.clone(), inner.clone()), 0..4).prop_map(Reply::Map),
            vec(inner, 0..6).prop_map(Reply::Set),
        ]
    })
}

/// What a RESP3 encoding decodes back to: `_` cannot tell the two nils apart.
fn resp3_shape(r: &Reply) -> Reply {
    match r {
        Reply::NilArray => Reply::Nil,
        Reply::Array(v) => Reply::Array(v.iter().map(resp3_shape).collect()),
        Reply::Set(v) => Reply::Set(v.iter().map(resp3_shape).collect()),
        Reply::Map(v) => {
            Reply::Map(v.iter().map(|(k, v)| (resp3_shape(k), resp3_shape(v))).collect())
        }
        other => other.clone(),
    }
}

/// What a RESP2 encoding decodes back to.
fn resp2_shape(r: &Reply) -> Reply {
    match r {
        Reply::Double(d) => Reply::bulk(format_double(*d)),
        Reply::Bool(b) => Reply::Int(i64::from(*b)),
        Reply::Verbatim(v) => Reply::Bulk(v.clone()),
        Reply::Array(v) | Reply::Set(v) => Reply::Array(v.iter().map(resp2_shape).collect()),
        Reply::Map(v) => {
            Reply::Array(v.iter().flat_map(|(k, v)| [resp2_shape(k), resp2_shape(v)]).collect())
        }
        other => other.clone(),
    }
}

/// A double-quoted inline form of `arg` that `sdssplitargs` reads back as `arg`.
fn inline_quote(arg: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in arg {
        match c {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b' '..=b'~' => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// Feeds `input` in pieces cut at `cuts`, collecting every decoded result.
fn feed_requests(input: &[u8], cuts: &[usize]) -> Vec<Result<Vec<Bytes>, DecodeError>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.push(input.len());
    cuts.sort_unstable();
    let (mut buf, mut out, mut fed) = (BytesMut::new(), Vec::new(), 0);
    for cut in cuts {
        buf.extend_from_slice(&input[fed..cut]);
        fed = cut;
        loop {
            match decode_request(&mut buf, &Limits::default()) {
                Ok(Some(args)) => out.push(Ok(args)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    assert!(buf.is_empty(), "leftover {:?}", &buf[..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn multibulk_round_trip(args in arb_args()) {
        let bytes = multibulk(&args);
        let mut buf = BytesMut::from(&bytes[..]);
        prop_assert_eq!(decode_request(&mut buf, &Limits::default()), Ok(Some(args)));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn inline_round_trip(args in arb_args(), crlf in any::<bool>()) {
        let mut line = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            inline_quote(a, &mut line);
        }
        line.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        prop_assert_eq!(req(&line), Ok(Some(args)));
    }

    #[test]
    fn chunked_requests_decode_like_whole(
        reqs in vec((arb_args(), any::<bool>()), 1..5),
        cuts in vec(any::<usize>(), 0..12),
    ) {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for (args, inline) in reqs {
            if inline && !args.is_empty() {
                for a in &args {
                    inline_quote(a, &mut input);
                    input.push(b' ');
                }
                input.extend_from_slice(b"\r\n");
            } else {
                input.extend_from_slice(&multibulk(&args));
            }
            expected.push(Ok(args));
        }
        prop_assert_eq!(&feed_requests(&input, &[]), &expected);
        prop_assert_eq!(&feed_requests(&input, &cuts), &expected);
    }

    #[test]
    fn resp3_round_trip(reply in arb_reply(), cuts in vec(any::<usize>(), 0..6)) {
        let bytes = enc(&reply, Protocol::Resp3);
        let expected = resp3_shape(&reply);
        prop_assert_eq!(rep(&bytes), Ok(Some(expected.clone())));
        // Fed in pieces: incomplete until the last byte, then the same reply.
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % bytes.len()).collect();
        cuts.sort_unstable();
        let mut buf = BytesMut::new();
        let mut fed = 0;
        for cut in cuts {
            buf.extend_from_slice(&bytes[fed..cut]);
            fed = cut;
            prop_assert_eq!(decode_reply(&mut buf), Ok(None));
        }
        buf.extend_from_slice(&bytes[fed..]);
        prop_assert_eq!(decode_reply(&mut buf), Ok(Some(expected)));
    }

    #[test]
    fn resp2_round_trip_downgrades(reply in arb_reply()) {
        let bytes = enc(&reply, Protocol::Resp2);
        prop_assert_eq!(rep(&bytes), Ok(Some(resp2_shape(&reply))));
    }

    #[test]
    fn double_round_trips(d in any::<f64>()) {
        let s = format_double(d);
        let back: f64 = s.parse().unwrap();
        if d.is_nan() {
            prop_assert_eq!(s, "nan");
        } else {
            prop_assert!(back == d && back.is_sign_negative() == d.is_sign_negative(), "{} -> {}", d, s);
        }
    }

    #[test]
    fn garbage_never_panics(bytes in vec(any::<u8>(), 0..200)) {
        let small = Limits { max_bulk_len: 16, max_multibulk_len: 8, max_inline_len: 32 };
        for limits in [Limits::default(), small] {
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = decode_request(&mut buf, &limits) {}
        }
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = decode_reply(&mut buf) {}
    }

    #[test]
    fn protocolish_garbage_never_panics(
        bytes in vec(proptest::sample::select(&b"*$+-:_,#%~=(>|!\r\n\"'\\ tx0123456789"[..]), 0..200),
    ) {
        let small = Limits { max_bulk_len: 16, max_multibulk_len: 8, max_inline_len: 32 };
        for limits in [Limits::default(), small] {
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = decode_request(&mut buf, &limits) {}
        }
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = decode_reply(&mut buf) {}
    }
}
