//! Encryption at rest of block bodies: ChaCha20-Poly1305, a random nonce per block, the
//! block's header bytes as associated data (so no header field can be moved to another body).

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};

use crate::format::{NONCE_BYTES, TAG_BYTES};
use crate::StoreError;

/// A configured encryption key, ready to use.
pub struct BlockCipher {
    cipher: ChaCha20Poly1305,
}

impl BlockCipher {
    pub fn new(key: &[u8; 32]) -> BlockCipher {
        BlockCipher { cipher: ChaCha20Poly1305::new(Key::from_slice(key)) }
    }

    /// A fresh random nonce. Random 96-bit nonces are safe for far more blocks than a store
    /// writes under one key (the birthday bound is ~2^48 blocks).
    pub fn new_nonce() -> Result<[u8; NONCE_BYTES], StoreError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| StoreError::Random(e.to_string()))?;
        Ok(nonce)
    }

    /// Encrypts `body` in place and appends the tag.
    pub fn seal(&self, nonce: &[u8; NONCE_BYTES], aad: &[u8], body: &mut Vec<u8>) {
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(nonce), aad, body)
            // Only fails for bodies over ~256 GiB; blocks are bounded far below that.
            .expect("block body within the cipher's length limit");
        body.extend_from_slice(&tag);
    }

    /// Decrypts `stored` (ciphertext and tag) into `out`; `false` if it does not authenticate.
    pub fn open(
        &self,
        nonce: &[u8; NONCE_BYTES],
        aad: &[u8],
        stored: &[u8],
        out: &mut Vec<u8>,
    ) -> bool {
        if stored.len() < TAG_BYTES {
            return false;
        }
        let (ciphertext, tag) = stored.split_at(stored.len() - TAG_BYTES);
        out.clear();
        out.extend_from_slice(ciphertext);
        self.cipher
            .decrypt_in_place_detached(Nonce::from_slice(nonce), aad, out, Tag::from_slice(tag))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trips_and_checks_aad() {
        let cipher = BlockCipher::new(&[3; 32]);
        let nonce = BlockCipher::new_nonce().unwrap();
        let mut body = b"secret body".to_vec();
        cipher.seal(&nonce, b"aad", &mut body);
        let mut out = Vec::new();
        assert!(cipher.open(&nonce, b"aad", &body, &mut out));
        assert_eq!(out, b"secret body");
        assert!(!cipher.open(&nonce, b"aae", &body, &mut out));
        assert!(!BlockCipher::new(&[4; 32]).open(&nonce, b"aad", &body, &mut out));
    }
}
