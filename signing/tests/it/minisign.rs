//! Compatibility with the stock `minisign` tool (0.11+): it verifies our signatures and reads
//! our keys; we verify its signatures and read its keys. These tests FAIL (never skip) when
//! minisign is missing.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use eflow_signing::{
    generate_with, load_public_key_file, load_secret_key_file, sign_file, sign_file_described,
    verify_file, verify_file_described, write_public_key_file, write_secret_key_file, KdfLimits,
    KeyError, PublicKey, SecretKey, VerifyError,
};
use eflow_testkit::run_with_input;

/// Runs minisign with `args`, feeding `stdin` (it reads it only when it asks for a password).
fn minisign(args: &[&str], stdin: &str) -> Output {
    run_with_input(Command::new("minisign").args(args), stdin.as_bytes())
}

/// `minisign -Vm FILE -x SIG -p PUB`: whether it accepts, and its output.
fn minisign_verify(file: &Path, sig: &Path, public: &Path) -> (bool, String) {
    let out = minisign(
        &[
            "-V",
            "-m",
            file.to_str().unwrap(),
            "-x",
            sig.to_str().unwrap(),
            "-p",
            public.to_str().unwrap(),
        ],
        "",
    );
    let out = eflow_testkit::Outcome::from(out);
    (out.success(), out.all())
}

/// A file with some content.
fn sample(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("eflow-1.0.0.vhdx");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(&path, content).unwrap();
    path
}

/// Flips one byte of a file in place.
fn flip_byte(path: &Path, at: u64) {
    eflow_testkit::flip_byte(path, at, 0x40);
}

/// Our key and signature, checked by minisign: good, then a flipped file byte, then a
/// tampered trusted comment.
fn ours_verified_by_minisign(password: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let (sk, pk) = generate_with(password, KdfLimits::INTERACTIVE).unwrap();
    let pub_path = dir.path().join("release.pub");
    let key_path = dir.path().join("release.key");
    write_public_key_file(&pub_path, &pk).unwrap();
    write_secret_key_file(&key_path, &sk).unwrap();
    let sk = load_secret_key_file(&key_path, password).unwrap();
    let file = sample(dir.path());
    let signed = sign_file_described(&sk, &file, 1_700_000_000).unwrap();
    let sig_path = dir.path().join("eflow-1.0.0.vhdx.minisig");
    fs::write(&sig_path, &signed.minisig).unwrap();

    let (ok, text) = minisign_verify(&file, &sig_path, &pub_path);
    assert!(ok, "minisign rejected our signature:\n{text}");
    assert!(
        text.contains(&format!(
            "Trusted comment: timestamp:1700000000 file:eflow-1.0.0.vhdx sha256:{}",
            signed.sha256
        )),
        "{text}"
    );
    // `-P base64` form too.
    let out = minisign(
        &[
            "-V",
            "-m",
            file.to_str().unwrap(),
            "-x",
            sig_path.to_str().unwrap(),
            "-P",
            &pk.to_base64(),
        ],
        "",
    );
    assert!(out.status.success());
    verify_file_described(&pk, &file, &signed.minisig).unwrap();

    // minisign reads our secret key: it signs, and we verify its signature.
    let mut args = vec![
        "-S",
        "-s",
        key_path.to_str().unwrap(),
        "-m",
        file.to_str().unwrap(),
    ];
    let theirs = dir.path().join("theirs.minisig");
    args.extend(["-x", theirs.to_str().unwrap(), "-t", "signed by minisign"]);
    if password.is_none() {
        args.push("-W");
    }
    let out = minisign(&args, &format!("{}\n", password.unwrap_or("")));
    assert!(
        out.status.success(),
        "minisign could not sign with our secret key: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tc = verify_file(&pk, &file, &fs::read_to_string(&theirs).unwrap()).unwrap();
    assert_eq!(tc.as_str(), "signed by minisign");

    // A flipped byte in the file: both refuse.
    flip_byte(&file, 123_456);
    let (ok, text) = minisign_verify(&file, &sig_path, &pub_path);
    assert!(!ok, "minisign accepted a modified file:\n{text}");
    assert!(matches!(
        verify_file(&pk, &file, &signed.minisig),
        Err(VerifyError::SignatureMismatch)
    ));
    flip_byte(&file, 123_456);

    // A tampered trusted comment: both refuse.
    let tampered = signed
        .minisig
        .replace("timestamp:1700000000", "timestamp:1700000001");
    assert_ne!(tampered, signed.minisig);
    fs::write(&sig_path, &tampered).unwrap();
    let (ok, text) = minisign_verify(&file, &sig_path, &pub_path);
    assert!(!ok, "minisign accepted a tampered trusted comment:\n{text}");
    assert!(
        text.contains("Comment signature verification failed"),
        "{text}"
    );
    let err = verify_file(&pk, &file, &tampered).unwrap_err();
    assert!(matches!(err, VerifyError::TrustedCommentTampered), "{err}");
}

#[test]
fn unencrypted_key_signatures_verify_with_minisign() {
    ours_verified_by_minisign(None);
}

#[test]
fn password_protected_key_signatures_verify_with_minisign() {
    ours_verified_by_minisign(Some("release pass phrase"));
}

#[test]
fn minisign_generated_keys_work_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let pub_path = dir.path().join("m.pub");
    let key_path = dir.path().join("m.key");
    let out = minisign(
        &[
            "-G",
            "-W",
            "-p",
            pub_path.to_str().unwrap(),
            "-s",
            key_path.to_str().unwrap(),
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pk = load_public_key_file(&pub_path).unwrap();
    let sk = load_secret_key_file(&key_path, None).unwrap();
    assert_eq!(sk.public_key(), pk);
    // Our public key file is byte for byte minisign's.
    assert_eq!(pk.to_file_string(), fs::read_to_string(&pub_path).unwrap());

    let file = sample(dir.path());
    // minisign signs, we verify.
    let theirs = dir.path().join("theirs.minisig");
    let out = minisign(
        &[
            "-S",
            "-W",
            "-s",
            key_path.to_str().unwrap(),
            "-m",
            file.to_str().unwrap(),
            "-x",
            theirs.to_str().unwrap(),
            "-t",
            "from minisign",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let their_sig = fs::read_to_string(&theirs).unwrap();
    assert_eq!(
        verify_file(&pk, &file, &their_sig).unwrap().as_str(),
        "from minisign"
    );
    // Ed25519 is deterministic: with the same key and comment, ours is the same signature.
    let ours = sign_file(&sk, &file, "from minisign").unwrap();
    assert_eq!(
        ours.lines().skip(1).collect::<Vec<_>>(),
        their_sig.lines().skip(1).collect::<Vec<_>>()
    );
    // We sign, minisign verifies.
    let sig_path = dir.path().join("ours.minisig");
    fs::write(&sig_path, &ours).unwrap();
    let (ok, text) = minisign_verify(&file, &sig_path, &pub_path);
    assert!(ok, "{text}");

    // A flipped byte: our verify refuses minisign's signature too.
    flip_byte(&file, 7);
    assert!(matches!(
        verify_file(&pk, &file, &their_sig),
        Err(VerifyError::SignatureMismatch)
    ));
    // Another key's public key: key id mismatch, as minisign reports it.
    let (_, other) = generate_with(None, KdfLimits::INTERACTIVE).unwrap();
    let err = verify_file(&other, &file, &their_sig).unwrap_err();
    assert!(matches!(err, VerifyError::KeyIdMismatch { .. }), "{err}");
}

#[test]
fn minisign_password_protected_key_is_read() {
    // minisign 0.11 encrypts with its default cost (scrypt N=2^20: 1 GiB, a few seconds).
    let dir = tempfile::tempdir().unwrap();
    let pub_path = dir.path().join("m.pub");
    let key_path = dir.path().join("m.key");
    let out = minisign(
        &[
            "-G",
            "-p",
            pub_path.to_str().unwrap(),
            "-s",
            key_path.to_str().unwrap(),
        ],
        "s3cret\ns3cret\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&key_path).unwrap();
    let pk: PublicKey = fs::read_to_string(&pub_path).unwrap().parse().unwrap();
    let err = SecretKey::from_str(&text, Some("wrong")).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassword), "{err}");
    assert!(err.to_string().contains("wrong password"), "{err}");
    let sk = SecretKey::from_str(&text, Some("s3cret")).unwrap();
    assert_eq!(sk.public_key(), pk);
    assert!(sk.is_encrypted());
    // Written back unchanged (same salt, limits and encryption).
    assert_eq!(sk.to_file_string().lines().nth(1), text.lines().nth(1));
}
