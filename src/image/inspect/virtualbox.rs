//! VirtualBox's VDI.

use std::io::{Read, Seek};

use super::{Inspection, Source, le32, le64, unreadable};
use crate::error::Result;

/// The VDI signature, at offset 0x40 after the 64-byte text banner.
const SIGNATURE: u32 = 0xBEDA_107F;
const SIGNATURE_AT: usize = 0x40;
/// Version 1.1, the only one VirtualBox and qemu write.
const VERSION_1_1: u32 = 0x0001_0001;
/// The version 1.1 header ends with the disk size (u64 at 0x170) before its UUIDs.
const DISK_SIZE_AT: usize = 0x170;

/// True when `start` carries the VDI signature.
pub(super) fn is_vdi(start: &[u8]) -> bool {
    start.len() >= SIGNATURE_AT + 4 && le32(start, SIGNATURE_AT) == SIGNATURE
}

/// Reads a VDI header's disk size, rounded up to whole sectors as qemu does.
pub(super) fn vdi<R: Read + Seek>(source: &mut Source<R>) -> Result<Inspection> {
    let header = match source.read_exact_at("vdi", 0, DISK_SIZE_AT + 8)? {
        Ok(header) => header,
        Err(truncated) => return Ok(truncated),
    };
    let version = le32(&header, SIGNATURE_AT + 4);
    if version != VERSION_1_1 {
        return Err(unreadable(
            "vdi",
            format!("unsupported version {version:#x}"),
        ));
    }
    let disk_size = le64(&header, DISK_SIZE_AT);
    let virtual_size = disk_size
        .checked_next_multiple_of(512)
        .ok_or_else(|| unreadable("vdi", "the disk size overflows"))?;
    Ok(Inspection::new("vdi", virtual_size))
}
