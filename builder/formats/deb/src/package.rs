//! A .deb as a whole: its ar layout (`debian-binary`, `control.tar*`, `data.tar*`), the
//! decompressed streams of its members, and the control information read from control.tar.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::ar;
use crate::control::Control;
use crate::tar::{EntryType, TarReader};
use crate::Error;

/// A control.tar member larger than this is rejected (the largest real ones, md5sums and
/// templates, are a few MiB).
pub const MAX_CONTROL_MEMBER: u64 = 32 << 20;
/// The memory the xz and lzma decoders may use. liblzma allocates the dictionary that a
/// stream's header declares, up to 4 GiB, before reading any data; real packages need at most
/// 65 MiB (`xz -9`, a 64 MiB dictionary), so a larger request is an error, not an allocation.
pub const MAX_DECODER_MEMORY: u64 = 256 << 20;
/// The names dpkg runs as maintainer scripts.
pub const MAINTAINER_SCRIPTS: [&str; 5] = ["preinst", "postinst", "prerm", "postrm", "config"];

/// How a tar member of the package is compressed, from its name's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Lzma,
    Zstd,
}

impl Compression {
    fn from_member(base: &str, name: &str) -> Option<Compression> {
        match name.strip_prefix(base)? {
            "" => Some(Compression::None),
            ".gz" => Some(Compression::Gzip),
            ".xz" => Some(Compression::Xz),
            ".lzma" => Some(Compression::Lzma),
            ".zst" => Some(Compression::Zstd),
            _ => None,
        }
    }
}

/// Where the control and data archives lie in the package file.
#[derive(Clone, Debug)]
pub struct Layout {
    pub control: ar::Member,
    pub control_compression: Compression,
    pub data: ar::Member,
    pub data_compression: Compression,
}

/// Reads and checks the ar structure of a package: `debian-binary` first with a 2.x version,
/// then (after any `_`-prefixed members, which dpkg ignores) control.tar*, then data.tar*.
pub fn layout(path: &Path, file: &mut File) -> Result<Layout, Error> {
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut r = BufReader::new(&mut *file);
    let members = ar::members(&mut r, len).map_err(|reason| Error::ar(path, reason))?;
    let mut it = members.into_iter();
    let first = it
        .next()
        .ok_or_else(|| Error::ar(path, "the archive has no members"))?;
    if first.name != "debian-binary" {
        return Err(Error::ar(
            path,
            format!("first member is {:?}, not debian-binary", first.name),
        ));
    }
    if first.size > 64 {
        return Err(Error::ar(path, "debian-binary is longer than 64 bytes"));
    }
    let mut version = vec![0u8; first.size as usize];
    r.seek(SeekFrom::Start(first.offset))
        .and_then(|_| r.read_exact(&mut version))
        .map_err(|e| Error::io(path, e))?;
    let version = String::from_utf8_lossy(&version).trim_end().to_string();
    let major_ok = version
        .split_once('.')
        .is_some_and(|(major, minor)| major == "2" && minor.bytes().all(|b| b.is_ascii_digit()));
    if !major_ok {
        return Err(Error::Version {
            package: path.to_path_buf(),
            version,
        });
    }
    let mut rest = it.filter(|m| !m.name.starts_with('_'));
    let control = rest
        .next()
        .ok_or_else(|| Error::ar(path, "no control.tar member"))?;
    let control_compression = if control.name.starts_with("control.tar") {
        Compression::from_member("control.tar", &control.name).ok_or_else(|| {
            Error::Compression {
                package: path.to_path_buf(),
                member: control.name.clone(),
            }
        })?
    } else {
        return Err(Error::ar(
            path,
            format!("second member is {:?}, not control.tar*", control.name),
        ));
    };
    let data = rest
        .next()
        .ok_or_else(|| Error::ar(path, "no data.tar member"))?;
    let data_compression = if data.name.starts_with("data.tar") {
        Compression::from_member("data.tar", &data.name).ok_or_else(|| Error::Compression {
            package: path.to_path_buf(),
            member: data.name.clone(),
        })?
    } else {
        return Err(Error::ar(
            path,
            format!("third member is {:?}, not data.tar*", data.name),
        ));
    };
    Ok(Layout {
        control,
        control_compression,
        data,
        data_compression,
    })
}

/// The decompressed bytes of one member of the package file.
pub fn open_member(
    path: &Path,
    mut file: File,
    member: &ar::Member,
    compression: Compression,
) -> Result<Box<dyn Read + Send>, Error> {
    file.seek(SeekFrom::Start(member.offset))
        .map_err(|e| Error::io(path, e))?;
    let raw = BufReader::with_capacity(128 * 1024, file.take(member.size));
    Ok(match compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(raw)),
        Compression::Xz | Compression::Lzma => {
            let stream = if compression == Compression::Xz {
                xz2::stream::Stream::new_stream_decoder(
                    MAX_DECODER_MEMORY,
                    xz2::stream::CONCATENATED,
                )
            } else {
                xz2::stream::Stream::new_lzma_decoder(MAX_DECODER_MEMORY)
            }
            .map_err(|e| Error::io(path, std::io::Error::other(format!("xz decoder: {e}"))))?;
            Box::new(xz2::bufread::XzDecoder::new_stream(raw, stream))
        }
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::with_buffer(raw).map_err(|e| Error::io(path, e))?)
        }
    })
}

/// Opens a package's decompressed data.tar stream; also returns the member's name.
pub fn open_data(path: &Path) -> Result<(Box<dyn Read + Send>, String), Error> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let l = layout(path, &mut file)?;
    Ok((
        open_member(path, file, &l.data, l.data_compression)?,
        l.data.name,
    ))
}

/// What the package manager needs to know about a package: its control information.
#[derive(Clone, Debug)]
pub struct DebPackage {
    /// The package file it was read from.
    pub path: PathBuf,
    /// The parsed control stanza.
    pub control: Control,
    /// The conffiles the package ships (absolute paths as listed in its `conffiles`).
    pub conffiles: Vec<String>,
    /// The `md5sums` control file, as shipped.
    pub md5sums: Option<String>,
    /// The maintainer scripts present (which will not be run at build time), for diagnostics.
    pub scripts: Vec<String>,
    /// Every control.tar member except `control` (name, bytes), sorted by name: dpkg keeps them
    /// in its database as `info/<package>.<name>`.
    pub info_files: Vec<(String, Vec<u8>)>,
    /// The sha256 a lockfile pins for the package file, if any: a scan refuses a file with
    /// another digest before decompressing anything (a replaced or damaged cache entry).
    pub pinned_sha256: Option<[u8; 32]>,
}

impl DebPackage {
    /// The name dpkg gives the package in its database files: `name:arch` for
    /// `Multi-Arch: same` packages, `name` otherwise.
    pub fn dpkg_name(&self) -> String {
        if self.control.multi_arch() == "same" {
            format!("{}:{}", self.control.name(), self.control.architecture())
        } else {
            self.control.name().to_string()
        }
    }
}

/// A control.tar member name dpkg would install: a plain file name.
fn valid_info_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+'))
}

/// Reads a package's control information (not its data).
pub fn read_control(path: &Path) -> Result<DebPackage, Error> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let l = layout(path, &mut file)?;
    let stream = open_member(path, file, &l.control, l.control_compression)?;
    let member = l.control.name.clone();
    let tar_err = |entry: Option<String>, reason: String| Error::Tar {
        package: path.to_path_buf(),
        member: member.clone(),
        entry,
        reason,
    };
    let mut tar = TarReader::new(stream);
    let mut control_text: Option<String> = None;
    let mut info_files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total = 0u64;
    while let Some(h) = tar.next_header().map_err(|e| tar_err(e.entry, e.reason))? {
        let mut name = h.name.as_str();
        while let Some(rest) = name.strip_prefix("./") {
            name = rest;
        }
        match h.kind {
            EntryType::Dir if name.is_empty() || name == "." => continue,
            EntryType::File => {}
            _ => {
                return Err(tar_err(
                    Some(h.name.clone()),
                    "control.tar may only hold regular files".into(),
                ))
            }
        }
        if !valid_info_name(name) {
            return Err(tar_err(
                Some(h.name.clone()),
                "invalid control member name".into(),
            ));
        }
        total += h.size;
        if h.size > MAX_CONTROL_MEMBER || total > 4 * MAX_CONTROL_MEMBER {
            return Err(tar_err(
                Some(h.name.clone()),
                format!("control member of {} bytes is too large", h.size),
            ));
        }
        let mut data = Vec::with_capacity(h.size as usize);
        let mut buf = [0u8; 16384];
        tar.each_chunk(&mut buf, |c| data.extend_from_slice(c))
            .map_err(|e| tar_err(Some(h.name.clone()), e.to_string()))?;
        if name == "control" {
            let text = String::from_utf8(data).map_err(|_| Error::Control {
                package: path.to_path_buf(),
                reason: "not valid UTF-8".into(),
            })?;
            if control_text.replace(text).is_some() {
                return Err(tar_err(
                    Some(h.name.clone()),
                    "control appears twice".into(),
                ));
            }
        } else {
            if info_files.iter().any(|(n, _)| n == name) {
                return Err(tar_err(Some(h.name.clone()), "member appears twice".into()));
            }
            info_files.push((name.to_string(), data));
        }
    }
    let text = control_text.ok_or_else(|| Error::Control {
        package: path.to_path_buf(),
        reason: "control.tar has no control file".into(),
    })?;
    let control = Control::parse(&text).map_err(|reason| Error::Control {
        package: path.to_path_buf(),
        reason,
    })?;
    info_files.sort();
    let find = |n: &str| {
        info_files
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
    };
    let conffiles = find("conffiles")
        .map(|t| {
            t.lines()
                .map(str::trim)
                // `remove-on-upgrade /path` lines name files the package does not ship.
                .filter(|l| l.starts_with('/'))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let md5sums = find("md5sums");
    let scripts = MAINTAINER_SCRIPTS
        .iter()
        .filter(|s| info_files.iter().any(|(n, _)| n == *s))
        .map(|s| s.to_string())
        .collect();
    Ok(DebPackage {
        path: path.to_path_buf(),
        control,
        conffiles,
        md5sums,
        scripts,
        info_files,
        pinned_sha256: None,
    })
}
