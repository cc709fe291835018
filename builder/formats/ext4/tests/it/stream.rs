//! The image streams file contents: each file's Content is opened once, in content order
//! (stream by stream, member by member), and a content that lies about its size is an error
//! naming the file.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use eflow_ext4::{write, Ext4Image, Options};
use eflow_tree::{Content, ContentSource, Entry, Kind, Tree};

struct Recorder {
    opened: Mutex<Vec<(u32, u64)>>,
    short: Option<(u32, u64)>,
}

impl ContentSource for Recorder {
    fn describe(&self, stream: u32) -> String {
        format!("stream {stream}")
    }
    fn open(&self, stream: u32, index: u64) -> io::Result<Box<dyn Read + '_>> {
        self.opened.lock().unwrap().push((stream, index));
        let len = if self.short == Some((stream, index)) {
            10
        } else {
            5000
        };
        Ok(Box::new(io::repeat(stream as u8 + 1).take(len)))
    }
}

fn opts() -> Options {
    Options {
        size: 32 << 20,
        uuid: [1; 16],
        hash_seed: [2; 16],
        label: String::new(),
        timestamp: 0,
    }
}

fn tree_with(src: &Arc<Recorder>) -> Tree {
    let mut t = Tree::new();
    t.mkdir_p("/a").unwrap();
    // Paths in an order unrelated to the content order.
    for (i, (stream, index)) in [(2u32, 1u64), (0, 3), (1, 0), (0, 1), (2, 0), (0, 2)]
        .iter()
        .enumerate()
    {
        let e = Entry::new(
            Kind::File {
                content: Content::Source {
                    source: src.clone(),
                    stream: *stream,
                    index: *index,
                    digest: None,
                },
                size: 5000,
            },
            0o644,
        );
        t.insert(&format!("/a/{}", (b'z' - i as u8) as char), e)
            .unwrap();
    }
    t.insert("/a/mem", Entry::file(vec![1u8; 100], 0o644))
        .unwrap();
    t
}

#[test]
fn contents_are_opened_once_in_content_order() {
    let src = Arc::new(Recorder {
        opened: Mutex::new(Vec::new()),
        short: None,
    });
    let t = tree_with(&src);
    let mut img = write(&t, &opts()).unwrap();
    assert!(
        src.opened.lock().unwrap().is_empty(),
        "write() must not read contents"
    );
    eflow_extents::read_all(&mut img).unwrap();
    let opened = src.opened.lock().unwrap().clone();
    assert_eq!(opened, vec![(0, 1), (0, 2), (0, 3), (1, 0), (2, 0), (2, 1)]);
}

#[test]
fn short_content_is_an_error_naming_the_file() {
    let src = Arc::new(Recorder {
        opened: Mutex::new(Vec::new()),
        short: Some((1, 0)),
    });
    let t = tree_with(&src);
    let mut img = write(&t, &opts()).unwrap();
    let err = eflow_extents::read_all(&mut img).unwrap_err();
    assert!(err.to_string().contains("/a/x"), "{err}");
}

#[test]
fn image_is_send_and_static() {
    fn check<T: eflow_extents::SparseRead + Send + 'static>() {}
    check::<Ext4Image>();
}
