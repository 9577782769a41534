//! Format detection: try every candidate decoder on the first lines of an input and keep the
//! one that decodes the most of them.

use crate::Decoder;

/// The first lines of an input, as detection sees them.
pub struct DetectSample<'a> {
    pub lines: Vec<&'a [u8]>,
}

/// Lines detection looks at; enough to get past a header or a few broken lines.
pub const DETECT_LINES_MAX: usize = 64;

/// Returns the index (into `candidates`) of the decoder that decodes the most sample lines,
/// preferring earlier candidates on ties; `None` when none decodes any line.
pub fn detect_format(sample: &DetectSample<'_>, candidates: &[&dyn Decoder]) -> Option<usize> {
    let lines: Vec<&[u8]> = sample
        .lines
        .iter()
        .copied()
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(DETECT_LINES_MAX)
        .collect();
    let mut best: Option<(usize, usize)> = None;
    for (i, d) in candidates.iter().enumerate() {
        let ok = lines.iter().filter(|l| d.decode(l).is_ok()).count();
        if ok > 0 && best.is_none_or(|(_, b)| ok > b) {
            best = Some((i, ok));
        }
    }
    best.map(|(i, _)| i)
}
