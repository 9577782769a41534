//! The segment file format, byte by byte; encoding and decoding of its parts (no I/O).
//!
//! All integers are little-endian. A segment file is a header followed by frames.
//!
//! ## Header (64 bytes)
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `APIWSEG\0` |
//! | 8 | 2 | format version (1) |
//! | 10 | 2 | flags: bit 0 = block bodies are encrypted |
//! | 12 | 4 | reserved, zero |
//! | 16 | 8 | segment sequence number (u64) |
//! | 24 | 8 | creation time, ms since the Unix epoch (i64) |
//! | 32 | 32 | chain hash of the previous segment's last block (zero for segment 0) |
//!
//! ## Frame
//!
//! | bytes | field |
//! |---|---|
//! | 1 | kind: 1 = block, 2 = checkpoint |
//! | 4 | payload length (u32, at most [`FRAME_PAYLOAD_BYTES_MAX`]) |
//! | n | payload |
//!
//! There is no frame checksum: a block carries its hash and a checkpoint its signature, and a
//! torn frame (a crash mid-write) shows as a length running past the end of the file or as a
//! hash or signature that does not match.
//!
//! ## Block payload
//!
//! | bytes | field |
//! |---|---|
//! | 32 | prev_hash: hash of the block before (the header's prev hash for block 0) |
//! | 4 | block index within the segment (u32, from 0) |
//! | 4 | record count (u32) |
//! | 8 | min event time ms (i64) |
//! | 8 | max event time ms (i64) |
//! | 4 | raw length: bytes of the records before compression (u32) |
//! | 4 | body length (u32) |
//! | 12 | nonce, only when the segment is encrypted |
//! | n | body: zstd of the records; when encrypted, ChaCha20-Poly1305 of that with its 16-byte tag appended, the AAD being every byte of the payload before the body |
//! | 32 | hash = BLAKE3(every byte of the payload before the hash) |
//!
//! The hash covers the stored (possibly encrypted) body, so the chain can be verified without
//! the encryption key. Records inside the raw body, one after the other:
//! `u32 record length, i64 event time ms, u8 key count, key count × (u16 key length, key),
//! record bytes`. The actor keys are stored with the record so that a segment's summary (and
//! an exact key filter) can be rebuilt from the segment alone.
//!
//! ## Checkpoint payload
//!
//! | bytes | field |
//! |---|---|
//! | 8 | segment sequence number (u64) |
//! | 32 | BLAKE3 of the segment header |
//! | 4 | block count so far (u32) |
//! | 8 | record count so far (u64) |
//! | 32 | hash of the last block (the header's prev hash when there is none) |
//! | 8 | min event time ms (i64; `i64::MAX` when there is no record) |
//! | 8 | max event time ms (i64; `i64::MIN` when there is no record) |
//! | 8 | commit time ms (i64, the caller's clock) |
//! | 1 | flags: bit 0 = final (the segment is sealed), bit 1 = meta was given by a commit |
//! | 4 | meta length (u32, at most [`META_BYTES_MAX`]) |
//! | n | meta: the caller's opaque bytes |
//! | 64 | Ed25519 signature of `CHECKPOINT_SIGNING_CONTEXT` followed by all the bytes above |
//!
//! Every segment starts with a checkpoint (no blocks; the meta of the segment before), so
//! that the last committed meta is always found in the newest segment, and a sealed segment
//! ends with a final checkpoint.

use crate::StoreError;

/// The first 8 bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"APIWSEG\0";
/// Version of the layout described above.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes of the segment header.
pub const HEADER_BYTES: usize = 64;
/// Header flag: block bodies are encrypted.
pub const HEADER_FLAG_ENCRYPTED: u16 = 1;

/// Bytes of a frame's kind and length.
pub const FRAME_HEADER_BYTES: usize = 5;
/// Frame kind of a block of records.
pub const FRAME_KIND_BLOCK: u8 = 1;
/// Frame kind of a signed checkpoint.
pub const FRAME_KIND_CHECKPOINT: u8 = 2;

/// Largest record accepted by `append`: an ECS event is a few KiB; anything near this limit
/// is a caller bug, and bounding it bounds a block.
pub const RECORD_BYTES_MAX: usize = 4 << 20;
/// Most actor keys on one record (address, user, token, API key, session... with room).
pub const KEYS_PER_RECORD_MAX: usize = 16;
/// Longest actor key: keys are identifiers, not payloads.
pub const KEY_BYTES_MAX: usize = 1024;
/// Largest caller meta carried by a checkpoint (source offsets of many inputs fit easily).
pub const META_BYTES_MAX: usize = 1 << 20;
/// Largest block target a configuration may ask for.
pub const BLOCK_BYTES_TARGET_MAX: usize = 16 << 20;
/// Largest raw (uncompressed) block body: the target plus one record that crossed it, plus
/// its framing. Decompression never allocates more than this (a hostile body cannot).
pub const BLOCK_RAW_BYTES_MAX: usize =
    BLOCK_BYTES_TARGET_MAX + RECORD_BYTES_MAX + RECORD_FIXED_BYTES + KEYS_FRAMING_BYTES_MAX;
/// Largest frame payload: a block whose body did not compress at all (zstd adds well under
/// 1% to incompressible data), with room to spare.
pub const FRAME_PAYLOAD_BYTES_MAX: usize = BLOCK_RAW_BYTES_MAX + (BLOCK_RAW_BYTES_MAX / 8);

/// Fixed bytes of one record inside a raw block body (length, time, key count).
pub const RECORD_FIXED_BYTES: usize = 4 + 8 + 1;
const KEYS_FRAMING_BYTES_MAX: usize = KEYS_PER_RECORD_MAX * (2 + KEY_BYTES_MAX);

/// Bytes of a ChaCha20-Poly1305 nonce.
pub const NONCE_BYTES: usize = 12;
/// Bytes of a ChaCha20-Poly1305 tag, appended to an encrypted body.
pub const TAG_BYTES: usize = 16;
/// Bytes of a chain hash.
pub const HASH_BYTES: usize = 32;
/// Bytes of an Ed25519 signature.
pub const SIGNATURE_BYTES: usize = 64;

/// Prefix of every signed checkpoint message, so a signature cannot be replayed elsewhere.
pub const CHECKPOINT_SIGNING_CONTEXT: &[u8] = b"apiwatch-store checkpoint v1\0";

/// A chain hash.
pub type Hash = [u8; HASH_BYTES];

/// Checkpoint flag: the segment is sealed.
pub const CHECKPOINT_FLAG_FINAL: u8 = 1;
/// Checkpoint flag: the meta was given by a caller's commit (not the store's first one).
pub const CHECKPOINT_FLAG_HAS_META: u8 = 2;

/// Block payload bytes before the nonce: prev hash, index, count, min, max, raw len, body len.
const BLOCK_FIXED_BYTES: usize = HASH_BYTES + 4 + 4 + 8 + 8 + 4 + 4;
/// Checkpoint payload bytes before the meta.
const CHECKPOINT_FIXED_BYTES: usize = 8 + HASH_BYTES + 4 + 8 + HASH_BYTES + 8 + 8 + 8 + 1 + 4;

/// The decoded segment header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    pub seq: u64,
    pub created_ms: i64,
    pub encrypted: bool,
    pub prev_hash: Hash,
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        out[0..8].copy_from_slice(&SEGMENT_MAGIC);
        out[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        let flags = if self.encrypted { HEADER_FLAG_ENCRYPTED } else { 0 };
        out[10..12].copy_from_slice(&flags.to_le_bytes());
        out[16..24].copy_from_slice(&self.seq.to_le_bytes());
        out[24..32].copy_from_slice(&self.created_ms.to_le_bytes());
        out[32..64].copy_from_slice(&self.prev_hash);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, String> {
        if bytes.len() < HEADER_BYTES {
            return Err(format!("header is {} bytes, expected {HEADER_BYTES}", bytes.len()));
        }
        if bytes[0..8] != SEGMENT_MAGIC {
            return Err("not a segment file (bad magic)".into());
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != FORMAT_VERSION {
            return Err(format!("format version {version}, expected {FORMAT_VERSION}"));
        }
        let flags = u16::from_le_bytes([bytes[10], bytes[11]]);
        if flags & !HEADER_FLAG_ENCRYPTED != 0 || bytes[12..16] != [0; 4] {
            return Err(format!("unknown header flags {flags:#x}"));
        }
        let mut r = Cursor::new(&bytes[16..HEADER_BYTES]);
        Ok(SegmentHeader {
            seq: r.u64()?,
            created_ms: r.i64()?,
            encrypted: flags & HEADER_FLAG_ENCRYPTED != 0,
            prev_hash: r.hash()?,
        })
    }
}

/// BLAKE3 of the encoded header, signed by every checkpoint so no header field can change.
pub fn header_hash(header: &[u8; HEADER_BYTES]) -> Hash {
    *blake3::hash(header).as_bytes()
}

/// One frame located in a segment: its kind and where its payload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRef {
    pub kind: u8,
    /// Offset of the frame (its kind byte) in the file.
    pub offset: u64,
    /// Offset of the payload in the file.
    pub payload_offset: u64,
    pub payload_len: usize,
}

impl FrameRef {
    /// Offset just past the frame.
    pub fn end(&self) -> u64 {
        self.payload_offset + self.payload_len as u64
    }
}

/// Why a frame walk stopped before the end of the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameStop {
    /// Fewer bytes left than a frame header, or a length running past the end.
    Torn { offset: u64 },
    /// A kind byte that is no frame kind, or a length over the limit.
    Malformed { offset: u64, reason: String },
}

/// Splits `bytes` (a whole segment file after its header, starting at file offset `base`)
/// into frames, stopping at the first that cannot be a frame.
pub fn walk_frames(bytes: &[u8], base: u64) -> (Vec<FrameRef>, Option<FrameStop>) {
    let mut frames = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let offset = base + at as u64;
        if bytes.len() - at < FRAME_HEADER_BYTES {
            return (frames, Some(FrameStop::Torn { offset }));
        }
        let kind = bytes[at];
        let len = u32::from_le_bytes([bytes[at + 1], bytes[at + 2], bytes[at + 3], bytes[at + 4]])
            as usize;
        if kind != FRAME_KIND_BLOCK && kind != FRAME_KIND_CHECKPOINT {
            let reason = format!("unknown frame kind {kind}");
            return (frames, Some(FrameStop::Malformed { offset, reason }));
        }
        if len > FRAME_PAYLOAD_BYTES_MAX {
            let reason = format!("frame length {len} over the limit {FRAME_PAYLOAD_BYTES_MAX}");
            return (frames, Some(FrameStop::Malformed { offset, reason }));
        }
        let payload_at = at + FRAME_HEADER_BYTES;
        if bytes.len() - payload_at < len {
            return (frames, Some(FrameStop::Torn { offset }));
        }
        frames.push(FrameRef {
            kind,
            offset,
            payload_offset: base + payload_at as u64,
            payload_len: len,
        });
        at = payload_at + len;
    }
    (frames, None)
}

/// Appends a frame header for a payload of `len` bytes.
pub fn push_frame_header(out: &mut Vec<u8>, kind: u8, len: usize) {
    debug_assert!(len <= FRAME_PAYLOAD_BYTES_MAX);
    out.push(kind);
    out.extend_from_slice(&(len as u32).to_le_bytes());
}

/// The fields of a block that come before its body (all covered by its hash and AAD).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    pub prev_hash: Hash,
    pub index: u32,
    pub record_count: u32,
    pub min_ms: i64,
    pub max_ms: i64,
    pub raw_len: u32,
    pub nonce: Option<[u8; NONCE_BYTES]>,
}

impl BlockHeader {
    /// Bytes this header takes in a payload.
    pub fn encoded_len(&self) -> usize {
        BLOCK_FIXED_BYTES + if self.nonce.is_some() { NONCE_BYTES } else { 0 }
    }

    /// Appends the header with the body length; the body and hash follow.
    pub fn encode_into(&self, body_len: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prev_hash);
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&self.record_count.to_le_bytes());
        out.extend_from_slice(&self.min_ms.to_le_bytes());
        out.extend_from_slice(&self.max_ms.to_le_bytes());
        out.extend_from_slice(&self.raw_len.to_le_bytes());
        out.extend_from_slice(&(body_len as u32).to_le_bytes());
        if let Some(nonce) = &self.nonce {
            out.extend_from_slice(nonce);
        }
    }
}

/// A block payload split into its parts (borrowing the payload).
#[derive(Debug)]
pub struct BlockView<'a> {
    pub header: BlockHeader,
    /// Every byte before the body: the AAD of an encrypted body.
    pub header_bytes: &'a [u8],
    pub body: &'a [u8],
    pub stored_hash: Hash,
}

impl<'a> BlockView<'a> {
    /// Hash recomputed from the payload (to compare with `stored_hash`).
    pub fn computed_hash(payload: &[u8]) -> Hash {
        debug_assert!(payload.len() >= HASH_BYTES);
        *blake3::hash(&payload[..payload.len() - HASH_BYTES]).as_bytes()
    }
}

/// Splits a block payload; `encrypted` comes from the segment header.
pub fn decode_block(payload: &[u8], encrypted: bool) -> Result<BlockView<'_>, String> {
    let nonce_len = if encrypted { NONCE_BYTES } else { 0 };
    if payload.len() < BLOCK_FIXED_BYTES + nonce_len + HASH_BYTES {
        return Err(format!("block payload of {} bytes is too short", payload.len()));
    }
    let mut r = Cursor::new(payload);
    let prev_hash = r.hash()?;
    let index = r.u32()?;
    let record_count = r.u32()?;
    let min_ms = r.i64()?;
    let max_ms = r.i64()?;
    let raw_len = r.u32()?;
    let body_len = r.u32()? as usize;
    let nonce = if encrypted { Some(r.array::<NONCE_BYTES>()?) } else { None };
    let header_len = r.at;
    if payload.len() != header_len + body_len + HASH_BYTES {
        return Err(format!(
            "block body length {body_len} does not fit a payload of {} bytes",
            payload.len()
        ));
    }
    if raw_len as usize > BLOCK_RAW_BYTES_MAX {
        return Err(format!("block raw length {raw_len} over the limit {BLOCK_RAW_BYTES_MAX}"));
    }
    if record_count > 0 && min_ms > max_ms {
        return Err(format!("block time bounds {min_ms}..{max_ms} are reversed"));
    }
    let body = &payload[header_len..header_len + body_len];
    let mut stored_hash = [0u8; HASH_BYTES];
    stored_hash.copy_from_slice(&payload[header_len + body_len..]);
    Ok(BlockView {
        header: BlockHeader { prev_hash, index, record_count, min_ms, max_ms, raw_len, nonce },
        header_bytes: &payload[..header_len],
        body,
        stored_hash,
    })
}

/// A checkpoint's fields (its signature is checked apart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: u64,
    pub header_hash: Hash,
    pub block_count: u32,
    pub record_count: u64,
    pub last_hash: Hash,
    pub min_ms: i64,
    pub max_ms: i64,
    pub committed_ms: i64,
    pub is_final: bool,
    pub has_meta: bool,
    pub meta: Vec<u8>,
}

impl Checkpoint {
    /// The bytes that are signed (after the signing context) and stored before the signature.
    pub fn encode_unsigned(&self) -> Vec<u8> {
        assert!(self.meta.len() <= META_BYTES_MAX, "meta length is checked by commit");
        let mut out = Vec::with_capacity(CHECKPOINT_FIXED_BYTES + self.meta.len() + 64);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.header_hash);
        out.extend_from_slice(&self.block_count.to_le_bytes());
        out.extend_from_slice(&self.record_count.to_le_bytes());
        out.extend_from_slice(&self.last_hash);
        out.extend_from_slice(&self.min_ms.to_le_bytes());
        out.extend_from_slice(&self.max_ms.to_le_bytes());
        out.extend_from_slice(&self.committed_ms.to_le_bytes());
        let mut flags = 0u8;
        if self.is_final {
            flags |= CHECKPOINT_FLAG_FINAL;
        }
        if self.has_meta {
            flags |= CHECKPOINT_FLAG_HAS_META;
        }
        out.push(flags);
        out.extend_from_slice(&(self.meta.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.meta);
        out
    }
}

/// A checkpoint payload split into fields, the signed bytes and the signature.
#[derive(Debug)]
pub struct CheckpointView<'a> {
    pub checkpoint: Checkpoint,
    pub signed: &'a [u8],
    pub signature: [u8; SIGNATURE_BYTES],
}

/// Decodes a checkpoint payload.
pub fn decode_checkpoint(payload: &[u8]) -> Result<CheckpointView<'_>, String> {
    if payload.len() < CHECKPOINT_FIXED_BYTES + SIGNATURE_BYTES {
        return Err(format!("checkpoint payload of {} bytes is too short", payload.len()));
    }
    let mut r = Cursor::new(payload);
    let seq = r.u64()?;
    let header_hash = r.hash()?;
    let block_count = r.u32()?;
    let record_count = r.u64()?;
    let last_hash = r.hash()?;
    let min_ms = r.i64()?;
    let max_ms = r.i64()?;
    let committed_ms = r.i64()?;
    let flags = r.array::<1>()?[0];
    let meta_len = r.u32()? as usize;
    if flags & !(CHECKPOINT_FLAG_FINAL | CHECKPOINT_FLAG_HAS_META) != 0 {
        return Err(format!("unknown checkpoint flags {flags:#x}"));
    }
    if meta_len > META_BYTES_MAX {
        return Err(format!("checkpoint meta length {meta_len} over the limit {META_BYTES_MAX}"));
    }
    if payload.len() != CHECKPOINT_FIXED_BYTES + meta_len + SIGNATURE_BYTES {
        return Err(format!(
            "checkpoint meta length {meta_len} does not fit a payload of {} bytes",
            payload.len()
        ));
    }
    let meta = r.take(meta_len)?.to_vec();
    let signed_len = r.at;
    let signature = r.array::<SIGNATURE_BYTES>()?;
    Ok(CheckpointView {
        checkpoint: Checkpoint {
            seq,
            header_hash,
            block_count,
            record_count,
            last_hash,
            min_ms,
            max_ms,
            committed_ms,
            is_final: flags & CHECKPOINT_FLAG_FINAL != 0,
            has_meta: flags & CHECKPOINT_FLAG_HAS_META != 0,
            meta,
        },
        signed: &payload[..signed_len],
        signature,
    })
}

/// A bounds-checked little-endian reader over a byte slice.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pub(crate) at: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, at: 0 }
    }

    /// Bytes `start..end` of the whole slice (positions from `at`).
    pub(crate) fn slice(&self, start: usize, end: usize) -> &'a [u8] {
        &self.bytes[start..end]
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.remaining() < n {
            return Err(format!("{n} bytes wanted at {}, {} left", self.at, self.remaining()));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub(crate) fn hash(&mut self) -> Result<Hash, String> {
        self.array()
    }
}

/// Turns a decoding reason into a store error placed in a file.
pub(crate) fn corrupt(path: &std::path::Path, seq: u64, offset: u64, reason: String) -> StoreError {
    StoreError::Corrupt { path: path.to_path_buf(), seq, offset, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let header =
            SegmentHeader { seq: 42, created_ms: -5, encrypted: true, prev_hash: [7; HASH_BYTES] };
        assert_eq!(SegmentHeader::decode(&header.encode()).unwrap(), header);
    }

    #[test]
    fn checkpoint_round_trips() {
        let checkpoint = Checkpoint {
            seq: 3,
            header_hash: [1; 32],
            block_count: 9,
            record_count: 1000,
            last_hash: [2; 32],
            min_ms: 10,
            max_ms: 20,
            committed_ms: 30,
            is_final: true,
            has_meta: true,
            meta: b"offsets".to_vec(),
        };
        let mut payload = checkpoint.encode_unsigned();
        payload.extend_from_slice(&[9; SIGNATURE_BYTES]);
        let view = decode_checkpoint(&payload).unwrap();
        assert_eq!(view.checkpoint, checkpoint);
        assert_eq!(view.signature, [9; SIGNATURE_BYTES]);
    }

    #[test]
    fn torn_frame_is_reported_at_its_offset() {
        let mut bytes = Vec::new();
        push_frame_header(&mut bytes, FRAME_KIND_CHECKPOINT, 3);
        bytes.extend_from_slice(&[1, 2, 3]);
        push_frame_header(&mut bytes, FRAME_KIND_BLOCK, 10);
        bytes.extend_from_slice(&[0; 4]);
        let (frames, stop) = walk_frames(&bytes, 64);
        assert_eq!(frames.len(), 1);
        assert_eq!(stop, Some(FrameStop::Torn { offset: 64 + 8 }));
    }
}
