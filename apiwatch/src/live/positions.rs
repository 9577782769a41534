//! Every file source's read positions, encoded into the event store's commits: after a
//! restart, each source resumes right after the last line whose event was stored.
//!
//! Encoding (version 1): `b"AWP1"`, then per source: name length (u16 LE), name, positions
//! length (u32 LE), positions (`apiwatch_source::Positions::encode`). Sources are found again
//! by name, so reordering sources in the configuration keeps their positions.

use super::feed::Mark;
use apiwatch_source::Positions;

const MAGIC: &[u8; 4] = b"AWP1";

#[derive(Debug, Default)]
pub struct SourcePositions {
    /// By source index: the source's name and its positions (empty for non-file sources).
    sources: Vec<(String, Positions)>,
}

impl SourcePositions {
    /// Positions for `names` (the sources in configuration order), taken from the last
    /// commit's `meta` when there is one.
    pub fn restore(names: &[String], meta: Option<&[u8]>) -> anyhow::Result<SourcePositions> {
        let saved = match meta {
            Some(m) if !m.is_empty() => decode(m)?,
            _ => Vec::new(),
        };
        let sources = names
            .iter()
            .map(|n| {
                let p =
                    saved.iter().find(|(s, _)| s == n).map(|(_, p)| p.clone()).unwrap_or_default();
                (n.clone(), p)
            })
            .collect();
        Ok(SourcePositions { sources })
    }

    /// The saved positions of source `index`.
    pub fn of(&self, index: usize) -> &Positions {
        &self.sources[index].1
    }

    /// Records that source `index` has been read (and its events stored) up to `mark`.
    pub fn advance(&mut self, index: usize, mark: &Mark) {
        if let Mark::File { fingerprint, path, end_offset, .. } = mark {
            self.sources[index].1.advance(fingerprint, path, *end_offset);
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for (name, p) in &self.sources {
            let bytes = p.encode();
            let name_len = u16::try_from(name.len()).expect("source names are short");
            out.extend_from_slice(&name_len.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            let len = u32::try_from(bytes.len()).expect("positions are bounded");
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }
}

fn decode(meta: &[u8]) -> anyhow::Result<Vec<(String, Positions)>> {
    let bad = || anyhow::anyhow!("the event store's last commit holds unreadable source positions");
    let mut rest = meta.strip_prefix(MAGIC.as_slice()).ok_or_else(bad)?;
    let mut out = Vec::new();
    let take = |n: usize, rest: &mut &[u8]| -> anyhow::Result<Vec<u8>> {
        if rest.len() < n {
            return Err(bad());
        }
        let (a, b) = rest.split_at(n);
        *rest = b;
        Ok(a.to_vec())
    };
    while !rest.is_empty() {
        let n = u16::from_le_bytes(take(2, &mut rest)?.try_into().expect("2 bytes"));
        let name = String::from_utf8(take(usize::from(n), &mut rest)?).map_err(|_| bad())?;
        let len = u32::from_le_bytes(take(4, &mut rest)?.try_into().expect("4 bytes"));
        let bytes = take(len as usize, &mut rest)?;
        let p = Positions::decode(&bytes)
            .map_err(|e| anyhow::anyhow!("source `{name}`: stored positions: {e}"))?;
        out.push((name, p));
    }
    Ok(out)
}
