//! The installation key that pseudonyms are derived from: 32 random bytes in a file only the
//! owner can read, created on first use.

use anyhow::{bail, Context};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where the key lives when no `--key-file` is given.
pub fn default_path() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("apiwatch").join("pseudonym.key")
}

/// Loads the key, creating it (from the OS's random source) when the file does not exist.
pub fn load_or_create(path: &Path) -> anyhow::Result<[u8; 32]> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                bail!("key file {} must hold exactly 32 bytes", path.display());
            };
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(e).with_context(|| format!("cannot read key file {}", path.display())),
    }
}

fn create(path: &Path) -> anyhow::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .context("cannot read /dev/urandom to make a pseudonym key")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(&key)
                .with_context(|| format!("cannot write key file {}", path.display()))?;
            Ok(key)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(path),
        Err(e) => Err(e).with_context(|| format!("cannot create key file {}", path.display())),
    }
}
