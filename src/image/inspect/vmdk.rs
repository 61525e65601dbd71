//! VMware VMDK: hosted sparse extents (`KDMV`, incl. streamOptimized) and text descriptor
//! files whose extents are other files (monolithicFlat, split and VMFS layouts).

use std::io::{Read, Seek};

use super::{Inspection, Source, UnsafeReason, le64, sectors_to_bytes, unreadable};
use crate::error::{Error, Result};

/// `KDMV`, the first bytes of a hosted sparse extent (VMDK version 4 header).
pub(super) const SPARSE_MAGIC: &[u8] = b"KDMV";
/// The first line of a descriptor file.
const DESCRIPTOR_START: &[u8] = b"# Disk DescriptorFile";
/// The sparse header and its footer copy take one sector.
const HEADER: usize = 512;
/// A grain directory offset of all ones: the real header is the footer at the end
/// (streamOptimized files written as a stream).
const GD_AT_END: u64 = u64::MAX;
/// Descriptors larger than this are refused, as qemu refuses them.
const MAX_DESCRIPTOR: u64 = 1 << 20;
/// The `createType`s that keep every byte in the one file.
const SINGLE_FILE_TYPES: &[&str] = &["monolithicSparse", "streamOptimized"];

/// True when `start` is the beginning of a text descriptor file.
pub(super) fn is_descriptor(start: &[u8]) -> bool {
    start.starts_with(DESCRIPTOR_START)
}

/// Reads a sparse extent: capacity from its header (or footer), subformat and extents from
/// its embedded descriptor.
pub(super) fn sparse<R: Read + Seek>(source: &mut Source<R>) -> Result<Inspection> {
    let mut header = match source.read_exact_at("vmdk", 0, HEADER)? {
        Ok(header) => header,
        Err(truncated) => return Ok(truncated),
    };
    // (A stream's end is not at hand: its header's capacity stands.)
    if le64(&header, 56) == GD_AT_END && source.whole {
        // The footer sits before the end-of-stream marker: footer marker, footer, marker.
        let footer_at = source.len.saturating_sub(2 * HEADER as u64);
        let footer = source.read_at(footer_at, HEADER)?;
        if footer.starts_with(SPARSE_MAGIC) && footer.len() == HEADER {
            header = footer;
        }
    }
    let capacity = sectors_to_bytes("vmdk", le64(&header, 12))?;
    let mut inspection = Inspection::new("vmdk", capacity);

    let descriptor_at = le64(&header, 28);
    let descriptor_sectors = le64(&header, 36);
    if descriptor_at == 0 || descriptor_sectors == 0 {
        inspection
            .unsafe_reasons
            .push(UnsafeReason::VmdkSubformat { create_type: None });
        return Ok(inspection);
    }
    let descriptor_len = sectors_to_bytes("vmdk", descriptor_sectors)?;
    if descriptor_len > MAX_DESCRIPTOR {
        return Err(too_large(descriptor_len));
    }
    let descriptor_at = sectors_to_bytes("vmdk", descriptor_at)?;
    let Ok(text) = source.read_exact_at("vmdk", descriptor_at, descriptor_len as usize)? else {
        let needed = descriptor_at.saturating_add(descriptor_len);
        inspection.unsafe_reasons.push(UnsafeReason::Truncated {
            needed,
            available: source.len,
        });
        return Ok(inspection);
    };
    let descriptor = Descriptor::parse(&text);
    check_create_type(&mut inspection, &descriptor);
    // The embedded descriptor's first extent is this file; any other is another file.
    for extent in &descriptor.extents {
        if descriptor.extents.len() > 1 || extent.file.contains(['/', '\\']) {
            inspection
                .unsafe_reasons
                .push(UnsafeReason::VmdkExtentFile {
                    file: extent.file.clone(),
                });
        }
    }
    inspection.subformat = descriptor.create_type;
    Ok(inspection)
}

/// Reads a text descriptor file: its size is the sum of its extents, every one of which is
/// another file.
pub(super) fn descriptor_file<R: Read + Seek>(source: &mut Source<R>) -> Result<Inspection> {
    if source.len > MAX_DESCRIPTOR {
        return Err(too_large(source.len));
    }
    let text = source.read_at(0, MAX_DESCRIPTOR as usize)?;
    let descriptor = Descriptor::parse(&text);
    let mut sectors = 0u64;
    for extent in &descriptor.extents {
        sectors = sectors
            .checked_add(extent.sectors)
            .ok_or_else(|| unreadable("vmdk", "extent sizes overflow a 64-bit size"))?;
    }
    let mut inspection = Inspection::new("vmdk", sectors_to_bytes("vmdk", sectors)?);
    check_create_type(&mut inspection, &descriptor);
    for extent in descriptor.extents {
        if extent.kind != "ZERO" {
            inspection
                .unsafe_reasons
                .push(UnsafeReason::VmdkExtentFile { file: extent.file });
        }
    }
    inspection.subformat = descriptor.create_type;
    Ok(inspection)
}

fn check_create_type(inspection: &mut Inspection, descriptor: &Descriptor) {
    let single_file = descriptor
        .create_type
        .as_deref()
        .is_some_and(|kind| SINGLE_FILE_TYPES.contains(&kind));
    if !single_file {
        inspection.unsafe_reasons.push(UnsafeReason::VmdkSubformat {
            create_type: descriptor.create_type.clone(),
        });
    }
}

fn too_large(len: u64) -> Error {
    unreadable(
        "vmdk",
        format!("descriptor of {len} bytes exceeds {MAX_DESCRIPTOR}"),
    )
}

/// What the inspector needs from a descriptor: its `createType` and extent lines.
struct Descriptor {
    create_type: Option<String>,
    extents: Vec<Extent>,
}

/// One extent line: `RW 2048 FLAT "disk-flat.vmdk" 0`.
struct Extent {
    sectors: u64,
    kind: String,
    file: String,
}

impl Descriptor {
    fn parse(text: &[u8]) -> Self {
        // The descriptor is text; the embedded one is padded with NULs to its sectors.
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        let text = String::from_utf8_lossy(&text[..end]);
        let mut descriptor = Descriptor {
            create_type: None,
            extents: Vec::new(),
        };
        for line in text.lines().map(str::trim) {
            if let Some((key, value)) = line.split_once('=')
                && key.trim() == "createType"
            {
                descriptor.create_type = Some(value.trim().trim_matches('"').to_owned());
            } else if let Some(extent) = Extent::parse(line) {
                descriptor.extents.push(extent);
            }
        }
        descriptor
    }
}

impl Extent {
    fn parse(line: &str) -> Option<Self> {
        let mut words = line.split_whitespace();
        if !matches!(words.next()?, "RW" | "RDONLY" | "NOACCESS") {
            return None;
        }
        let sectors = words.next()?.parse().ok()?;
        let kind = words.next()?.to_owned();
        let file = match line.split_once('"') {
            Some((_, rest)) => rest.split('"').next().unwrap_or_default().to_owned(),
            None => String::new(),
        };
        Some(Extent {
            sectors,
            kind,
            file,
        })
    }
}
