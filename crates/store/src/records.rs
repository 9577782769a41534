//! Records inside a raw block body, and a block's body from records and back
//! (compression, encryption).

use crate::crypto::BlockCipher;
use crate::format::{
    BlockHeader, BlockView, Cursor, FrameRef, FRAME_KIND_BLOCK, HASH_BYTES, KEYS_PER_RECORD_MAX,
    KEY_BYTES_MAX, RECORD_BYTES_MAX, RECORD_FIXED_BYTES,
};
use crate::StoreError;

/// Appends one record to a raw block body. Limits are checked by the caller.
pub fn encode_record(out: &mut Vec<u8>, ts_ms: i64, keys: &[&[u8]], record: &[u8]) {
    debug_assert!(record.len() <= RECORD_BYTES_MAX && keys.len() <= KEYS_PER_RECORD_MAX);
    out.reserve(
        RECORD_FIXED_BYTES + record.len() + keys.iter().map(|k| 2 + k.len()).sum::<usize>(),
    );
    out.extend_from_slice(&(record.len() as u32).to_le_bytes());
    out.extend_from_slice(&ts_ms.to_le_bytes());
    out.push(keys.len() as u8);
    for key in keys {
        debug_assert!(key.len() <= KEY_BYTES_MAX);
        out.extend_from_slice(&(key.len() as u16).to_le_bytes());
        out.extend_from_slice(key);
    }
    out.extend_from_slice(record);
}

/// One record read from a raw block body.
#[derive(Debug)]
pub struct RecordView<'a> {
    pub ts_ms: i64,
    keys: &'a [u8],
    key_count: u8,
    pub record: &'a [u8],
}

impl<'a> RecordView<'a> {
    /// The record's actor keys.
    pub fn keys(&self) -> impl Iterator<Item = &'a [u8]> {
        let mut r = Cursor::new(self.keys);
        (0..self.key_count).map(move |_| {
            // The layout was checked by `next_record`.
            let len = r.u16().unwrap_or(0) as usize;
            r.take(len).unwrap_or(&[])
        })
    }

    pub fn has_key(&self, wanted: &[u8]) -> bool {
        self.keys().any(|key| key == wanted)
    }
}

/// Reads the record at the start of `cursor`'s remaining bytes.
pub fn next_record<'a>(r: &mut Cursor<'a>) -> Result<RecordView<'a>, String> {
    let record_len = r.u32()? as usize;
    if record_len > RECORD_BYTES_MAX {
        return Err(format!("record length {record_len} over the limit {RECORD_BYTES_MAX}"));
    }
    let ts_ms = r.i64()?;
    let key_count = r.array::<1>()?[0];
    if key_count as usize > KEYS_PER_RECORD_MAX {
        return Err(format!("{key_count} keys on a record, over the limit {KEYS_PER_RECORD_MAX}"));
    }
    let keys_start = r.at;
    for _ in 0..key_count {
        let len = r.u16()? as usize;
        if len > KEY_BYTES_MAX {
            return Err(format!("key length {len} over the limit {KEY_BYTES_MAX}"));
        }
        r.take(len)?;
    }
    let keys_end = r.at;
    let record = r.take(record_len)?;
    Ok(RecordView { ts_ms, keys: r.slice(keys_start, keys_end), key_count, record })
}

/// Calls `each` on every record of a raw block body, checking that there are `count`.
pub fn for_each_record<'a>(
    raw: &'a [u8],
    count: u32,
    mut each: impl FnMut(RecordView<'a>) -> bool,
) -> Result<(), String> {
    let mut r = Cursor::new(raw);
    let mut seen = 0u32;
    while r.remaining() > 0 {
        let view = next_record(&mut r)?;
        seen += 1;
        if !each(view) {
            return Ok(());
        }
    }
    if seen != count {
        return Err(format!("block holds {seen} records, its header says {count}"));
    }
    Ok(())
}

/// Reusable state to turn stored block bodies back into raw records.
pub struct BlockDecoder {
    decompressor: zstd::bulk::Decompressor<'static>,
    plain: Vec<u8>,
    pub raw: Vec<u8>,
}

impl BlockDecoder {
    pub fn new() -> Result<BlockDecoder, StoreError> {
        Ok(BlockDecoder {
            decompressor: zstd::bulk::Decompressor::new().map_err(StoreError::Compression)?,
            plain: Vec::new(),
            raw: Vec::new(),
        })
    }

    /// Decrypts (when `cipher` is given) and decompresses a block body into `self.raw`.
    /// `Err(None)` means it would not decrypt; `Err(Some(reason))` that it is malformed.
    pub fn decode(
        &mut self,
        view: &BlockView<'_>,
        cipher: Option<&BlockCipher>,
    ) -> Result<&[u8], Option<String>> {
        let compressed: &[u8] = match (view.header.nonce, cipher) {
            (Some(nonce), Some(cipher)) => {
                if !cipher.open(&nonce, view.header_bytes, view.body, &mut self.plain) {
                    return Err(None);
                }
                &self.plain
            }
            (Some(_), None) => return Err(None),
            (None, _) => view.body,
        };
        let raw_len = view.header.raw_len as usize;
        self.raw.clear();
        self.raw.reserve(raw_len);
        let written = self
            .decompressor
            .decompress_to_buffer(compressed, &mut self.raw)
            .map_err(|e| Some(format!("block body does not decompress: {e}")))?;
        if written != raw_len {
            return Err(Some(format!("block body is {written} bytes, its header says {raw_len}")));
        }
        Ok(&self.raw)
    }
}

/// Builds a block payload (framed) from a raw body: compresses, encrypts, hashes.
pub struct BlockEncoder {
    compressor: zstd::bulk::Compressor<'static>,
    body: Vec<u8>,
    cipher: Option<BlockCipher>,
}

impl BlockEncoder {
    pub fn new(level: i32, cipher: Option<BlockCipher>) -> Result<BlockEncoder, StoreError> {
        Ok(BlockEncoder {
            compressor: zstd::bulk::Compressor::new(level).map_err(StoreError::Compression)?,
            body: Vec::new(),
            cipher,
        })
    }

    pub fn encrypted(&self) -> bool {
        self.cipher.is_some()
    }

    /// Appends the framed block to `out` and returns its hash.
    pub fn encode(
        &mut self,
        mut header: BlockHeader,
        raw: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<[u8; HASH_BYTES], StoreError> {
        debug_assert_eq!(header.raw_len as usize, raw.len());
        self.body.clear();
        self.body.reserve(zstd::zstd_safe::compress_bound(raw.len()));
        self.compressor.compress_to_buffer(raw, &mut self.body).map_err(StoreError::Compression)?;
        header.nonce = match self.cipher {
            Some(_) => Some(BlockCipher::new_nonce()?),
            None => None,
        };
        let stored_len =
            self.body.len() + if self.cipher.is_some() { crate::format::TAG_BYTES } else { 0 };
        let payload_len = header.encoded_len() + stored_len + HASH_BYTES;
        crate::format::push_frame_header(out, FRAME_KIND_BLOCK, payload_len);
        let payload_start = out.len();
        header.encode_into(stored_len, out);
        if let (Some(cipher), Some(nonce)) = (&self.cipher, &header.nonce) {
            cipher.seal(nonce, &out[payload_start..], &mut self.body);
        }
        debug_assert_eq!(self.body.len(), stored_len);
        out.extend_from_slice(&self.body);
        let hash = *blake3::hash(&out[payload_start..]).as_bytes();
        out.extend_from_slice(&hash);
        Ok(hash)
    }
}

/// Where a block sits, for readers that skip by header.
#[derive(Clone, Copy, Debug)]
pub struct BlockRef {
    pub frame: FrameRef,
    pub index: u32,
    pub record_count: u32,
    pub min_ms: i64,
    pub max_ms: i64,
}
