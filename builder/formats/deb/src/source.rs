//! `DebSource`: the contents of regular files in packages' data.tar, as an
//! [`eflow_tree::ContentSource`]. Stream `i` is the i-th registered package; member `j` is the
//! j-th regular-file entry of its data.tar (hard links, directories and other entries are not
//! counted).
//!
//! Members are read from the package's unpacked contents (see [`crate::store`]) by offset,
//! so they can be opened in any order and from several threads at once, and no data.tar is
//! decompressed a second time.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;

/// A package's unpacked contents and each member's (offset, size) in them.
type Members = (Arc<File>, Vec<(u64, u64)>);

struct Stream {
    path: PathBuf,
    /// Set once the package is scanned.
    contents: Option<Members>,
}

/// The file contents of a set of packages, read from their unpacked contents.
#[derive(Default)]
pub struct DebSource {
    streams: RwLock<Vec<Stream>>,
}

impl DebSource {
    /// An empty source, shared by the Tree entries that refer to it.
    pub fn new() -> Arc<Self> {
        Arc::new(DebSource::default())
    }

    /// Registers a package file; returns its stream number.
    pub fn add(&self, path: PathBuf) -> u32 {
        let mut streams = self.streams.write();
        streams.push(Stream {
            path,
            contents: None,
        });
        u32::try_from(streams.len() - 1).unwrap_or(u32::MAX)
    }

    /// Gives a stream its unpacked contents and where each member lies in them (what
    /// [`crate::apply`] does with a scan).
    pub fn set_contents(&self, stream: u32, contents: Arc<File>, members: Vec<(u64, u64)>) {
        if let Some(s) = self.streams.write().get_mut(stream as usize) {
            s.contents = Some((contents, members));
        }
    }

    /// The package file of a stream.
    pub fn path(&self, stream: u32) -> Option<PathBuf> {
        let streams = self.streams.read();
        streams.get(stream as usize).map(|s| s.path.clone())
    }
}

/// The bytes of one member, read with positioned reads (no shared cursor).
struct MemberReader {
    file: Arc<File>,
    path: PathBuf,
    pos: u64,
    end: u64,
}

impl Read for MemberReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end - self.pos;
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: the unpacked contents end before the member does (truncated cache entry)",
                    self.path.display()
                ),
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl eflow_tree::ContentSource for DebSource {
    fn describe(&self, stream: u32) -> String {
        match self.path(stream) {
            Some(p) => p.display().to_string(),
            None => format!("<no package stream {stream}>"),
        }
    }

    fn open(&self, stream: u32, index: u64) -> io::Result<Box<dyn Read + '_>> {
        let streams = self.streams.read();
        let s = streams
            .get(stream as usize)
            .ok_or_else(|| io::Error::other(format!("no package stream {stream}")))?;
        let Some((file, members)) = &s.contents else {
            return Err(io::Error::other(format!(
                "{}: package not scanned",
                s.path.display()
            )));
        };
        let &(offset, size) = usize::try_from(index)
            .ok()
            .and_then(|i| members.get(i))
            .ok_or_else(|| {
                io::Error::other(format!(
                    "{}: data.tar has no regular file number {index}",
                    s.path.display()
                ))
            })?;
        Ok(Box::new(MemberReader {
            file: file.clone(),
            path: s.path.clone(),
            pos: offset,
            end: offset.saturating_add(size),
        }))
    }
}
