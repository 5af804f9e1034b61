//! Seeded randomness, and keys and records shaped like a real repo's, for the repos we write.
//!
//! The Node side has its own generator (`vectors/reference/lib.mjs`); the two need not agree,
//! since each side's data travels in files. They only share the shapes: TID rkeys from a few
//! writers (long shared prefixes), `any` rkeys, singletons, a very long rkey now and then.

use std::collections::HashSet;

use data::{Map, Value};
use syntax::Tid;

/// xoshiro256** seeded through splitmix64: small, fast, and the same sequence everywhere.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, n)`; `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[lo, hi]`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    pub fn fork(&mut self) -> Rng {
        Rng::new(self.u64())
    }
}

/// Collections seen in real repos, with rough weights.
pub const COLLECTIONS: &[(u32, &str)] = &[
    (30, "app.bsky.feed.like"),
    (20, "app.bsky.feed.post"),
    (12, "app.bsky.graph.follow"),
    (8, "app.bsky.feed.repost"),
    (3, "app.bsky.graph.block"),
    (3, "app.bsky.graph.listitem"),
    (1, "app.bsky.graph.list"),
    (1, "app.bsky.feed.threadgate"),
    (1, "app.bsky.feed.generator"),
    (1, "chat.bsky.actor.declaration"),
    (1, "app.bsky.actor.profile"),
    (1, "sh.tangled.repo.issue.comment"),
    (1, "com.whtwnd.blog.entry"),
    (
        1,
        "com.example.averyveryverylongnamespace.withmanysegments.recordTypeName",
    ),
];

const RKEY_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:~-";
const S32: &[u8] = b"234567abcdefghijklmnopqrstuvwxyz";
// 2023-01-01 .. 2026-11-01, in microseconds
const TID_LO: u64 = 1_672_531_200_000_000;
const TID_HI: u64 = 1_793_491_200_000_000;

fn weighted<'a>(rng: &mut Rng, pairs: &[(u32, &'a str)]) -> &'a str {
    let total: u32 = pairs.iter().map(|(w, _)| w).sum();
    let mut x = rng.below(total as usize) as u32;
    for (w, v) in pairs {
        if x < *w {
            return v;
        }
        x -= w;
    }
    pairs[pairs.len() - 1].1
}

fn any_rkey(rng: &mut Rng, max_len: usize) -> String {
    loop {
        // mostly short, now and then long
        let len = if rng.chance(0.1) {
            rng.range(1, max_len)
        } else {
            rng.range(1, max_len.min(16))
        };
        let s: String = (0..len).map(|_| *rng.pick(RKEY_CHARS) as char).collect();
        if s != "." && s != ".." {
            return s;
        }
    }
}

/// A TID in the years real repos span.
pub fn random_tid(rng: &mut Rng) -> Tid {
    let micros = TID_LO + rng.below((TID_HI - TID_LO) as usize) as u64;
    Tid::from_parts(micros, rng.below(1024) as u16).expect("in range by construction")
}

/// Distinct `<collection>/<rkey>` keys as one repo accumulates them.
pub struct KeySource {
    writers: Vec<(u64, u16)>,
    seen: HashSet<String>,
}

impl KeySource {
    pub fn new(rng: &mut Rng) -> KeySource {
        let writers = (0..rng.range(1, 3))
            .map(|_| {
                let micros = TID_LO + rng.below(((TID_HI - TID_LO) as f64 * 0.9) as usize) as u64;
                (micros, rng.below(1024) as u16)
            })
            .collect();
        KeySource {
            writers,
            seen: HashSet::new(),
        }
    }

    pub fn next(&mut self, rng: &mut Rng) -> (String, String) {
        loop {
            let collection = weighted(rng, COLLECTIONS);
            let singleton = matches!(
                collection,
                "app.bsky.actor.profile" | "chat.bsky.actor.declaration"
            );
            let rkey = if singleton && rng.chance(0.7) {
                "self".to_owned()
            } else {
                match rng.below(100) {
                    0..=69 => {
                        let i = rng.below(self.writers.len());
                        let step = match rng.below(10) {
                            0..=5 => rng.range(1, 1000),
                            6..=8 => rng.range(1, 60_000_000),
                            _ => rng.range(1, 86_400_000_000),
                        };
                        let (micros, clock) = &mut self.writers[i];
                        *micros += step as u64;
                        Tid::from_parts(*micros, *clock)
                            .expect("in range by construction")
                            .to_string()
                    }
                    70..=81 => random_tid(rng).to_string(),
                    82..=96 => any_rkey(rng, 40),
                    _ => any_rkey(rng, 512),
                }
            };
            let key = format!("{collection}/{rkey}");
            if self.seen.insert(key) {
                return (collection.to_owned(), rkey);
            }
        }
    }
}

const WORDS: &[&str] = &[
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "it",
    "you",
    "that",
    "repo",
    "commit",
    "tree",
    "merkle",
    "signature",
    "relay",
    "firehose",
    "🦋",
    "ünïcödé",
    "日本語",
    "sovereign",
    "data",
];

fn words(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| *rng.pick(WORDS))
        .collect::<Vec<_>>()
        .join(" ")
}

fn iso_date(rng: &mut Rng) -> String {
    // A fixed-format UTC datetime; the date arithmetic is simple because only its shape matters.
    format!(
        "20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        rng.range(23, 26),
        rng.range(1, 12),
        rng.range(1, 28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(1000)
    )
}

fn fake_did(rng: &mut Rng) -> String {
    let s: String = (0..24).map(|_| *rng.pick(S32) as char).collect();
    format!("did:plc:{s}")
}

/// A fake `did:plc` for a repo we write.
pub fn random_did(rng: &mut Rng) -> String {
    fake_did(rng)
}

/// A plausible record for `collection`.
pub fn random_record(rng: &mut Rng, collection: &str) -> Value {
    let mut m = Map::new();
    m.insert("$type".into(), collection.into());
    m.insert("createdAt".into(), iso_date(rng).into());
    match collection {
        "app.bsky.feed.post" => {
            let n = rng.range(1, 40);
            m.insert("text".into(), words(rng, n).into());
            if rng.chance(0.5) {
                m.insert(
                    "langs".into(),
                    Value::Array(vec![(*rng.pick(&["en", "ja", "de"])).into()]),
                );
            }
        }
        "app.bsky.feed.like" | "app.bsky.feed.repost" => {
            let mut subject = Map::new();
            let uri = format!(
                "at://{}/app.bsky.feed.post/{}",
                fake_did(rng),
                random_tid(rng)
            );
            subject.insert("uri".into(), uri.into());
            let cid: String = (0..52).map(|_| *rng.pick(S32) as char).collect();
            subject.insert("cid".into(), format!("bafyreig{cid}").into());
            m.insert("subject".into(), Value::Map(subject));
        }
        "app.bsky.graph.follow" | "app.bsky.graph.block" => {
            m.insert("subject".into(), fake_did(rng).into());
        }
        _ => {
            let n = rng.range(1, 6);
            m.insert("name".into(), words(rng, n).into());
            m.insert("count".into(), Value::Int(rng.below(1_000_000) as i64));
            m.insert(
                "flags".into(),
                Value::Array(vec![
                    Value::Bool(rng.chance(0.5)),
                    Value::Null,
                    Value::Int(rng.below(100) as i64 - 50),
                    Value::Bytes(rng.bytes::<12>().to_vec()),
                ]),
            );
        }
    }
    Value::Map(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<u64> = (0..8).map(|_| a.u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(8).u64(), xs[0]);
    }

    #[test]
    fn keys_are_distinct_valid_repo_paths_and_records_valid_objects() {
        let mut rng = Rng::new(1);
        let mut keys = KeySource::new(&mut rng);
        let mut seen = HashSet::new();
        for _ in 0..5_000 {
            let (collection, rkey) = keys.next(&mut rng);
            let path = format!("{collection}/{rkey}");
            syntax::validate_repo_path(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            repo::mst::validate_key(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(seen.insert(path));
            let record = random_record(&mut rng, &collection);
            data::model::validate(&record).unwrap();
            let bytes = data::cbor::encode(&record);
            assert_eq!(data::cbor::decode(&bytes).unwrap(), record);
        }
    }
}
