//! The store's Ed25519 signing key: `keys/signing.key` (the 32-byte seed, mode 0600) and
//! `keys/signing.pub` (the public key in hex), which is all `verify` needs.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::StoreError;

/// Directory of the key files, under the data directory.
pub const KEYS_DIR: &str = "keys";
/// The secret seed.
pub const SIGNING_KEY_FILE: &str = "signing.key";
/// The public key, hex.
pub const PUBLIC_KEY_FILE: &str = "signing.pub";

const SEED_BYTES: usize = 32;

/// Loads the signing key, creating it (and its public half) at first open.
pub fn load_or_create_signing_key(dir: &Path) -> Result<SigningKey, StoreError> {
    let keys_dir = dir.join(KEYS_DIR);
    fs::create_dir_all(&keys_dir).map_err(|e| StoreError::io("create", &keys_dir, e))?;
    let key_path = keys_dir.join(SIGNING_KEY_FILE);
    let signing_key = match create_seed(&key_path)? {
        Some(key) => key,
        None => read_seed(&key_path)?,
    };
    let public_path = keys_dir.join(PUBLIC_KEY_FILE);
    let public_hex = hex(signing_key.verifying_key().as_bytes());
    match fs::read_to_string(&public_path) {
        Ok(text) if text.trim() == public_hex => {}
        Ok(_) => {
            return Err(StoreError::SigningKey {
                path: public_path,
                reason: format!("does not match {}", key_path.display()),
            })
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            write_synced(&public_path, format!("{public_hex}\n").as_bytes())?;
        }
        Err(e) => return Err(StoreError::io("read", public_path, e)),
    }
    Ok(signing_key)
}

/// Creates the seed file with `create_new` and mode 0600; `None` if it already exists.
fn create_seed(path: &Path) -> Result<Option<SigningKey>, StoreError> {
    let mut file = match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(StoreError::io("create", path, e)),
    };
    let mut seed = [0u8; SEED_BYTES];
    getrandom::fill(&mut seed).map_err(|e| StoreError::Random(e.to_string()))?;
    file.write_all(&seed).map_err(|e| StoreError::io("write", path, e))?;
    file.sync_all().map_err(|e| StoreError::io("sync", path, e))?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    Ok(Some(key))
}

fn read_seed(path: &Path) -> Result<SigningKey, StoreError> {
    let mut file = fs::File::open(path).map_err(|e| StoreError::io("open", path, e))?;
    let mode = file.metadata().map_err(|e| StoreError::io("stat", path, e))?.permissions().mode();
    // Like ssh with its private keys: a seed others can read is no longer a secret.
    if mode & 0o077 != 0 {
        return Err(StoreError::SigningKey {
            path: path.to_path_buf(),
            reason: format!("mode {:o} lets others read it; expected 0600", mode & 0o777),
        });
    }
    let mut seed = [0u8; SEED_BYTES];
    let mut extra = [0u8; 1];
    file.read_exact(&mut seed).map_err(|e| StoreError::io("read", path, e))?;
    if file.read(&mut extra).map_err(|e| StoreError::io("read", path, e))? != 0 {
        return Err(StoreError::SigningKey {
            path: path.to_path_buf(),
            reason: format!("expected exactly {SEED_BYTES} bytes"),
        });
    }
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    Ok(key)
}

/// Reads `keys/signing.pub`.
pub fn read_public_key(dir: &Path) -> Result<VerifyingKey, StoreError> {
    let path = public_key_path(dir);
    let text = fs::read_to_string(&path).map_err(|e| StoreError::io("read", &path, e))?;
    let bad = |reason: &str| StoreError::SigningKey { path: path.clone(), reason: reason.into() };
    let bytes = unhex(text.trim()).ok_or_else(|| bad("not a hex public key"))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| bad("expected 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad("not an Ed25519 public key"))
}

/// Path of the public key file.
pub fn public_key_path(dir: &Path) -> PathBuf {
    dir.join(KEYS_DIR).join(PUBLIC_KEY_FILE)
}

/// Signs `context || message`.
pub fn sign(key: &SigningKey, context: &[u8], message: &[u8]) -> [u8; 64] {
    let mut signed = Vec::with_capacity(context.len() + message.len());
    signed.extend_from_slice(context);
    signed.extend_from_slice(message);
    key.sign(&signed).to_bytes()
}

/// Checks a signature made by [`sign`]; strict, so a signature has one valid encoding.
pub fn signature_is_valid(
    key: &VerifyingKey,
    context: &[u8],
    message: &[u8],
    signature: &[u8; 64],
) -> bool {
    let mut signed = Vec::with_capacity(context.len() + message.len());
    signed.extend_from_slice(context);
    signed.extend_from_slice(message);
    key.verify_strict(&signed, &Signature::from_bytes(signature)).is_ok()
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut file = fs::File::create(path).map_err(|e| StoreError::io("create", path, e))?;
    file.write_all(bytes).map_err(|e| StoreError::io("write", path, e))?;
    file.sync_all().map_err(|e| StoreError::io("sync", path, e))
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[(byte >> 4) as usize] as char);
        out.push(DIGITS[(byte & 15) as usize] as char);
    }
    out
}

/// Bytes of a hex string (either case); `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() & 1 == 1 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(&[0, 1, 0xab, 0xff])).unwrap(), vec![0, 1, 0xab, 0xff]);
        assert!(unhex("0g").is_none());
        assert!(unhex("abc").is_none());
    }

    #[test]
    fn key_is_reused_and_public_key_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_signing_key(dir.path()).unwrap();
        let second = load_or_create_signing_key(dir.path()).unwrap();
        assert_eq!(first.to_bytes(), second.to_bytes());
        let public = read_public_key(dir.path()).unwrap();
        let signature = sign(&first, b"ctx", b"message");
        assert!(signature_is_valid(&public, b"ctx", b"message", &signature));
        assert!(!signature_is_valid(&public, b"ctx", b"messagf", &signature));
    }
}
