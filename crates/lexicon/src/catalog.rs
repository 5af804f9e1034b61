//! A registry of Lexicon documents by NSID, which resolves references between them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::CatalogError;
use crate::schema::{BodyDef, Def, LexiconDoc, ParamsDef, Properties, RecordDef};

/// Lexicon documents by NSID. Every document is checked when added, and its references are
/// stored absolute (`#name` becomes `nsid#name`, a `lex:` prefix is dropped), so a reference
/// resolves the same wherever it is read.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    docs: BTreeMap<String, LexiconDoc>,
}

/// Splits a reference into NSID and definition name (`main` when there is no fragment).
pub(crate) fn split_ref(reference: &str) -> (&str, &str) {
    let bare = reference.strip_prefix("lex:").unwrap_or(reference);
    match bare.split_once('#') {
        Some((nsid, name)) => (nsid, name),
        None => (bare, "main"),
    }
}

impl Catalog {
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Checks `doc` and adds it. An NSID can only be added once.
    pub fn add(&mut self, mut doc: LexiconDoc) -> Result<(), CatalogError> {
        doc.check().map_err(|source| CatalogError::Schema {
            origin: doc.id.clone(),
            source,
        })?;
        if self.docs.contains_key(&doc.id) {
            return Err(CatalogError::Duplicate(doc.id));
        }
        let id = doc.id.clone();
        for def in doc.defs.values_mut() {
            absolutise_refs(def, &id);
        }
        self.docs.insert(id, doc);
        Ok(())
    }

    /// Parses, checks and adds one Lexicon document given as JSON.
    pub fn add_json(&mut self, json: &serde_json::Value) -> Result<(), CatalogError> {
        let doc = LexiconDoc::from_json(json).map_err(|source| CatalogError::Schema {
            origin: json
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or("lexicon document")
                .to_owned(),
            source,
        })?;
        self.add(doc)
    }

    /// Parses, checks and adds one Lexicon document given as JSON text. Prefer this to
    /// [`Catalog::add_json`] when the text is at hand: it keeps the order the document lists
    /// properties in, which decides which error validation reports first.
    pub fn add_str(&mut self, text: &str) -> Result<(), CatalogError> {
        let doc: LexiconDoc = text.parse().map_err(|source| CatalogError::Schema {
            origin: "lexicon document".into(),
            source,
        })?;
        self.add(doc)
    }

    /// A catalog of the given JSON documents.
    pub fn from_json_values<'a>(
        values: impl IntoIterator<Item = &'a serde_json::Value>,
    ) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::new();
        for v in values {
            catalog.add_json(v)?;
        }
        Ok(catalog)
    }

    /// A catalog of every `*.json` file under `dir` (recursively).
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::new();
        catalog.add_dir(dir)?;
        Ok(catalog)
    }

    /// Adds every `*.json` file under `dir` (recursively, in path order); returns how many.
    pub fn add_dir(&mut self, dir: impl AsRef<Path>) -> Result<usize, CatalogError> {
        let mut files = Vec::new();
        collect_json_files(dir.as_ref(), &mut files)?;
        files.sort();
        for path in &files {
            let io = |source| CatalogError::Io {
                path: path.clone(),
                source,
            };
            let text = std::fs::read_to_string(path).map_err(io)?;
            let schema = |source| CatalogError::Schema {
                origin: path.display().to_string(),
                source,
            };
            let doc: LexiconDoc = text.parse().map_err(schema)?;
            self.add(doc)?;
        }
        Ok(files.len())
    }

    /// The document for `nsid`.
    pub fn get(&self, nsid: &str) -> Option<&LexiconDoc> {
        self.docs.get(nsid)
    }

    pub fn contains(&self, nsid: &str) -> bool {
        self.docs.contains_key(nsid)
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// NSIDs in the catalog, sorted.
    pub fn nsids(&self) -> impl Iterator<Item = &str> {
        self.docs.keys().map(String::as_str)
    }

    /// The definition a reference names: `nsid` (its `main`), `nsid#name`, or either with a
    /// `lex:` prefix.
    pub fn def(&self, reference: &str) -> Option<&Def> {
        let (nsid, name) = split_ref(reference);
        self.docs.get(nsid)?.defs.get(name)
    }

    /// The record schema of a collection, if the catalog has one.
    pub fn record_def(&self, nsid: &str) -> Option<&RecordDef> {
        match self.def(nsid)? {
            Def::Record(r) => Some(r),
            _ => None,
        }
    }

    /// References that do not resolve, or resolve to something they may not point at (a
    /// `ref` to a token, a union variant that is not an object or record). Each entry reads
    /// `nsid#def/path: problem`. An empty list means the catalog is closed under references.
    pub fn broken_refs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (id, doc) in &self.docs {
            for (name, def) in &doc.defs {
                self.broken_in(def, &format!("{id}#{name}"), &mut out);
            }
        }
        out
    }

    fn broken_in(&self, def: &Def, path: &str, out: &mut Vec<String>) {
        match def {
            Def::Ref(r) => match self.def(&r.reference) {
                None => out.push(format!("{path}: {} not found", r.reference)),
                Some(Def::Token(_)) => {
                    out.push(format!("{path}: ref {} points at a token", r.reference))
                }
                Some(_) => {}
            },
            Def::Union(u) => {
                for r in &u.refs {
                    match self.def(r) {
                        None => out.push(format!("{path}: {r} not found")),
                        Some(Def::Object(_) | Def::Record(_)) => {}
                        Some(other) => out.push(format!(
                            "{path}: union variant {r} is a {}, not an object or record",
                            other.type_name()
                        )),
                    }
                }
            }
            _ => {}
        }
        for_each_child(def, &mut |segment, child| {
            self.broken_in(child, &format!("{path}/{segment}"), out)
        });
    }
}

fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CatalogError> {
    let io = |source| CatalogError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        if entry.file_type().map_err(io)?.is_dir() {
            collect_json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn absolute(reference: &str, id: &str) -> String {
    let bare = reference.strip_prefix("lex:").unwrap_or(reference);
    if bare.starts_with('#') {
        format!("{id}{bare}")
    } else {
        bare.to_owned()
    }
}

fn absolutise_refs(def: &mut Def, id: &str) {
    match def {
        Def::Ref(r) => r.reference = absolute(&r.reference, id),
        Def::Union(u) => {
            for r in &mut u.refs {
                *r = absolute(r, id);
            }
        }
        _ => {}
    }
    for_each_child_mut(def, &mut |child| absolutise_refs(child, id));
}

/// Calls `f` on each schema nested directly in `def`, with the path segment leading to it.
fn for_each_child<'a>(def: &'a Def, f: &mut impl FnMut(String, &'a Def)) {
    let mut properties = |prefix: &str, props: &'a Properties| {
        for (k, v) in props {
            f(format!("{prefix}properties/{k}"), v);
        }
    };
    let body = |b: &'a Option<BodyDef>| b.as_ref().and_then(|b| b.schema.as_deref());
    match def {
        Def::Array(a) => f("items".into(), &a.items),
        Def::Object(o) => properties("", &o.properties),
        Def::Params(p) => properties("", &p.properties),
        Def::Record(r) => properties("record/", &r.record.properties),
        Def::Query(q) => {
            if let Some(p) = &q.parameters {
                properties("parameters/", &p.properties);
            }
            if let Some(s) = body(&q.output) {
                f("output/schema".into(), s);
            }
        }
        Def::Procedure(p) => {
            if let Some(p) = &p.parameters {
                properties("parameters/", &p.properties);
            }
            if let Some(s) = body(&p.input) {
                f("input/schema".into(), s);
            }
            if let Some(s) = body(&p.output) {
                f("output/schema".into(), s);
            }
        }
        Def::Subscription(s) => {
            if let Some(p) = &s.parameters {
                properties("parameters/", &p.properties);
            }
            if let Some(m) = &s.message {
                f("message/schema".into(), &m.schema);
            }
        }
        _ => {}
    }
}

fn for_each_child_mut(def: &mut Def, f: &mut impl FnMut(&mut Def)) {
    fn params(p: &mut Option<ParamsDef>, f: &mut impl FnMut(&mut Def)) {
        p.iter_mut()
            .flat_map(|p| p.properties.values_mut())
            .for_each(f);
    }
    match def {
        Def::Array(a) => f(&mut a.items),
        Def::Object(o) => o.properties.values_mut().for_each(f),
        Def::Params(p) => p.properties.values_mut().for_each(f),
        Def::Record(r) => r.record.properties.values_mut().for_each(f),
        Def::Query(q) => {
            params(&mut q.parameters, f);
            if let Some(s) = q.output.as_mut().and_then(|b| b.schema.as_mut()) {
                f(s);
            }
        }
        Def::Procedure(p) => {
            params(&mut p.parameters, f);
            for body in [&mut p.input, &mut p.output] {
                if let Some(s) = body.as_mut().and_then(|b| b.schema.as_mut()) {
                    f(s);
                }
            }
        }
        Def::Subscription(s) => {
            params(&mut s.parameters, f);
            if let Some(m) = &mut s.message {
                f(&mut m.schema);
            }
        }
        _ => {}
    }
}
