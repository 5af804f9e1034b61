//! The lexicon catalog the relay validates records against: the workspace's pinned lexicons of
//! `com.atproto`, `app.bsky` and `chat.bsky`, embedded at build time (see `build.rs`), so the
//! binary validates the same way wherever it runs.

/// Every embedded lexicon document's JSON text, separated by NUL bytes.
const EMBEDDED: &str = include_str!(concat!(env!("OUT_DIR"), "/lexicons.txt"));

/// Parses the embedded lexicons into a catalog. Fails only if the build embedded a document
/// the lexicon crate refuses, which the unit test below catches first.
pub fn embedded_catalog() -> Result<lexicon::Catalog, lexicon::CatalogError> {
    let mut catalog = lexicon::Catalog::new();
    for text in EMBEDDED.split('\0') {
        catalog.add_str(text)?;
    }
    Ok(catalog)
}

/// How many documents are embedded.
pub fn embedded_count() -> usize {
    EMBEDDED.split('\0').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lexicons_parse_and_resolve() {
        let started = std::time::Instant::now();
        let catalog = embedded_catalog().expect("the pinned lexicons parse");
        eprintln!(
            "parsed {} lexicons in {} ms",
            catalog.len(),
            started.elapsed().as_millis()
        );
        assert_eq!(catalog.len(), embedded_count());
        for nsid in [
            "app.bsky.feed.post",
            "app.bsky.actor.profile",
            "app.bsky.graph.follow",
            "chat.bsky.actor.declaration",
            "com.atproto.repo.createRecord",
            "com.atproto.lexicon.schema",
        ] {
            assert!(catalog.contains(nsid), "{nsid} is embedded");
        }
        assert!(catalog.record_def("app.bsky.feed.post").is_some());
        assert_eq!(catalog.broken_refs(), Vec::<String>::new());
    }
}
