//! Share 3 as a standard BIP-39 phrase: its 32-byte value is the phrase's entropy, so the 24
//! words use the English list and carry the BIP-39 checksum, and any BIP-39 tool accepts them.
//!
//! The phrase has room for the value only. Read back, it is share index 3 (the share the user
//! keeps on paper) of version 1, and its split is checked by [`super::combine`] against the
//! commitment in the other share's split id.

use zeroize::Zeroizing;

use super::{Share, ShareError};

/// The index a phrase stands for.
const PHRASE_INDEX: u8 = 3;

impl Share {
    /// The share's value as 24 English BIP-39 words, separated by single spaces. Only share 3
    /// is written as words, since the phrase cannot say which share it is.
    pub fn to_phrase(&self) -> Result<Zeroizing<String>, ShareError> {
        if self.index != PHRASE_INDEX {
            return Err(ShareError::Malformed(format!(
                "only share {PHRASE_INDEX} is written as words, this is share {}",
                self.index
            )));
        }
        let mnemonic = bip39::Mnemonic::from_entropy(self.value.as_ref())
            .map_err(|e| ShareError::InvalidPhrase(e.to_string()))?;
        let mut words = Zeroizing::new(String::with_capacity(24 * 9));
        for (i, word) in mnemonic.words().enumerate() {
            if i > 0 {
                words.push(' ');
            }
            words.push_str(word);
        }
        Ok(words)
    }

    /// Reads 24 English BIP-39 words (any case, any whitespace between them) as share 3.
    pub fn from_phrase(phrase: &str) -> Result<Share, ShareError> {
        let normalized = Zeroizing::new(
            phrase
                .split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(" "),
        );
        let mnemonic = bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &normalized)
            .map_err(|e| ShareError::InvalidPhrase(e.to_string()))?;
        let (entropy, len) = mnemonic.to_entropy_array();
        let entropy = Zeroizing::new(entropy);
        if len != 32 {
            return Err(ShareError::InvalidPhrase(format!(
                "{} words; a recovery share is 24 words",
                mnemonic.word_count()
            )));
        }
        let mut value = Zeroizing::new([0u8; 32]);
        value.copy_from_slice(&entropy[..32]);
        Ok(Share {
            split_id: None,
            index: PHRASE_INDEX,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{split, RecoverySeed};
    use super::*;

    /// The BIP-39 reference vector for 32 bytes of 0x7f (trezor/python-mnemonic vectors.json).
    #[test]
    fn the_words_are_standard_bip39() {
        let share = Share {
            split_id: None,
            index: 3,
            value: Zeroizing::new([0x7f; 32]),
        };
        let words = share.to_phrase().unwrap();
        assert_eq!(
            words.as_str(),
            "legal winner thank year wave sausage worth useful legal winner thank year wave \
             sausage worth useful legal winner thank year wave sausage worth title"
        );
        let back = Share::from_phrase(&words.to_uppercase()).unwrap();
        assert_eq!(back.value, share.value);
    }

    #[test]
    fn bad_phrases_are_refused() {
        let [_, _, three] = split(&RecoverySeed::generate());
        let words = three.to_phrase().unwrap();
        let mut list: Vec<&str> = words.split(' ').collect();
        // A swapped word breaks the checksum (or, rarely, not: then the split check catches it).
        list.swap(0, 1);
        if list[0] != list[1] {
            let swapped = list.join(" ");
            if let Ok(share) = Share::from_phrase(&swapped) {
                assert_ne!(share.value, three.value);
            }
        }
        assert!(matches!(
            Share::from_phrase("legal winner thank"),
            Err(ShareError::InvalidPhrase(_))
        ));
        assert!(matches!(
            Share::from_phrase(&words.replace(list[2], "notaword")),
            Err(ShareError::InvalidPhrase(_))
        ));
        // 12 valid words are a BIP-39 phrase but not a share.
        assert!(matches!(
            Share::from_phrase(
                "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
            ),
            Err(ShareError::InvalidPhrase(_))
        ));
    }
}
