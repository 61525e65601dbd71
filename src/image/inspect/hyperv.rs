//! Microsoft's formats: VHD (qemu's `vpc`, Glance's `vhd`) and VHDX.

use std::io::{Read, Seek};

use super::{Inspection, Source, UnsafeReason, be16, be32, be64, le16, le32, le64, unreadable};
use crate::error::Result;

/// `conectix`: the VHD footer's cookie, copied at the start of dynamic and differencing disks.
pub(super) const VHD_COOKIE: &[u8] = b"conectix";
/// `vhdxfile`: the VHDX file type identifier.
pub(super) const VHDX_SIGNATURE: &[u8] = b"vhdxfile";

const VHD_FOOTER: usize = 512;
/// The largest CHS geometry (65535 cylinders, 16 heads, 255 sectors): such disks are sized by
/// the footer's current size, as qemu does.
const VHD_MAX_GEOMETRY: u64 = 65535 * 16 * 255;
/// The creator applications whose disks qemu sizes by the footer's current size rather than
/// by the CHS geometry (Hyper-V, qemu with `force_size`, Disk2vhd, XenConverter, XenServer).
const VHD_SIZED_BY_FOOTER: &[&[u8; 4]] = &[b"win ", b"qem2", b"d2v ", b"CTXS", b"tap\0"];
const VHD_DIFFERENCING: u32 = 4;

/// The two region tables, at 192 KiB and 256 KiB.
const VHDX_REGION_TABLES: [u64; 2] = [192 * 1024, 256 * 1024];
const VHDX_TABLE_HEADER: usize = 16;
const VHDX_ENTRY: usize = 32;
/// The specification allows at most 2047 region and metadata entries.
const VHDX_MAX_ENTRIES: usize = 2047;
/// Metadata region 8B7CA206-4790-4B9A-B8FE-575F050F886E, on disk in Microsoft's byte order.
const VHDX_METADATA_REGION: [u8; 16] = guid(0x8B7C_A206, 0x4790, 0x4B9A, 0xB8FE_575F_050F_886E);
/// Virtual Disk Size item 2FA54224-CD1B-4876-B211-5DBED83BF4B8.
const VHDX_VIRTUAL_DISK_SIZE: [u8; 16] = guid(0x2FA5_4224, 0xCD1B, 0x4876, 0xB211_5DBE_D83B_F4B8);
/// File Parameters item CAA16737-FA36-4D43-B3B6-33F0AA44E76B (its flags say "has parent").
const VHDX_FILE_PARAMETERS: [u8; 16] = guid(0xCAA1_6737, 0xFA36, 0x4D43, 0xB3B6_33F0_AA44_E76B);
const VHDX_HAS_PARENT: u32 = 1 << 1;

/// A GUID's bytes as VHDX stores them: the first three fields little-endian.
const fn guid(first: u32, second: u16, third: u16, rest: u64) -> [u8; 16] {
    let first = first.to_le_bytes();
    let second = second.to_le_bytes();
    let third = third.to_le_bytes();
    let rest = rest.to_be_bytes();
    [
        first[0], first[1], first[2], first[3], second[0], second[1], third[0], third[1], rest[0],
        rest[1], rest[2], rest[3], rest[4], rest[5], rest[6], rest[7],
    ]
}

/// Reads a VHD footer copy at the start of the file and sizes the disk the way qemu does.
pub(super) fn vhd<R: Read + Seek>(source: &mut Source<R>) -> Result<Inspection> {
    let footer = match source.read_exact_at("vhd", 0, VHD_FOOTER)? {
        Ok(footer) => footer,
        Err(truncated) => return Ok(truncated),
    };
    let current_size = be64(&footer, 48);
    let geometry = u64::from(be16(&footer, 56))
        * u64::from(footer[58]) // heads
        * u64::from(footer[59]); // sectors per track
    let creator = super::bytes::<4>(&footer, 28);
    let by_footer = VHD_SIZED_BY_FOOTER.contains(&&creator) || geometry == VHD_MAX_GEOMETRY;
    let virtual_size = if by_footer {
        current_size / 512 * 512
    } else {
        geometry * 512
    };
    let mut inspection = Inspection::new("vhd", virtual_size);
    let disk_type = be32(&footer, 60);
    inspection.subformat = Some(
        match disk_type {
            2 => "fixed",
            3 => "dynamic",
            VHD_DIFFERENCING => "differencing",
            _ => "unknown",
        }
        .to_owned(),
    );
    if disk_type == VHD_DIFFERENCING {
        inspection.unsafe_reasons.push(UnsafeReason::ParentDisk);
    }
    Ok(inspection)
}

/// Reads the VHDX region table and metadata: the virtual disk size and the parent flag.
pub(super) fn vhdx<R: Read + Seek>(source: &mut Source<R>) -> Result<Inspection> {
    let Some((metadata_at, metadata_len)) = vhdx_region(source)? else {
        let needed = VHDX_REGION_TABLES[1] + VHDX_TABLE_HEADER as u64;
        if source.len < needed {
            return Ok(Inspection::truncated("vhdx", needed, source.len));
        }
        return Err(unreadable(
            "vhdx",
            "no region table lists the metadata region",
        ));
    };
    let table = match source.read_exact_at("vhdx", metadata_at, 32)? {
        Ok(table) => table,
        Err(truncated) => return Ok(truncated),
    };
    if !table.starts_with(b"metadata") {
        return Err(unreadable("vhdx", "the metadata table has no signature"));
    }
    let count = usize::from(le16(&table, 10)).min(VHDX_MAX_ENTRIES);
    let entries =
        match source.read_exact_at("vhdx", metadata_at.saturating_add(32), count * VHDX_ENTRY)? {
            Ok(entries) => entries,
            Err(truncated) => return Ok(truncated),
        };
    let mut virtual_size = None;
    let mut has_parent = false;
    for entry in entries.chunks_exact(VHDX_ENTRY) {
        let item_offset = u64::from(le32(entry, 16));
        let item_len = le32(entry, 20);
        if item_offset.saturating_add(u64::from(item_len)) > u64::from(metadata_len) {
            return Err(unreadable(
                "vhdx",
                "a metadata item lies outside its region",
            ));
        }
        let item = super::bytes::<16>(entry, 0);
        if item == VHDX_VIRTUAL_DISK_SIZE || item == VHDX_FILE_PARAMETERS {
            let value =
                match source.read_exact_at("vhdx", metadata_at.saturating_add(item_offset), 8)? {
                    Ok(value) => value,
                    Err(truncated) => return Ok(truncated),
                };
            if item == VHDX_VIRTUAL_DISK_SIZE {
                virtual_size = Some(le64(&value, 0));
            } else {
                has_parent = le32(&value, 4) & VHDX_HAS_PARENT != 0;
            }
        }
    }
    let virtual_size =
        virtual_size.ok_or_else(|| unreadable("vhdx", "no virtual disk size in the metadata"))?;
    let mut inspection = Inspection::new("vhdx", virtual_size);
    if has_parent {
        inspection.unsafe_reasons.push(UnsafeReason::ParentDisk);
    }
    Ok(inspection)
}

/// The metadata region's offset and length from the first region table with a signature.
fn vhdx_region<R: Read + Seek>(source: &mut Source<R>) -> Result<Option<(u64, u32)>> {
    for table_at in VHDX_REGION_TABLES {
        let header = source.read_at(table_at, VHDX_TABLE_HEADER)?;
        if header.len() < VHDX_TABLE_HEADER || !header.starts_with(b"regi") {
            continue;
        }
        let count = (le32(&header, 8) as usize).min(VHDX_MAX_ENTRIES);
        let entries = source.read_at(table_at + VHDX_TABLE_HEADER as u64, count * VHDX_ENTRY)?;
        for entry in entries.chunks_exact(VHDX_ENTRY) {
            if super::bytes::<16>(entry, 0) == VHDX_METADATA_REGION {
                return Ok(Some((le64(entry, 16), le32(entry, 24))));
            }
        }
    }
    Ok(None)
}
