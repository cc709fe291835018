//! A file far larger than the memory the signer may use is signed and verified by streaming:
//! the process's peak resident memory must not grow with the file. Alone in its own test
//! binary so no other test's allocations blur the measurement; minisign must verify the result.

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::process::Command;

use eflow_signing::{generate_with, sign_file, verify_file, write_public_key_file, KdfLimits};
use eflow_testkit::ok;

#[test]
fn half_gib_file_is_signed_with_bounded_memory() {
    const SIZE: u64 = 512 << 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.raw");
    // Sparse, with data at both ends so the digest depends on the whole length.
    let mut f = File::create(&path).unwrap();
    f.write_all(b"head").unwrap();
    f.seek(SeekFrom::Start(SIZE - 4)).unwrap();
    f.write_all(b"tail").unwrap();
    drop(f);
    let (sk, pk) = generate_with(None, KdfLimits::INTERACTIVE).unwrap();

    let before = eflow_testkit::peak_rss_kib();
    let minisig = sign_file(&sk, &path, "big file").unwrap();
    verify_file(&pk, &path, &minisig).unwrap();
    let grown_kib = eflow_testkit::peak_rss_kib().saturating_sub(before);
    assert!(
        grown_kib < 32 * 1024,
        "peak memory grew by {grown_kib} KiB while signing a 512 MiB file"
    );

    let sig_path = dir.path().join("big.raw.minisig");
    let pub_path = dir.path().join("k.pub");
    fs::write(&sig_path, &minisig).unwrap();
    write_public_key_file(&pub_path, &pk).unwrap();
    ok(Command::new("minisign")
        .args(["-V", "-q", "-m"])
        .arg(&path)
        .arg("-x")
        .arg(&sig_path)
        .arg("-p")
        .arg(&pub_path));
}
