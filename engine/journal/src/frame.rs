//! One record on disk: `len: u32 | crc32: u32 | seq: u64 | payload`, little
//! endian, where `len` is the payload's length and the CRC covers the
//! payload (computed before the record takes its place in the queue, so a
//! large record holds the queue's lock only to be copied; a damaged sequence
//! number shows as a break in the numbering). A frame cut short or failing
//! its CRC ends the readable part of a segment.

/// Bytes before the payload.
pub(crate) const HEADER: usize = 16;

/// Largest payload accepted (a whole node's snapshot of a million rows fits
/// many times over).
pub(crate) const MAX_PAYLOAD: usize = 1 << 30;

/// The CRC of a payload.
pub(crate) fn checksum(payload: &[u8]) -> u32 {
    crc32fast::hash(payload)
}

/// Appends the frame of record `seq` to `out`; `crc` is
/// [`checksum`]`(payload)`.
pub(crate) fn encode(out: &mut Vec<u8>, seq: u64, payload: &[u8], crc: u32) {
    out.reserve(HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
}

/// What is at the start of `bytes`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded<'a> {
    /// A whole, intact frame, and its length on disk.
    Frame {
        seq: u64,
        payload: &'a [u8],
        len: usize,
    },
    /// Nothing left.
    End,
    /// A frame cut short or damaged, and why.
    Bad(&'static str),
}

/// Decodes the frame at the start of `bytes`.
pub(crate) fn decode(bytes: &[u8]) -> Decoded<'_> {
    if bytes.is_empty() {
        return Decoded::End;
    }
    if bytes.len() < HEADER {
        return Decoded::Bad("header cut short");
    }
    let word =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let len = word(0) as usize;
    let crc = word(4);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&bytes[8..16]);
    let seq = u64::from_le_bytes(seq);
    if len > MAX_PAYLOAD {
        return Decoded::Bad("length out of range");
    }
    let Some(payload) = bytes.get(HEADER..HEADER + len) else {
        return Decoded::Bad("payload cut short");
    };
    if checksum(payload) != crc {
        return Decoded::Bad("checksum mismatch");
    }
    Decoded::Frame {
        seq,
        payload,
        len: HEADER + len,
    }
}
