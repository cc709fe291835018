//! Compressed modules (`.ko.xz`, `.ko.zst`, `.ko.gz`), recognized by magic bytes, and
//! compressing a module the way kmod reads it back (`.ko.zst`).

use std::borrow::Cow;
use std::io::Read;

use crate::KmodError;

/// No module is this large uncompressed; the bound stops decompression bombs.
pub const MAX_MODULE: u64 = 512 << 20;

/// The plain bytes of a possibly compressed module.
pub fn maybe(data: &[u8]) -> Result<Cow<'_, [u8]>, KmodError> {
    let (what, reader): (&str, Box<dyn Read + '_>) = if data.starts_with(b"\xFD7zXZ\0") {
        ("xz", Box::new(xz2::read::XzDecoder::new(data)))
    } else if data.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        let d = zstd::stream::read::Decoder::new(data).map_err(|e| KmodError::Decompress {
            format: "zstd",
            detail: e.to_string(),
        })?;
        ("zstd", Box::new(d))
    } else if data.starts_with(&[0x1F, 0x8B]) {
        ("gzip", Box::new(flate2::read::GzDecoder::new(data)))
    } else {
        return Ok(Cow::Borrowed(data));
    };
    let mut out = Vec::new();
    reader
        .take(MAX_MODULE + 1)
        .read_to_end(&mut out)
        .map_err(|e| KmodError::Decompress {
            format: what,
            detail: e.to_string(),
        })?;
    if out.len() as u64 > MAX_MODULE {
        return Err(KmodError::Decompress {
            format: what,
            detail: format!("more than {MAX_MODULE} bytes once decompressed"),
        });
    }
    Ok(Cow::Owned(out))
}

/// The zstd level of [`compress`]: kmod decompresses at any level, and level 3 takes a
/// kernel's worth of modules (92 MB) to 26 MB in a fraction of a second; higher levels
/// save 5% more at ten times the time.
pub const ZSTD_LEVEL: i32 = 3;

/// A module compressed for a `.ko.zst` file (a single zstd frame with its content size and
/// checksum; kmod 30 decompresses it in userspace before `init_module`, so the kernel checks
/// the module's signature on the original bytes).
pub fn compress(plain: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut c = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
    c.include_checksum(true)?;
    c.include_contentsize(true)?;
    c.compress(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_modules_read_back() {
        let plain: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let packed = compress(&plain).unwrap();
        assert!(packed.len() < plain.len() / 4);
        assert_eq!(maybe(&packed).unwrap().as_ref(), plain.as_slice());
        // Deterministic: the image's bytes must not depend on the run.
        assert_eq!(compress(&plain).unwrap(), packed);
    }
}
