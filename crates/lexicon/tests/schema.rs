//! Schema-level rules: which Lexicon documents parse and which are refused, and the pinned
//! upstream lexicons (`shared/lexicons`) all load into one closed catalog.

use lexicon::{Catalog, Def, LexiconDoc, RecordKeyType, SchemaError};
use serde_json::{json, Value as Json};

/// A document with the given `defs`.
fn doc(defs: Json) -> Json {
    json!({"lexicon": 1, "id": "com.example.test", "defs": defs})
}

/// A document whose `main` is a record with the given object schema.
fn record(object: Json) -> Json {
    doc(json!({"main": {"type": "record", "key": "tid", "record": object}}))
}

/// A record document with one property `f` of the given schema.
fn field(schema: Json) -> Json {
    record(json!({"type": "object", "properties": {"f": schema}}))
}

fn ok(json: Json) -> LexiconDoc {
    LexiconDoc::from_json(&json).unwrap_or_else(|e| panic!("rejected {json}: {e}"))
}

fn bad(json: Json) -> SchemaError {
    match LexiconDoc::from_json(&json) {
        Ok(_) => panic!("accepted {json}"),
        Err(e) => e,
    }
}

#[test]
fn document_fields() {
    ok(doc(json!({"demo": {"type": "integer"}})));
    ok(
        json!({"lexicon": 1, "id": "com.example.test", "revision": 3, "description": "d",
              "defs": {"demo": {"type": "token"}}}),
    );
    bad(json!({"lexicon": 2, "id": "com.example.test", "defs": {"demo": {"type": "integer"}}}));
    bad(json!({"lexicon": "1", "id": "com.example.test", "defs": {"demo": {"type": "integer"}}}));
    bad(json!({"id": "com.example.test", "defs": {"demo": {"type": "integer"}}}));
    bad(json!({"lexicon": 1, "id": "com.example", "defs": {"demo": {"type": "integer"}}}));
    bad(json!({"lexicon": 1, "defs": {"demo": {"type": "integer"}}}));
    bad(json!({"lexicon": 1, "id": "com.example.test"}));
    bad(doc(json!({})));
    bad(doc(json!({"": {"type": "integer"}})));
    bad(doc(json!({"a#b": {"type": "integer"}})));
    bad(doc(json!({"demo": {"type": "integer", "minimum": 1.5}})));
    bad(doc(json!({"demo": {"type": "nonsense"}})));
    bad(doc(json!({"demo": {"description": "no type"}})));
    bad(doc(json!({"demo": "integer"})));
}

#[test]
fn primary_types_only_in_main() {
    let rec =
        json!({"type": "record", "key": "any", "record": {"type": "object", "properties": {}}});
    ok(doc(json!({"main": rec})));
    ok(doc(
        json!({"main": {"type": "query"}, "other": {"type": "object", "properties": {}}}),
    ));
    for primary in [
        rec.clone(),
        json!({"type": "query"}),
        json!({"type": "procedure"}),
        json!({"type": "subscription"}),
        json!({"type": "permission-set", "permissions": []}),
    ] {
        let err = bad(doc(json!({"demo": primary})));
        assert!(err.to_string().contains("must be named main"), "{err}");
    }
    // `main` may be a non-primary type.
    ok(doc(json!({"main": {"type": "string"}})));
}

#[test]
fn types_not_allowed_as_named_definitions() {
    for def in [
        json!({"type": "unknown"}),
        json!({"type": "ref", "ref": "com.example.other"}),
        json!({"type": "union", "refs": []}),
        json!({"type": "params", "properties": {}}),
        json!({"type": "permission", "resource": "repo", "collection": ["com.example.a"]}),
    ] {
        bad(doc(json!({"demo": def})));
    }
    for def in [
        json!({"type": "null"}),
        json!({"type": "boolean"}),
        json!({"type": "integer"}),
        json!({"type": "string"}),
        json!({"type": "bytes"}),
        json!({"type": "cid-link"}),
        json!({"type": "blob"}),
        json!({"type": "array", "items": {"type": "integer"}}),
        json!({"type": "object", "properties": {}}),
        json!({"type": "token"}),
    ] {
        ok(doc(json!({"demo": def})));
    }
}

#[test]
fn field_types_allowed_in_objects() {
    for schema in [
        json!({"type": "null"}),
        json!({"type": "ref", "ref": "#other"}),
        json!({"type": "union", "refs": ["#other", "com.example.x#y", "com.example.z"]}),
        json!({"type": "unknown"}),
        json!({"type": "object", "properties": {"a": {"type": "integer"}}}),
        json!({"type": "array", "items": {"type": "array", "items": {"type": "string"}}}),
    ] {
        ok(field(schema));
    }
    for schema in [
        json!({"type": "token"}),
        json!({"type": "params", "properties": {}}),
        json!({"type": "query"}),
        json!({"type": "record", "key": "tid", "record": {"type": "object", "properties": {}}}),
        json!({"type": "array", "items": {"type": "token"}}),
    ] {
        bad(field(schema));
    }
}

#[test]
fn record_schema() {
    let r = ok(record(json!({"type": "object", "properties": {}})));
    let Some(Def::Record(def)) = r.main() else {
        panic!()
    };
    assert_eq!(def.key, RecordKeyType::Tid);
    for (key, parsed) in [
        ("nsid", RecordKeyType::Nsid),
        ("any", RecordKeyType::Any),
        ("literal:self", RecordKeyType::Literal("self".into())),
    ] {
        let d = ok(doc(json!({"main": {"type": "record", "key": key,
            "record": {"type": "object", "properties": {}}}})));
        let Some(Def::Record(def)) = d.main() else {
            panic!()
        };
        assert_eq!(def.key, parsed);
        assert_eq!(def.key.to_string(), key);
    }
    for key in [
        json!("literal:"),
        json!("literal:.."),
        json!("TID"),
        json!("self"),
        json!(1),
    ] {
        bad(doc(json!({"main": {"type": "record", "key": key,
            "record": {"type": "object", "properties": {}}}})));
    }
    // The record schema must be an object; `properties` may be left out.
    bad(doc(json!({"main": {"type": "record", "key": "tid"}})));
    bad(doc(
        json!({"main": {"type": "record", "record": {"type": "object"}}}),
    ));
    bad(record(json!({"properties": {}})));
    bad(record(json!({"type": "string"})));
    ok(record(json!({"type": "object"})));
}

#[test]
fn record_key_types_check_keys() {
    assert!(RecordKeyType::Tid.check("3jzfcijpj2z2a").is_ok());
    assert!(RecordKeyType::Tid.check("self").is_err());
    assert!(RecordKeyType::Nsid.check("com.example.record").is_ok());
    assert!(RecordKeyType::Nsid.check("self").is_err());
    assert!(RecordKeyType::Any.check("self").is_ok());
    assert!(RecordKeyType::Any.check("..").is_err());
    assert!(RecordKeyType::Literal("self".into()).check("self").is_ok());
    assert!(RecordKeyType::Literal("self".into())
        .check("other")
        .is_err());
}

#[test]
fn required_and_nullable_must_be_defined() {
    ok(record(
        json!({"type": "object", "required": ["a"], "nullable": ["a"],
        "properties": {"a": {"type": "integer"}}}),
    ));
    let err = bad(record(json!({"type": "object", "required": ["b"],
        "properties": {"a": {"type": "integer"}}})));
    assert_eq!(
        err.to_string(),
        "invalid lexicon at defs/main/record/required: required field \"b\" is not defined in properties"
    );
    bad(record(
        json!({"type": "object", "nullable": ["b"], "properties": {"a": {"type": "integer"}}}),
    ));
    bad(record(
        json!({"type": "object", "required": "a", "properties": {"a": {"type": "integer"}}}),
    ));
    bad(doc(
        json!({"main": {"type": "query", "parameters": {"type": "params", "required": ["x"],
        "properties": {}}}}),
    ));
}

#[test]
fn default_and_const() {
    ok(field(
        json!({"type": "integer", "default": 3, "minimum": 1, "maximum": 5}),
    ));
    ok(field(
        json!({"type": "integer", "const": 4, "enum": [4, 9]}),
    ));
    ok(field(
        json!({"type": "string", "default": "a", "enum": ["a", "b"]}),
    ));
    ok(field(json!({"type": "boolean", "const": true})));
    bad(field(json!({"type": "integer", "default": 3, "const": 3})));
    bad(field(
        json!({"type": "string", "default": "a", "const": "a"}),
    ));
    bad(field(
        json!({"type": "boolean", "default": true, "const": true}),
    ));
    // Types must match the field's type.
    bad(field(json!({"type": "integer", "default": "3"})));
    bad(field(json!({"type": "integer", "const": 1.5})));
    bad(field(json!({"type": "string", "default": 3})));
    bad(field(json!({"type": "string", "const": false})));
    bad(field(json!({"type": "boolean", "default": "true"})));
    bad(field(json!({"type": "integer", "enum": ["a"]})));
    bad(field(json!({"type": "string", "knownValues": [1]})));
    // And fit the other constraints.
    bad(field(
        json!({"type": "integer", "default": 9, "maximum": 5}),
    ));
    bad(field(json!({"type": "integer", "const": 0, "minimum": 1})));
    bad(field(
        json!({"type": "integer", "const": 5, "enum": [4, 9]}),
    ));
    bad(field(
        json!({"type": "string", "default": "c", "enum": ["a", "b"]}),
    ));
}

#[test]
fn limits() {
    ok(field(
        json!({"type": "string", "minLength": 0, "maxLength": 0}),
    ));
    bad(field(
        json!({"type": "string", "minLength": 2, "maxLength": 1}),
    ));
    bad(field(
        json!({"type": "string", "minGraphemes": 2, "maxGraphemes": 1}),
    ));
    bad(field(json!({"type": "string", "maxLength": -1})));
    bad(field(
        json!({"type": "bytes", "minLength": 2, "maxLength": 1}),
    ));
    bad(field(
        json!({"type": "array", "items": {"type": "integer"}, "minLength": 2, "maxLength": 1}),
    ));
    bad(field(json!({"type": "array"})));
    bad(field(
        json!({"type": "integer", "minimum": 2, "maximum": 1}),
    ));
    bad(field(json!({"type": "blob", "maxSize": -1})));
    bad(field(json!({"type": "string", "format": "email"})));
    for format in [
        "at-identifier",
        "at-uri",
        "cid",
        "datetime",
        "did",
        "handle",
        "nsid",
        "tid",
        "record-key",
        "uri",
        "language",
    ] {
        ok(field(json!({"type": "string", "format": format})));
    }
}

#[test]
fn blob_accept_patterns() {
    ok(field(
        json!({"type": "blob", "accept": ["image/*", "video/mp4", "*/*"], "maxSize": 1000}),
    ));
    for pattern in ["*", "image", "*/png", "text/ht*", "image/png/x", ""] {
        bad(field(json!({"type": "blob", "accept": [pattern]})));
    }
}

#[test]
fn references() {
    ok(field(
        json!({"type": "ref", "ref": "lex:com.example.other#thing"}),
    ));
    for r in [
        "",
        "#",
        "com.example",
        "com.example.other#",
        "com.example.other#a#b",
        "#a.b",
        "lex:#x",
    ] {
        bad(field(json!({"type": "ref", "ref": r})));
        bad(field(json!({"type": "union", "refs": [r]})));
    }
    ok(field(json!({"type": "union", "refs": []})));
    bad(field(json!({"type": "union", "refs": [], "closed": true})));
    bad(field(
        json!({"type": "union", "refs": ["#a"], "closed": "yes"}),
    ));
}

#[test]
fn xrpc_definitions() {
    ok(doc(json!({"main": {"type": "query",
        "parameters": {"type": "params", "required": ["a"], "properties": {
            "a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "boolean"},
            "d": {"type": "unknown"}, "e": {"type": "array", "items": {"type": "string"}}}},
        "output": {"encoding": "application/json", "schema": {"type": "ref", "ref": "#out"}},
        "errors": [{"name": "NotFound"}]},
        "out": {"type": "object", "properties": {}}})));
    // params hold only scalars or arrays of scalars
    for p in [
        json!({"type": "object", "properties": {}}),
        json!({"type": "bytes"}),
        json!({"type": "ref", "ref": "#x"}),
        json!({"type": "array", "items": {"type": "object", "properties": {}}}),
    ] {
        bad(doc(json!({"main": {"type": "query",
            "parameters": {"type": "params", "properties": {"p": p}}}})));
    }
    bad(doc(
        json!({"main": {"type": "query", "parameters": {"type": "object", "properties": {}}}}),
    ));
    // bodies: object, ref or union, and an encoding
    ok(doc(
        json!({"main": {"type": "procedure", "input": {"encoding": "*/*"}}}),
    ));
    bad(doc(
        json!({"main": {"type": "procedure", "input": {"schema": {"type": "object", "properties": {}}}}}),
    ));
    bad(doc(
        json!({"main": {"type": "procedure", "input": {"encoding": "application/json",
        "schema": {"type": "string"}}}}),
    ));
    bad(doc(
        json!({"main": {"type": "query", "errors": [{"name": "Two words"}]}}),
    ));
    bad(doc(
        json!({"main": {"type": "query", "errors": [{"description": "no name"}]}}),
    ));
    // subscription messages are unions
    ok(doc(
        json!({"main": {"type": "subscription", "message": {"schema": {"type": "union", "refs": ["#a"]}}},
        "a": {"type": "object", "properties": {}}}),
    ));
    bad(doc(
        json!({"main": {"type": "subscription", "message": {"schema": {"type": "object", "properties": {}}}}}),
    ));
}

#[test]
fn permission_sets() {
    let set = |permissions: Json| {
        doc(json!({"main": {"type": "permission-set", "title": "t",
        "title:lang": {"fr": "t"}, "permissions": permissions}}))
    };
    ok(set(json!([
        {"type": "permission", "resource": "repo", "collection": ["com.example.a"], "action": ["create"]},
        {"type": "permission", "resource": "rpc", "lxm": ["com.example.q"], "aud": "*"},
        {"type": "permission", "resource": "rpc", "lxm": ["*"], "inheritAud": true},
        {"type": "permission", "resource": "blob", "accept": "image/*"},
        {"type": "permission", "resource": "account", "attr": "email", "action": "manage"}
    ])));
    for p in [
        json!({"type": "permission", "resource": "repo", "collection": []}),
        json!({"type": "permission", "resource": "repo"}),
        json!({"type": "permission", "resource": "repo", "collection": ["*"]}),
        json!({"type": "permission", "resource": "repo", "collection": ["com.example.a", "com.example.a"]}),
        json!({"type": "permission", "resource": "repo", "collection": ["com.example.a"], "action": ["read"]}),
        json!({"type": "permission", "resource": "rpc", "lxm": ["com.example.q"]}),
        json!({"type": "permission", "resource": "rpc", "lxm": [], "aud": "*"}),
        json!({"type": "permission", "resource": "rpc", "lxm": ["*"], "aud": "*"}),
        json!({"type": "permission", "resource": "rpc", "lxm": ["com.example.q"], "aud": "did:web:x.com#svc"}),
        json!({"type": "permission", "resource": "rpc", "lxm": ["com.example.q"], "inheritAud": "yes"}),
        json!({"type": "permission"}),
        json!({"type": "object", "properties": {}}),
    ] {
        bad(set(json!([p])));
    }
    bad(doc(
        json!({"main": {"type": "permission-set", "title:lang": {"not a language!": "x"},
        "permissions": []}}),
    ));
    bad(doc(json!({"main": {"type": "permission-set"}})));
}

#[test]
fn catalog_resolves_and_refuses_duplicates() {
    let mut catalog = Catalog::new();
    catalog
        .add_json(&doc(json!({"main": {"type": "object", "properties": {
            "a": {"type": "ref", "ref": "#other"},
            "b": {"type": "union", "refs": ["#other", "lex:com.example.test#other", "com.example.missing"]}}},
            "other": {"type": "object", "properties": {}}})))
        .unwrap();
    assert!(catalog.contains("com.example.test"));
    assert!(matches!(
        catalog.def("com.example.test"),
        Some(Def::Object(_))
    ));
    assert!(matches!(
        catalog.def("com.example.test#main"),
        Some(Def::Object(_))
    ));
    assert!(matches!(
        catalog.def("lex:com.example.test#other"),
        Some(Def::Object(_))
    ));
    assert!(catalog.def("com.example.test#nope").is_none());
    let Some(Def::Object(main)) = catalog.def("com.example.test") else {
        panic!()
    };
    let Some(Def::Ref(r)) = main.properties.get("a") else {
        panic!()
    };
    assert_eq!(r.reference, "com.example.test#other");
    let Some(Def::Union(u)) = main.properties.get("b") else {
        panic!()
    };
    assert_eq!(
        u.refs,
        [
            "com.example.test#other",
            "com.example.test#other",
            "com.example.missing"
        ]
    );
    assert_eq!(
        catalog.broken_refs(),
        ["com.example.test#main/properties/b: com.example.missing not found"]
    );
    let dup = catalog
        .add_json(&doc(json!({"x": {"type": "token"}})))
        .unwrap_err();
    assert_eq!(
        dup.to_string(),
        "lexicon com.example.test is already in the catalog"
    );
    assert_eq!(catalog.len(), 1);
}

#[test]
fn text_parsing_keeps_property_order() {
    let text = r#"{"lexicon": 1, "id": "com.example.test", "defs": {"main": {"type": "object",
        "properties": {"zeta": {"type": "integer"}, "alpha": {"type": "integer"}}}}}"#;
    let d: LexiconDoc = text.parse().unwrap();
    let Some(Def::Object(o)) = d.main() else {
        panic!()
    };
    let names: Vec<&str> = o.properties.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha"]);
    let dup = r#"{"lexicon": 1, "id": "com.example.test", "defs": {"main": {"type": "object",
        "properties": {"a": {"type": "integer"}, "a": {"type": "string"}}}}}"#;
    assert!(dup.parse::<LexiconDoc>().is_err());
}

/// The upstream lexicons this project pins all load, and every reference among them resolves.
#[test]
fn upstream_lexicons_load() {
    let Some(dir) = testdata::vectors("lexicons") else {
        return;
    };
    let catalog = Catalog::load_dir(&dir).unwrap();
    assert!(catalog.len() > 300, "only {} lexicons", catalog.len());
    assert_eq!(catalog.broken_refs(), Vec::<String>::new());
    for nsid in [
        "app.bsky.feed.post",
        "app.bsky.actor.profile",
        "com.atproto.lexicon.schema",
    ] {
        assert!(catalog.record_def(nsid).is_some(), "{nsid}");
    }
    eprintln!("loaded {} upstream lexicons", catalog.len());
}
