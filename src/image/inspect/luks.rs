//! LUKS encrypted volumes (version 1, the one qemu writes).

use std::io::{Read, Seek};

use super::{Inspection, Source, be16, be32, sectors_to_bytes, unreadable};
use crate::error::Result;

/// `LUKS\xba\xbe`, the first six bytes of a LUKS header.
pub(super) const MAGIC: &[u8] = b"LUKS\xba\xbe";
/// The LUKS1 header up to and including the payload offset (u32 at 104).
const HEADER: usize = 108;

/// Reads a LUKS1 header: the guest sees the encrypted payload, which runs from the payload
/// offset to the end of the file.
pub(super) fn luks<R: Read + Seek>(source: &mut Source<R>) -> Result<Inspection> {
    let header = match source.read_exact_at("luks", 0, HEADER)? {
        Ok(header) => header,
        Err(truncated) => return Ok(truncated),
    };
    let version = be16(&header, 6);
    if version != 1 {
        return Err(unreadable("luks", format!("unsupported version {version}")));
    }
    let payload_at = sectors_to_bytes("luks", u64::from(be32(&header, 104)))?;
    if !source.whole {
        return Ok(Inspection::new("luks", 0));
    }
    if payload_at > source.len {
        return Ok(Inspection::truncated("luks", payload_at, source.len));
    }
    Ok(Inspection::new("luks", source.len - payload_at))
}
