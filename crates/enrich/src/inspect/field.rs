//! Dotted field paths (`credentials.username`, `hits.hits`) and finding one in a JSON body.

use super::error::Problems;
use super::json::{Members, Scan};

/// Segments a dotted path may have; real payloads nest a handful of levels.
pub(super) const FIELD_PATH_SEGMENTS_MAX: usize = 8;
/// Longest field path accepted, in bytes.
pub(super) const FIELD_PATH_BYTES_MAX: usize = 256;

/// A validated dotted path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FieldPath {
    /// The names, outermost first; never empty, none empty.
    pub(super) segments: Vec<String>,
}

impl FieldPath {
    /// Validates `text`, reporting problems under `at`.
    pub(super) fn parse(text: &str, at: &str, problems: &mut Problems) -> Option<FieldPath> {
        let segments: Vec<String> = text.split('.').map(str::to_string).collect();
        let problem = if text.len() > FIELD_PATH_BYTES_MAX {
            Some(format!("longer than {FIELD_PATH_BYTES_MAX} bytes"))
        } else if segments.iter().any(String::is_empty) {
            Some(format!("{text:?} has an empty name (a leading, trailing or doubled `.`)"))
        } else if segments.len() > FIELD_PATH_SEGMENTS_MAX {
            Some(format!("more than {FIELD_PATH_SEGMENTS_MAX} names"))
        } else {
            None
        };
        match problem {
            Some(message) => {
                problems.push(at, message);
                None
            }
            None => Some(FieldPath { segments }),
        }
    }

    /// The last name.
    pub(super) fn leaf(&self) -> &str {
        self.segments.last().map_or("", String::as_str)
    }
}

/// The index of the value at `path` in the object at `i`, following the first member of each
/// name; `Ok(None)` when a name is missing or a value on the way is not an object.
pub(super) fn find(buf: &[u8], i: usize, path: &FieldPath) -> Scan<Option<usize>> {
    let mut at = i;
    for segment in &path.segments {
        let Some(mut members) = Members::open(buf, at)? else { return Ok(None) };
        loop {
            match members.next_key()? {
                None => return Ok(None),
                Some((key, value)) if key == segment.as_str() => {
                    at = value;
                    break;
                }
                Some(_) => {}
            }
        }
    }
    Ok(Some(at))
}
