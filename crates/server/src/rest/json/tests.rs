//! Tests of the JSON body parser and the Upstash JSON encoder.

use bytes::Bytes;
use larder_resp::Reply;
use proptest::prelude::*;

use super::*;

fn argv(v: &[&str]) -> Vec<Bytes> {
    v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
}

#[test]
fn numbers_and_booleans_keep_their_text() {
    let got = parse_command(
        br#"["SET","k",2.0,1e+21,123456789012345678901234567890,-5,true,false,1E-7]"#,
    )
    .unwrap();
    assert_eq!(
        got,
        argv(&[
            "SET",
            "k",
            "2.0",
            "1e+21",
            "123456789012345678901234567890",
            "-5",
            "true",
            "false",
            "1E-7"
        ])
    );
}

#[test]
fn strings_with_escapes_and_surrogates() {
    let got = parse_command(br#"["SET","a\"b\\c\n\u00e9\ud83d\ude00","\ud800x"]"#).unwrap();
    assert_eq!(got, argv(&["SET", "a\"b\\c\né😀", "\u{FFFD}x"]));
}

#[test]
fn bad_bodies() {
    assert_eq!(parse_command(b"[]"), Err(BodyError::Empty));
    assert_eq!(parse_command(b"{}"), Err(BodyError::NotCommand));
    assert_eq!(parse_command(br#"["SET","k",null]"#), Err(BodyError::BadArgument("null")));
    assert_eq!(parse_command(br#"["SET","k",{"a":1}]"#), Err(BodyError::BadArgument("an object")));
    assert_eq!(parse_command(br#"["SET","k",["x"]]"#), Err(BodyError::BadArgument("an array")));
    assert!(matches!(parse_command(br#"["SET","k""#), Err(BodyError::Json(_))));
    assert!(matches!(parse_command(br#"["SET" "k"]"#), Err(BodyError::Json(_))));
    assert!(matches!(parse_command(br#"["SET",01]"#), Err(BodyError::Json(_))));
    assert!(matches!(parse_command(br#"["SET"] x"#), Err(BodyError::Json(_))));
    assert_eq!(parse_batch(br#"["SET"]"#), Err(BodyError::NotBatch));
    assert_eq!(parse_batch(b"[]").unwrap(), Vec::<Vec<Bytes>>::new());
    assert_eq!(
        parse_batch(br#" [ ["PING"] , ["GET","a"] ] "#).unwrap(),
        vec![argv(&["PING"]), argv(&["GET", "a"])]
    );
}

fn json(r: &Reply, enc: Encoding) -> String {
    let mut out = Vec::new();
    write_envelope(r, enc, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn envelopes() {
    use Encoding::*;
    assert_eq!(json(&Reply::OK, Base64), r#"{"result":"OK"}"#);
    assert_eq!(json(&Reply::simple("PONG"), Base64), r#"{"result":"UE9ORw=="}"#);
    assert_eq!(json(&Reply::simple("PONG"), Plain), r#"{"result":"PONG"}"#);
    assert_eq!(json(&Reply::Nil, Base64), r#"{"result":null}"#);
    assert_eq!(json(&Reply::Int(-3), Base64), r#"{"result":-3}"#);
    assert_eq!(json(&Reply::Double(1.5), Plain), r#"{"result":"1.5"}"#);
    assert_eq!(
        json(&Reply::Array(vec![Reply::OK, Reply::bulk("a"), Reply::Nil]), Base64),
        r#"{"result":["T0s=","YQ==",null]}"#
    );
    assert_eq!(
        json(&Reply::Map(vec![(Reply::bulk("k"), Reply::Int(1))]), Plain),
        r#"{"result":["k",1]}"#
    );
    assert_eq!(json(&Reply::Error("ERR x".into()), Base64), r#"{"error":"ERR x"}"#);
    assert_eq!(
        json(&Reply::bulk(b"\xff\"\n\x01"), Plain),
        "{\"result\":\"\u{FFFD}\\\"\\n\\u0001\"}"
    );
}

proptest! {
    #[test]
    fn string_arguments_round_trip(args in proptest::collection::vec(".*", 1..6)) {
        let body = serde_json::to_vec(&args).unwrap();
        let got = parse_command(&body).unwrap();
        prop_assert_eq!(got, args.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect::<Vec<_>>());
    }

    #[test]
    fn encoded_strings_are_valid_json(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut out = Vec::new();
        write_envelope(&Reply::Bulk(Bytes::from(b.clone())), Encoding::Plain, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        prop_assert_eq!(v["result"].as_str().unwrap(), String::from_utf8_lossy(&b));
        let mut out = Vec::new();
        write_envelope(&Reply::Bulk(Bytes::from(b.clone())), Encoding::Base64, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let decoded = base64::engine::general_purpose::STANDARD.decode(v["result"].as_str().unwrap()).unwrap();
        prop_assert_eq!(decoded, b);
    }

    #[test]
    fn garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_command(&b);
        let _ = parse_batch(&b);
    }
}
