use std::time::Duration;

use super::*;

fn config(dir: &std::path::Path, segment_bytes: u64) -> JournalConfig {
    JournalConfig {
        dir: dir.to_path_buf(),
        sync: SyncPolicy::Always,
        segment_bytes,
    }
}

fn payloads(recovered: &Recovered) -> Vec<Vec<u8>> {
    recovered
        .records
        .iter()
        .map(|r| r.payload.clone())
        .collect()
}

#[test]
fn appended_records_read_back_in_order_across_segments_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&config(dir.path(), 64), 1).unwrap();
    for i in 0..20u8 {
        let t = journal.append(&[i; 10]).unwrap();
        futures::executor::block_on(journal.durable(t)).unwrap();
    }
    assert!(journal.sealed_segments().unwrap().len() > 1, "rotated");
    journal.close();
    let read = read_after(dir.path(), 0).unwrap();
    assert_eq!(
        payloads(&read),
        (0..20u8).map(|i| vec![i; 10]).collect::<Vec<_>>()
    );
    assert_eq!(read.next_seq, 21);
    // Reopened where it ended, it continues the numbering.
    let journal = Journal::open(&config(dir.path(), 64), read.next_seq).unwrap();
    let t = journal.append(b"more").unwrap();
    assert_eq!(t, Ticket(21));
    futures::executor::block_on(journal.durable(t)).unwrap();
    journal.close();
    let read = read_after(dir.path(), 15).unwrap();
    assert_eq!(read.records.first().unwrap().seq, 16);
    assert_eq!(read.records.last().unwrap().payload, b"more");
}

#[test]
fn a_torn_tail_is_cut_and_damage_before_intact_records_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&config(dir.path(), 1 << 20), 1).unwrap();
    for i in 0..3u8 {
        journal.append(&[i; 100]).unwrap();
    }
    journal.close();
    let segment = dir.path().join(segment::segment_name(1));
    let len = std::fs::metadata(&segment).unwrap().len();
    // A crash mid-write: the last record is cut short.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(len - 7).unwrap();
    let read = read_after(dir.path(), 0).unwrap();
    assert_eq!(read.records.len(), 2);
    assert_eq!(read.next_seq, 3);
    assert!(read.torn_bytes > 0);
    // The cut is durable: reading again finds nothing torn.
    assert_eq!(read_after(dir.path(), 0).unwrap().torn_bytes, 0);
    // A flipped byte in the first record, with intact records after it.
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&segment, &bytes).unwrap();
    let journal = Journal::open(&config(dir.path(), 1 << 20), 3).unwrap();
    futures::executor::block_on(journal.durable(journal.append(b"x").unwrap())).unwrap();
    journal.close();
    let err = read_after(dir.path(), 0).unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
}

#[test]
fn covered_segments_are_removed_and_a_gap_after_the_checkpoint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&config(dir.path(), 32), 1).unwrap();
    for i in 0..10u8 {
        let t = journal.append(&[i; 20]).unwrap();
        futures::executor::block_on(journal.durable(t)).unwrap();
    }
    let sealed = journal.sealed_segments().unwrap();
    let (_, covered, _) = sealed[sealed.len() / 2];
    assert!(journal.remove_through(covered).unwrap() > 0);
    journal.close();
    let read = read_after(dir.path(), covered).unwrap();
    assert_eq!(read.records.first().unwrap().seq, covered + 1);
    assert_eq!(read.records.last().unwrap().seq, 10);
    // Without the checkpoint that covered them, the records are missing.
    let err = read_after(dir.path(), 0).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn checkpoints_are_atomic_and_only_the_newest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = Checkpoints::new(dir.path()).unwrap();
    assert_eq!(checkpoints.latest().unwrap(), None);
    for seq in [0, 7, 12] {
        checkpoints
            .write(&Checkpoint {
                seq,
                payload: vec![seq as u8; 1000],
            })
            .unwrap();
    }
    let latest = checkpoints.latest().unwrap().unwrap();
    assert_eq!((latest.seq, latest.payload.len()), (12, 1000));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // A leftover temporary file of an interrupted write is not a checkpoint.
    std::fs::write(
        dir.path().join("00000000000000000099.checkpoint.tmp"),
        b"half",
    )
    .unwrap();
    assert_eq!(checkpoints.latest().unwrap().unwrap().seq, 12);
}

#[test]
fn the_interval_policy_acknowledges_after_the_write_and_syncs_later() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), 1 << 20);
    config.sync = SyncPolicy::Interval(Duration::from_millis(5));
    let journal = Journal::open(&config, 1).unwrap();
    let t = journal.append(b"a").unwrap();
    futures::executor::block_on(journal.durable(t)).unwrap();
    assert_eq!(journal.durable_seq(), 1);
    journal.close();
    assert_eq!(read_after(dir.path(), 0).unwrap().records.len(), 1);
}

#[test]
fn a_closed_journal_refuses_records() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&config(dir.path(), 1 << 20), 1).unwrap();
    journal.close();
    assert!(matches!(journal.append(b"late"), Err(JournalError::Closed)));
}

proptest::proptest! {
    /// Cut anywhere, the journal reads back a prefix of what was appended.
    #[test]
    fn a_journal_cut_anywhere_reads_back_a_prefix(
        records in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 1..30),
        cut in 0.0f64..1.0,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&config(dir.path(), 1 << 20), 1).unwrap();
        for r in &records {
            journal.append(r).unwrap();
        }
        journal.close();
        let segment = dir.path().join(segment::segment_name(1));
        let len = std::fs::metadata(&segment).unwrap().len();
        let keep = (len as f64 * cut) as u64;
        std::fs::OpenOptions::new().write(true).open(&segment).unwrap().set_len(keep).unwrap();
        let read = read_after(dir.path(), 0).unwrap();
        let n = read.records.len();
        proptest::prop_assert_eq!(payloads(&read), records[..n].to_vec());
        proptest::prop_assert_eq!(read.next_seq, n as u64 + 1);
    }
}
