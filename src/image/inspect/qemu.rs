//! qemu's own formats: qcow2 (versions 2 and 3) and QED.

use std::io::{Read, Seek};

use super::{Inspection, Source, UnsafeReason, be32, be64, le64, unreadable};
use crate::error::Result;

/// `QFI\xfb`, the first four bytes of every qcow2 file.
pub(super) const QCOW2_MAGIC: &[u8] = b"QFI\xfb";
/// `QED\0`, the first four bytes of a QED file.
pub(super) const QED_MAGIC: &[u8] = b"QED\0";

/// The version 2 header ends before the feature fields; version 3 adds them up to 104 bytes.
const QCOW2_V2_HEADER: usize = 72;
const QCOW2_V3_HEADER: usize = 104;
/// The incompatible feature bits the qcow2 specification defines: dirty, corrupt, external
/// data file, compression type, extended L2 entries.
const KNOWN_INCOMPATIBLE: u64 = 0b1_1111;
const EXTERNAL_DATA_FILE: u64 = 1 << 2;
/// The header extension that names the external data file.
const DATA_FILE_EXTENSION: u32 = 0x4441_5441;
/// qemu refuses backing file names longer than 1023 bytes.
const MAX_BACKING_NAME: u32 = 1023;
/// How far header extensions are read: they live in the first cluster, at most 2 MiB, but no
/// extension this inspector needs is larger than a file name.
const MAX_EXTENSIONS: usize = 64 * 1024;
/// The QED header's size.
const QED_HEADER: usize = 64;

/// Reads a qcow2 header: virtual size, backing file, data file and feature bits.
pub(super) fn qcow2<R: Read + Seek>(source: &mut Source<R>) -> Result<Inspection> {
    let header = match source.read_exact_at("qcow2", 0, QCOW2_V2_HEADER)? {
        Ok(header) => header,
        Err(truncated) => return Ok(truncated),
    };
    let version = be32(&header, 4);
    let (header, extensions_at) = match version {
        2 => (header, QCOW2_V2_HEADER as u64),
        3 => {
            let header = match source.read_exact_at("qcow2", 0, QCOW2_V3_HEADER)? {
                Ok(header) => header,
                Err(truncated) => return Ok(truncated),
            };
            let length = u64::from(be32(&header, 100));
            if length < QCOW2_V3_HEADER as u64 {
                return Err(unreadable("qcow2", format!("header length {length} < 104")));
            }
            (header, length)
        }
        other => return Err(unreadable("qcow2", format!("unsupported version {other}"))),
    };
    let mut inspection = Inspection::new("qcow2", be64(&header, 24));

    let backing_offset = be64(&header, 8);
    if backing_offset != 0 {
        let size = be32(&header, 16).min(MAX_BACKING_NAME) as usize;
        let name = source.read_at(backing_offset, size)?;
        inspection.unsafe_reasons.push(UnsafeReason::BackingFile {
            name: String::from_utf8_lossy(&name).into_owned(),
        });
    }

    if version == 3 {
        let incompatible = be64(&header, 72);
        if incompatible & EXTERNAL_DATA_FILE != 0 {
            let name = data_file_name(source, extensions_at)?;
            inspection
                .unsafe_reasons
                .push(UnsafeReason::DataFile { name });
        }
        let unknown = incompatible & !KNOWN_INCOMPATIBLE;
        if unknown != 0 {
            inspection
                .unsafe_reasons
                .push(UnsafeReason::UnknownFeatures { bits: unknown });
        }
    }
    Ok(inspection)
}

/// The external data file's name from the header extensions that follow the header, if an
/// extension names it.
fn data_file_name<R: Read + Seek>(source: &mut Source<R>, at: u64) -> Result<Option<String>> {
    let extensions = source.read_at(at, MAX_EXTENSIONS)?;
    let mut offset = 0usize;
    while let Some(entry) = extensions.get(offset..offset.saturating_add(8)) {
        let kind = be32(entry, 0);
        let length = be32(entry, 4) as usize;
        if kind == 0 {
            break;
        }
        let data_at = offset + 8;
        if kind == DATA_FILE_EXTENSION {
            let name = extensions.get(data_at..data_at.saturating_add(length));
            return Ok(name.map(|name| String::from_utf8_lossy(name).into_owned()));
        }
        // Each extension's data is padded to a multiple of 8 bytes.
        offset = data_at.saturating_add(length.div_ceil(8).saturating_mul(8));
    }
    Ok(None)
}

/// Reads a QED header: always refused, like Glance does.
pub(super) fn qed<R: Read + Seek>(source: &mut Source<R>) -> Result<Inspection> {
    let header = match source.read_exact_at("qed", 0, QED_HEADER)? {
        Ok(header) => header,
        Err(mut truncated) => {
            truncated.unsafe_reasons.insert(0, UnsafeReason::Qed);
            return Ok(truncated);
        }
    };
    let mut inspection = Inspection::new("qed", le64(&header, 48));
    inspection.unsafe_reasons.push(UnsafeReason::Qed);
    Ok(inspection)
}
