//! Decoders by name or by detection, shared by replay and the live service: the built-in
//! formats plus the configuration's own.

use apiwatch_parse::{CustomFormat, Decoder};
use std::sync::Arc;

pub struct Formats {
    /// Configured formats first, then the built-in ones, in detection order.
    all: Vec<(String, Arc<dyn Decoder>)>,
}

impl Formats {
    /// `custom` must have been validated with the configuration.
    pub fn new(custom: &[CustomFormat]) -> Formats {
        let mut all: Vec<(String, Arc<dyn Decoder>)> = custom
            .iter()
            .map(|c| {
                let d = apiwatch_parse::build_custom(c)
                    .expect("custom formats were validated with the configuration");
                (c.name().to_string(), Arc::from(d))
            })
            .collect();
        for b in apiwatch_parse::BUILTIN_FORMATS {
            all.push((
                (*b).to_string(),
                Arc::from(apiwatch_parse::builtin(b).expect("built-in names build")),
            ));
        }
        Formats { all }
    }

    /// The decoder of a format name (configured names were checked against the known ones).
    pub fn named(&self, name: &str) -> Option<(String, Arc<dyn Decoder>)> {
        self.all.iter().find(|(n, _)| n == name).map(|(n, d)| (n.clone(), Arc::clone(d)))
    }

    /// The format that decodes `lines` (a sample of an input's first lines), if any does.
    pub fn detect(&self, lines: Vec<&[u8]>) -> Option<(String, Arc<dyn Decoder>)> {
        let refs: Vec<&dyn Decoder> = self.all.iter().map(|(_, d)| d.as_ref()).collect();
        let sample = apiwatch_parse::DetectSample { lines };
        apiwatch_parse::detect_format(&sample, &refs)
            .map(|i| (self.all[i].0.clone(), Arc::clone(&self.all[i].1)))
    }

    /// Every format name, in detection order (for messages).
    pub fn names(&self) -> Vec<&str> {
        self.all.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Any decoder (for an input with nothing in it).
    pub fn first(&self) -> Arc<dyn Decoder> {
        Arc::clone(&self.all[0].1)
    }
}
