//! The ar, tar and control parsers on arbitrary bytes: errors are fine, panics are not.
#![no_main]

use std::io::Cursor;

use eflow_deb::tar::TarReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = eflow_deb::ar::members(&mut Cursor::new(data), data.len() as u64);
    let mut tar = TarReader::new(data);
    let mut buf = [0u8; 700];
    while let Ok(Some(_)) = tar.next_header() {
        while let Ok(n) = tar.read_data(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = eflow_deb::Control::parse(text);
    }
});
