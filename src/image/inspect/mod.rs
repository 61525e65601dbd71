//! Local image inspection: the real format of an image file, its virtual size and whether it
//! is safe to hand to a cloud, decided before a single byte is uploaded.
//!
//! This follows the checks Glance makes server-side (oslo.utils `format_inspector`), written
//! from the formats' own specifications: only headers and metadata regions are read (never
//! more than a few hundred KiB, whatever the file's size), and hostile or truncated input gives
//! an unsafe [`Inspection`] or an [`Error`], never a panic.
//!
//! Formats are named as Glance names them (`vhd` for what qemu calls `vpc`); the virtual size
//! is the one `qemu-img info` reports. An ISO 9660 image and a raw disk with an MBR or GPT
//! partition table are raw data to qemu, so their virtual size is the file's length.

mod hyperv;
mod luks;
mod qemu;
mod raw;
mod virtualbox;
mod vmdk;

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};
use crate::generated::DiskFormat;

/// What [`inspect_file`] found in an image file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Inspection {
    /// The format, as Glance names it (`qcow2`, `vmdk`, `vhd`, `vhdx`, `vdi`, `iso`, `raw`;
    /// `qed` and `luks` are [`DiskFormat::Unknown`], Glance's schema does not list them).
    pub format: DiskFormat,
    /// The size of the disk the guest sees, in bytes, as `qemu-img info` reports it; 0 when
    /// the header is truncated (see [`UnsafeReason::Truncated`]), and for raw, ISO and LUKS
    /// data inspected from the start of a longer stream ([`inspect_prefix`]), whose size is
    /// the data's length.
    pub virtual_size: u64,
    /// The variant within the format: the VMDK `createType` (`monolithicSparse`,
    /// `streamOptimized`, ...), the VHD disk type (`fixed`, `dynamic`, `differencing`).
    pub subformat: Option<String>,
    /// For raw data, the partition table found at its start.
    pub partition_table: Option<PartitionTable>,
    /// Why the image must not be uploaded; empty when it is safe.
    pub unsafe_reasons: Vec<UnsafeReason>,
}

impl Inspection {
    /// True when no check failed: the image reads no other file and its header is whole.
    ///
    /// ```
    /// let inspection = openstack_images::inspect_reader(std::io::Cursor::new(vec![0u8; 4096]))?;
    /// assert!(inspection.is_safe());
    /// assert_eq!(inspection.format.as_str(), "raw");
    /// # Ok::<(), openstack_images::Error>(())
    /// ```
    pub fn is_safe(&self) -> bool {
        self.unsafe_reasons.is_empty()
    }

    fn new(format: &str, virtual_size: u64) -> Self {
        Inspection {
            format: DiskFormat::from(format),
            virtual_size,
            subformat: None,
            partition_table: None,
            unsafe_reasons: Vec::new(),
        }
    }

    /// A file whose magic says `format` but that ends before its header does.
    fn truncated(format: &str, needed: u64, available: u64) -> Self {
        let mut inspection = Inspection::new(format, 0);
        inspection
            .unsafe_reasons
            .push(UnsafeReason::Truncated { needed, available });
        inspection
    }
}

/// The partition table at the start of raw disk data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PartitionTable {
    /// A DOS master boot record.
    Mbr,
    /// A GUID partition table (behind its protective MBR).
    Gpt,
}

impl fmt::Display for PartitionTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartitionTable::Mbr => "mbr",
            PartitionTable::Gpt => "gpt",
        })
    }
}

/// Why an image is unsafe to upload: each one makes a hypervisor read something other than
/// the image's own data, or makes the file unreadable to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsafeReason {
    /// A qcow2 backing file: the guest would read another file on the compute host.
    BackingFile {
        /// The backing file's name as the header gives it.
        name: String,
    },
    /// A qcow2 external data file: the image's data lives in another file.
    DataFile {
        /// The data file's name, when the header extension names it.
        name: Option<String>,
    },
    /// A differencing VHD or VHDX: the disk reads its parent's data from another file.
    ParentDisk,
    /// qcow2 incompatible feature bits this inspector (and Glance) does not know.
    UnknownFeatures {
        /// The unknown bits.
        bits: u64,
    },
    /// A VMDK `createType` other than `monolithicSparse` and `streamOptimized`, the two that
    /// keep all data in one file (`None`: the file has no embedded descriptor).
    VmdkSubformat {
        /// The `createType` of the descriptor.
        create_type: Option<String>,
    },
    /// A VMDK descriptor extent that names another file.
    VmdkExtentFile {
        /// The extent's file name, as the descriptor gives it.
        file: String,
    },
    /// The file is also a valid image of another format: hypervisors and tools that probe
    /// it may see different disks.
    Polyglot {
        /// The other format (`iso`).
        other: &'static str,
    },
    /// QED: Glance refuses the format, and qemu deprecated it.
    Qed,
    /// The file ends before the header its magic announces.
    Truncated {
        /// The bytes the header needs.
        needed: u64,
        /// The bytes the file has.
        available: u64,
    },
}

impl fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnsafeReason::BackingFile { name } => write!(f, "qcow2 backing file `{name}`"),
            UnsafeReason::DataFile { name: Some(name) } => {
                write!(f, "qcow2 external data file `{name}`")
            }
            UnsafeReason::DataFile { name: None } => f.write_str("qcow2 external data file"),
            UnsafeReason::ParentDisk => f.write_str("differencing disk with a parent file"),
            UnsafeReason::UnknownFeatures { bits } => {
                write!(f, "qcow2 unknown incompatible features {bits:#x}")
            }
            UnsafeReason::VmdkSubformat {
                create_type: Some(kind),
            } => write!(f, "vmdk subformat `{kind}` keeps its data in other files"),
            UnsafeReason::VmdkSubformat { create_type: None } => {
                f.write_str("vmdk without an embedded descriptor")
            }
            UnsafeReason::VmdkExtentFile { file } => {
                write!(f, "vmdk extent in another file `{file}`")
            }
            UnsafeReason::Polyglot { other } => write!(f, "the file is also a valid {other}"),
            UnsafeReason::Qed => f.write_str("qed images are refused"),
            UnsafeReason::Truncated { needed, available } => write!(
                f,
                "truncated header: needs {needed} bytes, the file has {available}"
            ),
        }
    }
}

/// Inspects the image file at `path`, reading only its headers and metadata.
///
/// Synchronous, unlike the rest of the crate: it blocks the calling thread for a few small
/// reads (headers, a VMDK descriptor, the ISO volume descriptors; milliseconds on a local
/// disk). In async code on a slow or network file system, run it on tokio's blocking pool:
///
/// ```no_run
/// # async fn run() -> openstack_images::Result<()> {
/// let inspection = tokio::task::spawn_blocking(|| openstack_images::inspect_file("disk.qcow2"))
///     .await
///     .expect("the inspection does not panic")?;
/// if !inspection.is_safe() {
///     eprintln!("refusing {}: {:?}", inspection.format.as_str(), inspection.unsafe_reasons);
/// }
/// # Ok(()) }
/// ```
pub fn inspect_file(path: impl AsRef<Path>) -> Result<Inspection> {
    inspect_reader(File::open(path)?)
}

/// The bytes [`inspect_prefix`] needs from the start of a stream to inspect every format
/// whatever its size: the regions a header points to sit within them in the images qemu-img
/// and the hypervisors' tools write (a VHDX's metadata region at 1-3 MiB, a qcow2 backing
/// file name within its first cluster).
pub const INSPECT_PREFIX: usize = 4 << 20;

/// Inspects image data from the first bytes of a stream (a pipe, a download, a
/// decompressor), which cannot seek: `prefix` is the stream's first bytes, at least
/// [`INSPECT_PREFIX`] of them unless the stream ended before (`complete`: `prefix` is all
/// of the data). A header that points past `prefix` is an error, not a guess: an image whose
/// metadata cannot be seen is not called safe. Raw and ISO data from an incomplete prefix
/// have a virtual size of 0 (unknown until the stream ends).
///
/// ```
/// use openstack_images::{INSPECT_PREFIX, inspect_prefix};
/// // All of a short stream: raw data of that length.
/// let inspection = inspect_prefix(&[0u8; 4096], true)?;
/// assert_eq!((inspection.format.as_str(), inspection.virtual_size), ("raw", 4096));
/// // The start of a longer one: raw data, its length not known yet.
/// let inspection = inspect_prefix(&vec![0u8; INSPECT_PREFIX], false)?;
/// assert_eq!((inspection.format.as_str(), inspection.virtual_size), ("raw", 0));
/// # Ok::<(), openstack_images::Error>(())
/// ```
pub fn inspect_prefix(prefix: &[u8], complete: bool) -> Result<Inspection> {
    inspect_source(Source {
        reader: std::io::Cursor::new(prefix),
        len: prefix.len() as u64,
        whole: complete,
    })
}

/// Inspects image data from a seekable reader; offsets count from the reader's start.
/// Synchronous, as [`inspect_file`].
///
/// ```
/// let mut data = vec![0u8; 1024];
/// data[..4].copy_from_slice(b"QED\0");
/// let inspection = openstack_images::inspect_reader(std::io::Cursor::new(data))?;
/// assert_eq!(inspection.format.as_str(), "qed");
/// assert!(!inspection.is_safe());
/// # Ok::<(), openstack_images::Error>(())
/// ```
pub fn inspect_reader<R: Read + Seek>(reader: R) -> Result<Inspection> {
    inspect_source(Source::new(reader)?)
}

fn inspect_source<R: Read + Seek>(mut source: Source<R>) -> Result<Inspection> {
    let start = source.read_at(0, 512)?;
    let mut inspection = if start.starts_with(qemu::QCOW2_MAGIC) {
        qemu::qcow2(&mut source)
    } else if start.starts_with(qemu::QED_MAGIC) {
        qemu::qed(&mut source)
    } else if start.starts_with(vmdk::SPARSE_MAGIC) {
        vmdk::sparse(&mut source)
    } else if vmdk::is_descriptor(&start) {
        vmdk::descriptor_file(&mut source)
    } else if start.starts_with(hyperv::VHD_COOKIE) {
        hyperv::vhd(&mut source)
    } else if start.starts_with(hyperv::VHDX_SIGNATURE) {
        hyperv::vhdx(&mut source)
    } else if virtualbox::is_vdi(&start) {
        virtualbox::vdi(&mut source)
    } else if start.starts_with(luks::MAGIC) {
        luks::luks(&mut source)
    } else {
        return raw::raw(&mut source, &start);
    }?;
    // A file one reader takes for an image and another for a CD is a trap (the CVE-2024-32498
    // family): what boots depends on who probes it.
    if raw::has_iso_descriptor(&mut source)? {
        inspection
            .unsafe_reasons
            .push(UnsafeReason::Polyglot { other: "iso" });
    }
    Ok(inspection)
}

/// A reader with its length, read at absolute offsets in bounded pieces.
struct Source<R> {
    reader: R,
    /// The bytes the reader has.
    len: u64,
    /// Whether they are all of the data (false: the first bytes of a longer stream).
    whole: bool,
}

impl<R: Read + Seek> Source<R> {
    fn new(mut reader: R) -> Result<Self> {
        let len = reader.seek(SeekFrom::End(0))?;
        Ok(Source {
            reader,
            len,
            whole: true,
        })
    }

    /// The data's length, when it is known (0 otherwise, for an [`Inspection`]'s size).
    fn data_len(&self) -> u64 {
        if self.whole { self.len } else { 0 }
    }

    /// Up to `len` bytes at `offset`: fewer where the file ends first. Of a stream's first
    /// bytes, a read past them is an error.
    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>> {
        if !self.whole && offset.saturating_add(len as u64) > self.len {
            return Err(Error::invalid(
                "image data",
                format!(
                    "its header points to bytes {offset}..{} of a stream, past the first {} \
                     the inspector reads before the upload: upload it from a regular file to \
                     inspect it whole",
                    offset.saturating_add(len as u64),
                    self.len
                ),
            ));
        }
        let available = self.len.saturating_sub(offset).min(len as u64);
        let mut buf = Vec::with_capacity(usize::try_from(available).unwrap_or(0));
        if available > 0 {
            self.reader.seek(SeekFrom::Start(offset))?;
            (&mut self.reader).take(available).read_to_end(&mut buf)?;
        }
        Ok(buf)
    }

    /// Exactly `len` bytes at `offset`, or the [`UnsafeReason::Truncated`] inspection of
    /// `format` when the file ends before them.
    fn read_exact_at(
        &mut self,
        format: &str,
        offset: u64,
        len: usize,
    ) -> Result<Result<Vec<u8>, Inspection>> {
        let buf = self.read_at(offset, len)?;
        if buf.len() < len {
            let needed = offset.saturating_add(len as u64);
            return Ok(Err(Inspection::truncated(format, needed, self.len)));
        }
        Ok(Ok(buf))
    }
}

/// An image the inspector recognizes but cannot read: a typed error, never a panic.
fn unreadable(format: &str, reason: impl fmt::Display) -> Error {
    Error::invalid("image file", format!("{format}: {reason}"))
}

/// `N` bytes of `buf` at `at`, zeros past its end (callers check the header length first).
fn bytes<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    if let Some(field) = buf.get(at..at.saturating_add(N)) {
        out.copy_from_slice(field);
    }
    out
}

fn be16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(bytes(buf, at))
}

fn be32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes(buf, at))
}

fn be64(buf: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(bytes(buf, at))
}

fn le16(buf: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(bytes(buf, at))
}

fn le32(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes(buf, at))
}

fn le64(buf: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes(buf, at))
}

/// `sectors` of 512 bytes in bytes, or an error when that overflows.
fn sectors_to_bytes(format: &str, sectors: u64) -> Result<u64> {
    sectors
        .checked_mul(512)
        .ok_or_else(|| unreadable(format, format!("{sectors} sectors overflow a 64-bit size")))
}
