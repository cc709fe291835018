//! Compressed modules (`.ko.xz`, `.ko.zst`, `.ko.gz`), recognized by magic bytes.

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
