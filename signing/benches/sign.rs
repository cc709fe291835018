//! Signing and verifying throughput against the stock `minisign` tool on the same file.
//! Run: `cargo bench -p eflow-signing --bench sign` (prints figures; asserts nothing on time).

use std::fs;
use std::io::Write;
use std::process::Command;
use std::time::Instant;

use eflow_signing::{
    generate_with, sign_file, verify_file, write_public_key_file, write_secret_key_file, KdfLimits,
};

fn main() {
    const SIZE: usize = 256 << 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("image.raw");
    // Incompressible-looking content, written once (then served from the page cache).
    let mut f = fs::File::create(&file).expect("create");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..SIZE / chunk.len() {
        for b in chunk.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        f.write_all(&chunk).expect("write");
    }
    drop(f);
    let (sk, pk) = generate_with(None, KdfLimits::INTERACTIVE).expect("keygen");
    let key = dir.path().join("k.key");
    let public = dir.path().join("k.pub");
    write_secret_key_file(&key, &sk).expect("key");
    write_public_key_file(&public, &pk).expect("pub");
    let mib = SIZE as f64 / (1 << 20) as f64;

    let t = Instant::now();
    let sig = sign_file(&sk, &file, "bench").expect("sign");
    let ours_sign = t.elapsed().as_secs_f64();
    let t = Instant::now();
    verify_file(&pk, &file, &sig).expect("verify");
    let ours_verify = t.elapsed().as_secs_f64();

    let theirs_sig = dir.path().join("theirs.minisig");
    let t = Instant::now();
    let st = Command::new("minisign")
        .args(["-S", "-W", "-s"])
        .arg(&key)
        .arg("-m")
        .arg(&file)
        .arg("-x")
        .arg(&theirs_sig)
        .args(["-t", "bench"])
        .output()
        .expect("run minisign (install it: apt-get install minisign)");
    let theirs_sign = t.elapsed().as_secs_f64();
    assert!(st.status.success());
    let t = Instant::now();
    let st = Command::new("minisign")
        .args(["-V", "-q", "-m"])
        .arg(&file)
        .arg("-x")
        .arg(&theirs_sig)
        .arg("-p")
        .arg(&public)
        .output()
        .expect("run minisign");
    let theirs_verify = t.elapsed().as_secs_f64();
    assert!(st.status.success());

    println!("file: {mib:.0} MiB (page cache)");
    println!(
        "sign:   eflow-signing {:.3} s ({:.0} MiB/s), minisign {:.3} s ({:.0} MiB/s), ratio ours/minisign {:.2}",
        ours_sign, mib / ours_sign, theirs_sign, mib / theirs_sign, ours_sign / theirs_sign
    );
    println!(
        "verify: eflow-signing {:.3} s ({:.0} MiB/s), minisign {:.3} s ({:.0} MiB/s), ratio ours/minisign {:.2}",
        ours_verify, mib / ours_verify, theirs_verify, mib / theirs_verify, ours_verify / theirs_verify
    );
}
