//! How one commit's records are stored: one LZ4 block holding every record
//! of the batch as `key (u128, little endian) | length (u32, little endian) |
//! bytes`, so a commit inserts one value instead of one B-tree entry per
//! record, and records compress together (they repeat node and SKU codes).

use super::store::NewRecord;

/// Bytes of a frame header: the key and the length.
const HEADER: usize = 16 + 4;

/// The stored form of `records`: their frames, LZ4-compressed with the
/// uncompressed size prepended.
pub(super) fn encode<'a>(records: impl IntoIterator<Item = &'a NewRecord>) -> Vec<u8> {
    let mut frames = Vec::new();
    for record in records {
        frames.extend_from_slice(&record.key.to_le_bytes());
        let len = u32::try_from(record.bytes.len()).expect("a record under 4 GiB");
        frames.extend_from_slice(&len.to_le_bytes());
        frames.extend_from_slice(&record.bytes);
    }
    lz4_flex::compress_prepend_size(&frames)
}

/// The records of a stored batch, in the order they were written; an error
/// names what is wrong with the bytes.
pub(super) fn decode(stored: &[u8]) -> Result<Vec<NewRecord>, String> {
    let frames = lz4_flex::decompress_size_prepended(stored).map_err(|e| e.to_string())?;
    let mut records = Vec::new();
    let mut rest = frames.as_slice();
    while !rest.is_empty() {
        let (header, body) = rest
            .split_at_checked(HEADER)
            .ok_or("a frame header is cut short")?;
        let key = u128::from_le_bytes(header[..16].try_into().expect("16 bytes"));
        let len = u32::from_le_bytes(header[16..].try_into().expect("4 bytes")) as usize;
        let (bytes, next) = body
            .split_at_checked(len)
            .ok_or_else(|| format!("record {key:032x} is cut short"))?;
        records.push(NewRecord {
            key,
            bytes: bytes.to_vec(),
        });
        rest = next;
    }
    Ok(records)
}

/// The millisecond of a decision key (a ULID's first 48 bits): records are
/// indexed by it.
pub(super) fn millisecond(key: u128) -> u64 {
    (key >> 80) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_decodes_to_its_records_in_order() {
        let records = vec![
            NewRecord {
                key: 7,
                bytes: b"seven".to_vec(),
            },
            NewRecord {
                key: u128::MAX,
                bytes: Vec::new(),
            },
            NewRecord {
                key: 7 << 80,
                bytes: vec![0; 3000],
            },
        ];
        assert_eq!(decode(&encode(&records)).unwrap(), records);
        assert_eq!(decode(&encode(&[])).unwrap(), Vec::new());
        assert_eq!(millisecond(7 << 80), 7);
    }

    #[test]
    fn a_cut_batch_is_an_error_not_a_panic() {
        let records = [NewRecord {
            key: 1,
            bytes: b"abc".to_vec(),
        }];
        let frames = lz4_flex::decompress_size_prepended(&encode(&records)).unwrap();
        for cut in 1..frames.len() {
            let stored = lz4_flex::compress_prepend_size(&frames[..cut]);
            assert!(decode(&stored).is_err(), "cut at {cut}");
        }
        assert!(decode(&[9, 0, 0, 0]).is_err());
    }
}
