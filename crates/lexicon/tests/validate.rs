//! Data validation: each field type's edge cases and the reference's error wording.

use data::{Map, Value};
use lexicon::{
    validate_def, validate_input, validate_message, validate_output, validate_params,
    validate_record, validate_record_write, Catalog, RecordWriteError, ValidationError,
    ValidationMode, ValidationStatus,
};
use serde_json::{json, Value as Json};

const NSID: &str = "com.example.rec";

/// A catalog whose record `com.example.rec` has the given properties, plus helper defs.
fn catalog_with(properties: Json, required: Json, nullable: Json) -> Catalog {
    let main = json!({"lexicon": 1, "id": NSID, "defs": {
        "main": {"type": "record", "key": "tid", "record": {"type": "object",
            "required": required, "nullable": nullable, "properties": properties}},
        "obj": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}},
        "obj2": {"type": "object", "properties": {"s": {"type": "string"}}},
        "tok": {"type": "token"},
        "str": {"type": "string", "default": "x"}
    }});
    let other = json!({"lexicon": 1, "id": "com.example.other", "defs": {
        "main": {"type": "object", "properties": {"b": {"type": "boolean"}}},
        "rec": {"type": "object", "properties": {}}
    }});
    let record = json!({"lexicon": 1, "id": "com.example.rec2", "defs": {
        "main": {"type": "record", "key": "any", "record": {"type": "object", "required": ["k"],
            "properties": {"k": {"type": "integer"}}}}
    }});
    Catalog::from_json_values([&main, &other, &record]).unwrap()
}

/// A catalog whose record has one optional property `f` of the given schema.
fn catalog(schema: Json) -> Catalog {
    catalog_with(json!({ "f": schema }), json!([]), json!([]))
}

fn value(j: Json) -> Value {
    data::json::from_json(&j).unwrap()
}

/// A record of type `com.example.rec` with field `f` set to `f`.
fn rec(f: Value) -> Value {
    let mut map = Map::new();
    map.insert("$type".into(), NSID.into());
    map.insert("f".into(), f);
    Value::Map(map)
}

fn check(cat: &Catalog, f: Value) -> Result<(), String> {
    validate_record(cat, NSID, &rec(f)).map_err(|e| e.to_string())
}

fn ok(cat: &Catalog, f: Json) {
    let v = value(f.clone());
    if let Err(e) = check(cat, v) {
        panic!("rejected {f}: {e}");
    }
}

fn bad(cat: &Catalog, f: Json, message: &str) {
    let v = value(f.clone());
    assert_eq!(check(cat, v), Err(message.to_owned()), "value {f}");
}

fn link() -> Json {
    json!({"$link": "bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq"})
}

fn blob(mime: &str, size: i64) -> Json {
    json!({"$type": "blob", "ref": {"$link": "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"},
        "mimeType": mime, "size": size})
}

#[test]
fn null() {
    let c = catalog(json!({"type": "null"}));
    ok(&c, json!(null));
    bad(&c, json!(0), "Record/f must be null");
}

#[test]
fn boolean() {
    let c = catalog(json!({"type": "boolean"}));
    ok(&c, json!(true));
    ok(&c, json!(false));
    bad(&c, json!("true"), "Record/f must be a boolean");
    bad(&c, json!(1), "Record/f must be a boolean");
    bad(&c, json!(null), "Record/f must be a boolean");
    let c = catalog(json!({"type": "boolean", "const": true}));
    ok(&c, json!(true));
    bad(&c, json!(false), "Record/f must be true");
}

#[test]
fn integer() {
    let c = catalog(json!({"type": "integer"}));
    ok(&c, json!(0));
    ok(&c, json!(-9007199254740991_i64));
    ok(&c, json!(i64::MAX));
    ok(&c, json!(3.0)); // JSON's 3.0 is the integer 3
    bad(&c, json!("1"), "Record/f must be an integer");
    bad(&c, json!(true), "Record/f must be an integer");
    let c = catalog(json!({"type": "integer", "minimum": -2, "maximum": 5}));
    ok(&c, json!(-2));
    ok(&c, json!(5));
    bad(&c, json!(6), "Record/f can not be greater than 5");
    bad(&c, json!(-3), "Record/f can not be less than -2");
    let c = catalog(json!({"type": "integer", "enum": [1, 3], "maximum": 2}));
    ok(&c, json!(1));
    bad(&c, json!(2), "Record/f must be one of (1|3)");
    bad(&c, json!(3), "Record/f can not be greater than 2");
    let c = catalog(json!({"type": "integer", "const": 7}));
    bad(&c, json!(8), "Record/f must be 7");
}

#[test]
fn string_lengths_are_utf8_bytes() {
    let c = catalog(json!({"type": "string", "minLength": 2, "maxLength": 4}));
    ok(&c, json!("ab"));
    ok(&c, json!("é")); // two bytes, one char
    ok(&c, json!("éé"));
    bad(
        &c,
        json!("a"),
        "Record/f must not be shorter than 2 characters",
    );
    bad(
        &c,
        json!("ééa"),
        "Record/f must not be longer than 4 characters",
    );
    bad(
        &c,
        json!(""),
        "Record/f must not be shorter than 2 characters",
    );
    bad(&c, json!(2), "Record/f must be a string");
}

#[test]
fn string_graphemes() {
    let c = catalog(json!({"type": "string", "minGraphemes": 2, "maxGraphemes": 3}));
    ok(&c, json!("ab"));
    ok(&c, json!("👩‍👩‍👦‍👦🇩🇪🏳️‍🌈")); // 3 graphemes, many bytes
    ok(&c, json!("e\u{301}e\u{301}")); // combining accents: 2 graphemes
    bad(
        &c,
        json!("👩‍👩‍👦‍👦"),
        "Record/f must not be shorter than 2 graphemes",
    );
    bad(
        &c,
        json!("a"),
        "Record/f must not be shorter than 2 graphemes",
    );
    bad(
        &c,
        json!("abcd"),
        "Record/f must not be longer than 3 graphemes",
    );
    bad(
        &c,
        json!("🇩🇪🇩🇪🇩🇪🇩🇪"),
        "Record/f must not be longer than 3 graphemes",
    );
    // Byte limits are checked before grapheme limits, as in the reference.
    let c = catalog(json!({"type": "string", "maxLength": 8, "maxGraphemes": 1}));
    bad(
        &c,
        json!("🇩🇪🇩🇪🇩🇪"),
        "Record/f must not be longer than 8 characters",
    );
}

#[test]
fn string_enum_const_known_values() {
    let c = catalog(json!({"type": "string", "enum": ["a", "b"]}));
    ok(&c, json!("a"));
    bad(&c, json!("c"), "Record/f must be one of (a|b)");
    let c = catalog(json!({"type": "string", "const": "x"}));
    bad(&c, json!("y"), "Record/f must be x");
    let c = catalog(json!({"type": "string", "knownValues": ["a", "b"]}));
    ok(&c, json!("anything else")); // knownValues is not a closed set
}

#[test]
fn string_formats() {
    let cases = [
        (
            "datetime",
            "1985-04-12T23:20:50.123Z",
            "1985-04-12",
            "must be an valid atproto datetime (both RFC-3339 and ISO-8601)",
        ),
        ("uri", "https://example.com/a", "not a uri", "must be a uri"),
        (
            "at-uri",
            "at://did:plc:asdf123/app.bsky.feed.post/3k",
            "https://x.com",
            "must be a valid at-uri",
        ),
        ("did", "did:method:val", "did:", "must be a valid did"),
        (
            "handle",
            "alice.example.com",
            "alice",
            "must be a valid handle",
        ),
        (
            "at-identifier",
            "did:web:example.com",
            "@alice",
            "must be a valid did or a handle",
        ),
        (
            "at-identifier",
            "alice.example.com",
            "did:nope",
            "must be a valid did or a handle",
        ),
        (
            "nsid",
            "com.example.thing",
            "com.example",
            "must be a valid nsid",
        ),
        (
            "cid",
            "bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq",
            "bafy",
            "must be a cid string",
        ),
        (
            "language",
            "pt-BR",
            "123",
            "must be a well-formed BCP 47 language tag",
        ),
        (
            "tid",
            "3jzfcijpj2z2a",
            "3jzfcijpj2z2",
            "must be a valid TID (timestamp identifier)",
        ),
        ("record-key", "self", "..", "must be a valid Record Key"),
    ];
    for (format, good, wrong, reason) in cases {
        let c = catalog(json!({"type": "string", "format": format}));
        ok(&c, json!(good));
        bad(&c, json!(wrong), &format!("Record/f {reason}"));
    }
}

#[test]
fn bytes() {
    let c = catalog(json!({"type": "bytes", "minLength": 2, "maxLength": 3}));
    ok(&c, json!({"$bytes": "AQI"})); // 2 bytes
    ok(&c, json!({"$bytes": "AQID"})); // 3 bytes
    bad(
        &c,
        json!({"$bytes": "AQ"}),
        "Record/f must not be smaller than 2 bytes",
    );
    bad(
        &c,
        json!({"$bytes": "AQIDBA"}),
        "Record/f must not be larger than 3 bytes",
    );
    bad(&c, json!("AQID"), "Record/f must be a byte array");
    bad(&c, json!({}), "Record/f must be a byte array");
    bad(&c, link(), "Record/f must be a byte array");
}

#[test]
fn cid_link() {
    let c = catalog(json!({"type": "cid-link"}));
    ok(&c, link());
    bad(
        &c,
        json!("bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq"),
        "Record/f must be a CID",
    );
    bad(&c, json!({"$bytes": "AQID"}), "Record/f must be a CID");
}

#[test]
fn blobs() {
    let c = catalog(json!({"type": "blob"}));
    ok(&c, blob("image/png", 10));
    ok(&c, blob("image/png", 0));
    let msg = "Record/f should be a blob ref";
    bad(&c, json!("blob"), msg);
    bad(
        &c,
        json!({"cid": "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy", "mimeType": "image/png"}),
        msg,
    );
    let mut b = blob("image/png", 10);
    b["$type"] = json!("Blob");
    bad(&c, b, msg);
    let mut b = blob("image/png", 10);
    b["size"] = json!("10");
    bad(&c, b, msg);
    bad(&c, blob("image/png", -1), msg);
    let mut b = blob("image/png", 10);
    b["ref"] = json!("bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy");
    bad(&c, b, msg);
    let mut b = blob("image/png", 10);
    b.as_object_mut().unwrap().remove("mimeType");
    bad(&c, b, msg);

    let c = catalog(json!({"type": "blob", "accept": ["image/*", "video/mp4"], "maxSize": 100}));
    ok(&c, blob("image/webp", 100));
    ok(&c, blob("video/mp4", 1));
    bad(
        &c,
        blob("video/webm", 1),
        "Record/f has mimeType video/webm but must match image/*, video/mp4",
    );
    bad(
        &c,
        blob("image/png", 101),
        "Record/f is 101 bytes but must not be larger than 100 bytes",
    );
    let c = catalog(json!({"type": "blob", "accept": ["*/*"]}));
    ok(&c, blob("application/octet-stream", 1));
}

#[test]
fn arrays() {
    let c = catalog(
        json!({"type": "array", "items": {"type": "integer"}, "minLength": 1, "maxLength": 2}),
    );
    ok(&c, json!([1]));
    ok(&c, json!([1, 2]));
    bad(
        &c,
        json!([]),
        "Record/f must not have fewer than 1 elements",
    );
    bad(
        &c,
        json!([1, 2, 3]),
        "Record/f must not have more than 2 elements",
    );
    bad(&c, json!([1, "2"]), "Record/f/1 must be an integer");
    bad(&c, json!({"0": 1}), "Record/f must be an array");
    let c =
        catalog(json!({"type": "array", "items": {"type": "array", "items": {"type": "string"}}}));
    ok(&c, json!([["a"], []]));
    bad(&c, json!([["a"], [1]]), "Record/f/1/0 must be a string");
}

#[test]
fn objects_required_and_nullable() {
    let c = catalog_with(
        json!({"a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "integer"}}),
        json!(["a", "b"]),
        json!(["b", "c"]),
    );
    let check = |j: Json| validate_record(&c, NSID, &value(j)).map_err(|e| e.to_string());
    assert!(check(json!({"$type": NSID, "a": 1, "b": "x"})).is_ok());
    assert!(check(json!({"$type": NSID, "a": 1, "b": null, "c": null})).is_ok());
    assert!(check(json!({"$type": NSID, "a": 1, "b": "x", "extra": [1.0]})).is_ok());
    assert_eq!(
        check(json!({"$type": NSID, "b": "x"})),
        Err("Record must have the property \"a\"".into())
    );
    assert_eq!(
        check(json!({"$type": NSID, "a": null, "b": "x"})),
        Err("Record/a must be an integer".into())
    );
    assert_eq!(
        check(json!({"$type": NSID, "a": 1})),
        Err("Record must have the property \"b\"".into())
    );
    // The first failing property in document order is the one reported.
    assert_eq!(
        check(json!({"$type": NSID, "a": "1", "c": "3"})),
        Err("Record/a must be an integer".into())
    );
}

#[test]
fn required_with_default_may_be_missing() {
    let c = catalog_with(
        json!({"d": {"type": "integer", "default": 3}, "s": {"type": "ref", "ref": "#str"}}),
        json!(["d", "s"]),
        json!([]),
    );
    assert!(validate_record(&c, NSID, &value(json!({"$type": NSID}))).is_ok());
}

#[test]
fn nested_objects_and_refs() {
    let c = catalog(json!({"type": "object", "properties": {"o": {"type": "ref", "ref": "#obj"}}}));
    ok(&c, json!({}));
    ok(&c, json!({"o": {"n": 1}}));
    bad(
        &c,
        json!({"o": {}}),
        "Record/f/o must have the property \"n\"",
    );
    bad(
        &c,
        json!({"o": {"n": "1"}}),
        "Record/f/o/n must be an integer",
    );
    bad(&c, json!({"o": [1]}), "Record/f/o must be an object");
    bad(&c, json!(1), "Record/f must be an object");
    // A ref to another document's main definition, by bare NSID.
    let c = catalog(json!({"type": "ref", "ref": "com.example.other"}));
    ok(&c, json!({"b": true}));
    bad(&c, json!({"b": 1}), "Record/f/b must be a boolean");
    // A ref to a string definition validates the string rules.
    let c = catalog(json!({"type": "ref", "ref": "#str"}));
    ok(&c, json!("s"));
    bad(&c, json!(1), "Record/f must be a string");
}

#[test]
fn missing_and_unusable_refs() {
    let c = catalog(json!({"type": "ref", "ref": "com.example.nowhere#x"}));
    let err = validate_record(&c, NSID, &rec(Value::Int(1))).unwrap_err();
    assert_eq!(
        err,
        ValidationError::LexiconNotFound("com.example.nowhere#x".into())
    );
    assert_eq!(
        err.to_string(),
        "Lexicon not found: lex:com.example.nowhere#x"
    );
    // Absent optional fields never reach the missing schema.
    let empty = value(json!({"$type": NSID}));
    assert!(validate_record(&c, NSID, &empty).is_ok());
    let c = catalog(json!({"type": "ref", "ref": "#tok"}));
    assert_eq!(
        check(&c, Value::Int(1)),
        Err("Unexpected lexicon type: token".into())
    );
}

#[test]
fn unions() {
    let c = catalog(
        json!({"type": "union", "refs": ["#obj", "com.example.other", "com.example.rec2"]}),
    );
    ok(&c, json!({"$type": "com.example.rec#obj", "n": 1}));
    ok(&c, json!({"$type": "com.example.other", "b": true}));
    ok(&c, json!({"$type": "com.example.other#main", "b": true}));
    ok(&c, json!({"$type": "com.example.rec2", "k": 1}));
    // Open: unlisted types pass unvalidated, even ones the catalog knows.
    ok(&c, json!({"$type": "com.example.rec#obj2", "s": 1}));
    ok(&c, json!({"$type": "com.example.unknown", "x": 1}));
    bad(
        &c,
        json!({"$type": "com.example.rec#obj"}),
        "Record/f must have the property \"n\"",
    );
    bad(
        &c,
        json!({"$type": "com.example.other", "b": 1}),
        "Record/f/b must be a boolean",
    );
    bad(
        &c,
        json!({"$type": "com.example.rec2"}),
        "Record/f must have the property \"k\"",
    );
    let no_type = "Record/f must be an object which includes the \"$type\" property";
    bad(&c, json!({"n": 1}), no_type);
    bad(&c, json!({"$type": 1, "n": 1}), no_type);
    bad(&c, json!("com.example.rec#obj"), no_type);
    bad(
        &c,
        json!({"$type": "#obj"}),
        "Record/f $type \"#obj\" is not a valid type reference",
    );

    let c = catalog(
        json!({"type": "union", "refs": ["#obj", "com.example.other#main"], "closed": true}),
    );
    ok(&c, json!({"$type": "com.example.rec#obj", "n": 1}));
    ok(&c, json!({"$type": "com.example.other", "b": true}));
    bad(
        &c,
        json!({"$type": "com.example.rec#obj2"}),
        "Record/f $type must be one of lex:com.example.rec#obj, lex:com.example.other#main",
    );
    // Listed but missing from the catalog.
    let c = catalog(json!({"type": "union", "refs": ["com.example.gone"]}));
    let err = check(&c, value(json!({"$type": "com.example.gone"}))).unwrap_err();
    assert_eq!(err, "Lexicon not found: lex:com.example.gone");
}

#[test]
fn unknown() {
    let c = catalog(json!({"type": "unknown"}));
    ok(&c, json!({}));
    ok(
        &c,
        json!({"$type": "com.example.whatever", "x": [1, {"y": null}]}),
    );
    let msg = "Record/f must be an object";
    bad(&c, json!(false), msg);
    bad(&c, json!("s"), msg);
    bad(&c, json!([{}]), msg);
    bad(&c, json!(null), msg);
    bad(&c, json!({"$bytes": "AQID"}), msg);
    bad(&c, link(), msg);
    bad(&c, blob("image/png", 1), msg);
}

#[test]
fn record_level_checks() {
    let c = catalog(json!({"type": "integer"}));
    let err = |j: Json| {
        validate_record(&c, NSID, &value(j))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(err(json!([1])), "Record must be an object");
    assert_eq!(err(json!({"f": 1})), "Record/$type must be a string");
    assert_eq!(err(json!({"$type": 1})), "Record/$type must be a string");
    assert_eq!(
        err(json!({"$type": "com.example.other"})),
        "Invalid $type: must be lex:com.example.rec, got com.example.other"
    );
    assert_eq!(
        err(json!({"$type": "com.example.rec#main"})),
        "Invalid $type: must be lex:com.example.rec, got com.example.rec#main"
    );
    assert!(validate_record(&c, NSID, &value(json!({"$type": "lex:com.example.rec"}))).is_ok());
    let other = value(json!({"$type": "com.example.other"}));
    assert_eq!(
        validate_record(&c, "com.example.other", &other)
            .unwrap_err()
            .to_string(),
        "Not a record lexicon: lex:com.example.other"
    );
    let missing = value(json!({"$type": "com.example.none"}));
    assert_eq!(
        validate_record(&c, "com.example.none", &missing).unwrap_err(),
        ValidationError::LexiconNotFound("com.example.none".into())
    );
}

#[test]
fn record_write_modes() {
    let c = catalog(json!({"type": "integer"}));
    let good = value(json!({"$type": NSID, "f": 1, "createdAt": "2024-01-01T00:00:00Z"}));
    let wrong = value(json!({"$type": NSID, "f": "1"}));
    let unknown = value(json!({"$type": "com.example.none", "x": 1.0}));
    use ValidationMode::*;
    assert_eq!(ValidationMode::from_flag(Some(true)), Required);
    assert_eq!(ValidationMode::from_flag(Some(false)), Skip);
    assert_eq!(ValidationMode::from_flag(None), Optimistic);
    assert_eq!(ValidationMode::default(), Optimistic);

    assert_eq!(
        validate_record_write(&c, NSID, &good, Required),
        Ok(Some(ValidationStatus::Valid))
    );
    assert_eq!(
        validate_record_write(&c, NSID, &good, Optimistic),
        Ok(Some(ValidationStatus::Valid))
    );
    assert_eq!(validate_record_write(&c, NSID, &wrong, Skip), Ok(None));
    for mode in [Required, Optimistic] {
        let e = validate_record_write(&c, NSID, &wrong, mode).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid com.example.rec record: Record/f must be an integer"
        );
    }
    assert_eq!(
        validate_record_write(&c, "com.example.none", &unknown, Optimistic),
        Ok(Some(ValidationStatus::Unknown))
    );
    assert_eq!(
        validate_record_write(&c, "com.example.none", &unknown, Skip),
        Ok(None)
    );
    let e = validate_record_write(&c, "com.example.none", &unknown, Required).unwrap_err();
    assert_eq!(e.to_string(), "Lexicon not found: lex:com.example.none");
    assert_eq!(ValidationStatus::Valid.as_str(), "valid");
    assert_eq!(ValidationStatus::Unknown.as_str(), "unknown");

    let e = validate_record_write(&c, "com.example.other", &good, Optimistic).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Invalid $type: expected com.example.other, got com.example.rec"
    );
    let untyped = value(json!({"f": 1}));
    assert_eq!(
        validate_record_write(&c, NSID, &untyped, Optimistic),
        Err(RecordWriteError::NoType)
    );
    assert_eq!(RecordWriteError::NoType.to_string(), "No $type provided");
    let bad_date = value(json!({"$type": NSID, "createdAt": "2024-01-01"}));
    assert_eq!(
        validate_record_write(&c, NSID, &bad_date, Optimistic).unwrap_err().to_string(),
        "Invalid com.example.rec record: createdAt must be an valid atproto datetime (both RFC-3339 and ISO-8601)"
    );
}

fn xrpc_catalog() -> Catalog {
    let q = json!({"lexicon": 1, "id": "com.example.query", "defs": {"main": {"type": "query",
        "parameters": {"type": "params", "required": ["actor"], "properties": {
            "actor": {"type": "string", "format": "at-identifier"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
            "tags": {"type": "array", "items": {"type": "string"}, "maxLength": 2}}},
        "output": {"encoding": "application/json", "schema": {"type": "object", "required": ["n"],
            "properties": {"n": {"type": "integer"}}}}}}});
    let p = json!({"lexicon": 1, "id": "com.example.proc", "defs": {
        "main": {"type": "procedure",
            "input": {"encoding": "application/json", "schema": {"type": "ref", "ref": "#in"}},
            "output": {"encoding": "application/json"}},
        "in": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}});
    let s = json!({"lexicon": 1, "id": "com.example.sub", "defs": {
        "main": {"type": "subscription", "message": {"schema": {"type": "union", "refs": ["#a"]}}},
        "a": {"type": "object", "required": ["seq"], "properties": {"seq": {"type": "integer"}}}}});
    Catalog::from_json_values([&q, &p, &s]).unwrap()
}

fn map(j: Json) -> Map {
    match value(j) {
        Value::Map(m) => m,
        _ => unreachable!(),
    }
}

#[test]
fn xrpc_params() {
    let c = xrpc_catalog();
    let q = "com.example.query";
    let e = |j: Json| validate_params(&c, q, &map(j)).map_err(|e| e.to_string());
    assert_eq!(e(json!({"actor": "alice.example.com"})), Ok(()));
    assert_eq!(
        e(json!({"actor": "did:plc:abc", "limit": 5, "tags": ["a", "b"]})),
        Ok(())
    );
    assert_eq!(
        e(json!({})),
        Err("Params must have the property \"actor\"".into())
    );
    assert_eq!(
        e(json!({"actor": "@x"})),
        Err("actor must be a valid did or a handle".into())
    );
    assert_eq!(
        e(json!({"actor": "a.com", "limit": 0})),
        Err("limit can not be less than 1".into())
    );
    assert_eq!(
        e(json!({"actor": "a.com", "limit": "5"})),
        Err("limit must be an integer".into())
    );
    assert_eq!(
        e(json!({"actor": "a.com", "tags": ["a", "b", "c"]})),
        Err("tags must not have more than 2 elements".into())
    );
    assert!(validate_params(&c, "com.example.proc", &Map::new()).is_ok());
    assert_eq!(
        validate_params(&c, "com.example.query#nope", &Map::new())
            .unwrap_err()
            .to_string(),
        "Lexicon not found: lex:com.example.query#nope"
    );
}

#[test]
fn xrpc_bodies() {
    let c = xrpc_catalog();
    let p = "com.example.proc";
    assert!(validate_input(&c, p, &value(json!({"text": "hi"}))).is_ok());
    assert_eq!(
        validate_input(&c, p, &value(json!({})))
            .unwrap_err()
            .to_string(),
        "Input must have the property \"text\""
    );
    assert_eq!(
        validate_input(&c, p, &value(json!([])))
            .unwrap_err()
            .to_string(),
        "Input must be an object"
    );
    assert_eq!(
        validate_input(&c, "com.example.query", &value(json!({})))
            .unwrap_err()
            .to_string(),
        "Not a procedure lexicon: lex:com.example.query"
    );
    // No output schema: anything goes.
    assert!(validate_output(&c, p, &value(json!([1]))).is_ok());
    assert!(validate_output(&c, "com.example.query", &value(json!({"n": 1}))).is_ok());
    assert_eq!(
        validate_output(&c, "com.example.query", &value(json!({"n": "1"})))
            .unwrap_err()
            .to_string(),
        "Output/n must be an integer"
    );
    let s = "com.example.sub";
    assert!(validate_message(
        &c,
        s,
        &value(json!({"$type": "com.example.sub#a", "seq": 1}))
    )
    .is_ok());
    assert_eq!(
        validate_message(&c, s, &value(json!({"$type": "com.example.sub#a"})))
            .unwrap_err()
            .to_string(),
        "Message must have the property \"seq\""
    );
    assert_eq!(
        validate_message(&c, s, &value(json!({"seq": 1})))
            .unwrap_err()
            .to_string(),
        "Message must be an object which includes the \"$type\" property"
    );
    assert!(validate_def(&c, "com.example.sub#a", &value(json!({"seq": 1})), "Object").is_ok());
    assert_eq!(
        validate_def(&c, "com.example.sub#a", &value(json!({})), "Object")
            .unwrap_err()
            .to_string(),
        "Object must have the property \"seq\""
    );
}

/// Real records against the pinned upstream lexicons (skipped when they are absent).
#[test]
fn bluesky_posts() {
    let Some(dir) = testdata::vectors("lexicons") else {
        return;
    };
    let c = Catalog::load_dir(&dir).unwrap();
    let post = "app.bsky.feed.post";
    let good = json!({
        "$type": post,
        "text": "hello @alice.example.com",
        "createdAt": "2026-11-25T12:00:00.000Z",
        "langs": ["en"],
        "facets": [{"index": {"byteStart": 6, "byteEnd": 24}, "features": [
            {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz"}]}],
        "embed": {"$type": "app.bsky.embed.images", "images": [
            {"alt": "a cat", "image": blob("image/jpeg", 1000),
             "aspectRatio": {"width": 4, "height": 3}}]}
    });
    assert_eq!(validate_record(&c, post, &value(good.clone())), Ok(()));
    let mut bad = good.clone();
    bad["text"] = json!(1);
    assert_eq!(
        validate_record_write(&c, post, &value(bad), ValidationMode::Required)
            .unwrap_err()
            .to_string(),
        "Invalid app.bsky.feed.post record: Record/text must be a string"
    );
    let mut bad = good.clone();
    bad["embed"]["images"][0]["alt"] = json!(null);
    assert_eq!(
        validate_record(&c, post, &value(bad))
            .unwrap_err()
            .to_string(),
        "Record/embed/images/0/alt must be a string"
    );
    let mut bad = good.clone();
    bad["embed"]["images"][0]["image"] = blob("text/plain", 10);
    assert_eq!(
        validate_record(&c, post, &value(bad))
            .unwrap_err()
            .to_string(),
        "Record/embed/images/0/image has mimeType text/plain but must match image/*"
    );
    let mut bad = good.clone();
    bad["text"] = json!("x".repeat(301));
    assert_eq!(
        validate_record(&c, post, &value(bad))
            .unwrap_err()
            .to_string(),
        "Record/text must not be longer than 300 graphemes"
    );
    let mut bad = good;
    bad.as_object_mut().unwrap().remove("createdAt");
    assert_eq!(
        validate_record(&c, post, &value(bad))
            .unwrap_err()
            .to_string(),
        "Record must have the property \"createdAt\""
    );
}

/// Errors follow the order the document lists properties in, when the catalog was given text.
#[test]
fn first_error_in_document_order() {
    let mut c = Catalog::new();
    c.add_str(
        r#"{"lexicon": 1, "id": "com.example.ordered", "defs": {"main": {"type": "record",
            "key": "tid", "record": {"type": "object", "properties": {
                "zeta": {"type": "integer"}, "alpha": {"type": "integer"}}}}}}"#,
    )
    .unwrap();
    let v = value(json!({"$type": "com.example.ordered", "alpha": "a", "zeta": "z"}));
    assert_eq!(
        validate_record(&c, "com.example.ordered", &v)
            .unwrap_err()
            .to_string(),
        "Record/zeta must be an integer"
    );
    assert!(c.add_str("{").is_err());
}
