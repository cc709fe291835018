//! Feeds arbitrary bytes to the FAT reader: listing and reading must return, never panic.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(
    init: {
        // eflow_fat turns a panic inside fatfs on a damaged image into an error (`guarded` in
        // src/read.rs), but libfuzzer-sys's panic hook aborts before that guard is reached:
        // let fatfs's own panics unwind to it. Any other panic aborts as before, and one that
        // no guard catches still ends the run (libfuzzer-sys aborts on an unwinding input).
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.location().is_some_and(|l| l.file().contains("/fatfs-")) {
                abort(info);
            }
        }));
    },
    |data: &[u8]| entry::list(data)
);
