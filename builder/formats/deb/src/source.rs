//! `DebSource`: the contents of regular files in packages' data.tar, as an
//! [`eflow_tree::ContentSource`]. Stream `i` is the i-th registered package; member `j` is the
//! j-th regular-file entry of its data.tar (hard links, directories and other entries are not
//! counted).
//!
//! Each stream keeps a forward cursor, so opening members in increasing order (the order
//! `Tree::files_in_content_order` gives) decompresses every data.tar once, front to back;
//! going backwards restarts that stream from its beginning.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{ArcMutexGuard, Mutex, RawMutex, RwLock};

use crate::package::open_data;
use crate::tar::{EntryType, TarReader};

struct Cursor {
    tar: TarReader<Box<dyn Read + Send>>,
    /// The index the next regular-file entry met will have.
    next_index: u64,
}

struct Stream {
    path: PathBuf,
    /// The number of regular files of the data.tar, when known (set by `apply`): the cursor
    /// is dropped when the last one has been read, so a finished stream holds no decoder
    /// (an xz decoder holds its dictionary, up to 64 MiB).
    files: Option<u64>,
    cursor: Option<Cursor>,
}

/// The file contents of a set of packages, read lazily from their data.tar.
#[derive(Default)]
pub struct DebSource {
    streams: RwLock<Vec<Arc<Mutex<Stream>>>>,
}

impl DebSource {
    /// An empty source, shared by the Tree entries that refer to it.
    pub fn new() -> Arc<Self> {
        Arc::new(DebSource::default())
    }

    /// Registers a package file; returns its stream number.
    pub fn add(&self, path: PathBuf) -> u32 {
        let mut streams = self.streams.write();
        streams.push(Arc::new(Mutex::new(Stream {
            path,
            files: None,
            cursor: None,
        })));
        u32::try_from(streams.len() - 1).unwrap_or(u32::MAX)
    }

    /// Records how many regular files a stream's data.tar has, so its decoder is released
    /// as soon as the last one has been read.
    pub fn set_file_count(&self, stream: u32, files: u64) {
        if let Some(s) = self.streams.read().get(stream as usize) {
            s.lock().files = Some(files);
        }
    }

    /// Releases the decoders of all streams (they reopen on demand); call it when done
    /// reading contents, or before a second pass.
    pub fn release(&self) {
        for s in self.streams.read().iter() {
            s.lock().cursor = None;
        }
    }

    /// The package file of a stream.
    pub fn path(&self, stream: u32) -> Option<PathBuf> {
        let streams = self.streams.read();
        streams.get(stream as usize).map(|s| s.lock().path.clone())
    }
}

fn io_err(path: &Path, what: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{}: {what}", path.display()))
}

/// The bytes of one member; holds its stream's lock while alive.
struct MemberReader {
    guard: ArcMutexGuard<RawMutex, Stream>,
}

impl Drop for MemberReader {
    fn drop(&mut self) {
        let stream = &mut *self.guard;
        if let (Some(files), Some(c)) = (stream.files, stream.cursor.as_ref()) {
            if c.next_index >= files {
                stream.cursor = None;
            }
        }
    }
}

impl Read for MemberReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let stream = &mut *self.guard;
        let Some(cursor) = stream.cursor.as_mut() else {
            return Err(io_err(
                &stream.path,
                "stream was reset while a member was read",
            ));
        };
        match cursor.tar.read_data(buf) {
            Ok(n) => Ok(n),
            Err(e) => {
                let path = stream.path.clone();
                stream.cursor = None;
                Err(io_err(&path, format!("data.tar: {e}")))
            }
        }
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
        let slot = self
            .streams
            .read()
            .get(stream as usize)
            .cloned()
            .ok_or_else(|| io::Error::other(format!("no package stream {stream}")))?;
        let mut guard = slot.lock_arc();
        let st = &mut *guard;
        if !matches!(&st.cursor, Some(c) if c.next_index <= index) {
            let (data, _) = open_data(&st.path).map_err(io::Error::other)?;
            let tar = TarReader::new(data);
            st.cursor = Some(Cursor { tar, next_index: 0 });
        }
        loop {
            let Some(cursor) = st.cursor.as_mut() else {
                return Err(io_err(&st.path, "internal: no cursor"));
            };
            let header = match cursor.tar.next_header() {
                Ok(Some(h)) => h,
                Ok(None) => {
                    st.cursor = None;
                    return Err(io_err(
                        &st.path,
                        format!("data.tar has no regular file number {index}"),
                    ));
                }
                Err(e) => {
                    st.cursor = None;
                    return Err(io_err(&st.path, format!("data.tar: {}", e.reason)));
                }
            };
            if header.kind != EntryType::File {
                continue;
            }
            cursor.next_index += 1;
            if cursor.next_index - 1 == index {
                return Ok(Box::new(MemberReader { guard }));
            }
        }
    }
}
