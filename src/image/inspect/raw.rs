//! Raw data: plain, an ISO 9660 image, or a disk with an MBR or GPT partition table. qemu
//! reads all of them as raw, so the virtual size is the file's length.

use std::io::{Read, Seek};

use super::{Inspection, PartitionTable, Source};
use crate::error::Result;

/// ISO 9660 volume descriptors start at sector 16 (of 2048 bytes), each with `CD001` after
/// its type byte.
const ISO_DESCRIPTOR_AT: u64 = 16 * 2048;
const ISO_IDENTIFIER: &[u8] = b"CD001";
/// The MBR boot signature at bytes 510 and 511.
const BOOT_SIGNATURE: [u8; 2] = [0x55, 0xAA];
/// The four partition entries of an MBR, 16 bytes each.
const MBR_ENTRIES_AT: usize = 446;
/// The partition type of a GPT's protective MBR entry.
const GPT_PROTECTIVE: u8 = 0xEE;
/// The GPT header's signature, in the sector after the MBR.
const GPT_SIGNATURE: &[u8] = b"EFI PART";

/// Classifies data no other format claimed.
pub(super) fn raw<R: Read + Seek>(source: &mut Source<R>, start: &[u8]) -> Result<Inspection> {
    if has_iso_descriptor(source)? {
        return Ok(Inspection::new("iso", source.data_len()));
    }
    let mut inspection = Inspection::new("raw", source.data_len());
    inspection.partition_table = partition_table(source, start)?;
    Ok(inspection)
}

/// True when an ISO 9660 volume descriptor sits where a CD reader looks for one.
pub(super) fn has_iso_descriptor<R: Read + Seek>(source: &mut Source<R>) -> Result<bool> {
    let descriptor = source.read_at(ISO_DESCRIPTOR_AT, 6)?;
    Ok(descriptor.get(1..6) == Some(ISO_IDENTIFIER))
}

fn partition_table<R: Read + Seek>(
    source: &mut Source<R>,
    start: &[u8],
) -> Result<Option<PartitionTable>> {
    if start.get(510..512) != Some(&BOOT_SIGNATURE[..]) {
        return Ok(None);
    }
    let entries: Vec<&[u8]> = start
        .get(MBR_ENTRIES_AT..510)
        .unwrap_or_default()
        .chunks_exact(16)
        .collect();
    // A boot indicator other than 0x00 or 0x80 means this sector is not a partition table
    // (a FAT boot sector also ends with 0x55AA).
    if entries.iter().any(|entry| !matches!(entry[0], 0x00 | 0x80)) {
        return Ok(None);
    }
    if entries.iter().any(|entry| entry[4] == GPT_PROTECTIVE) {
        let header = source.read_at(512, GPT_SIGNATURE.len())?;
        if header == GPT_SIGNATURE {
            return Ok(Some(PartitionTable::Gpt));
        }
    }
    if entries.iter().any(|entry| entry[4] != 0) {
        return Ok(Some(PartitionTable::Mbr));
    }
    Ok(None)
}
