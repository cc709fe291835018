//! `eflow-image keygen`, `sign` and `verify`, run as a user would, and checked with the stock
//! `minisign` tool: our signatures verify with it, tampering fails with both tools, secret key
//! files that others can read are refused, keys are never overwritten, and no command ever
//! prints the secret key.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use eflow_testkit::{outcome, path_str as s, Outcome};

use crate::util::{eflow, minisign_verify};

/// Runs eflow-image with the variables of `env` set (and no others of the signing ones) and
/// no terminal.
fn run(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    outcome(eflow().args(args).envs(env.iter().copied()))
}

/// Makes an unencrypted key pair with the CLI in `dir`; returns (secret, public) paths.
fn keygen(dir: &Path) -> (PathBuf, PathBuf) {
    let sk = dir.join("release.key");
    let pk = dir.join("release.pub");
    crate::util::keygen(&sk, &pk);
    (sk, pk)
}

/// The arguments of `keygen` for a password-protected key pair (cheap KDF, for tests).
fn encrypted_keygen<'a>(sk: &'a Path, pk: &'a Path) -> [&'a str; 7] {
    [
        "keygen",
        "--secret-key",
        s(sk),
        "--public-key",
        s(pk),
        "--kdf-cost",
        "interactive",
    ]
}

/// The forms in which a secret key could leak: the key file's base64 line, and the raw
/// Ed25519 secret (seed and full 64 bytes) as bytes, base64 and hex.
fn secret_forms(sk_file: &Path) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(sk_file).unwrap();
    let line = text.lines().nth(1).unwrap().trim().to_string();
    let block = base64::engine::general_purpose::STANDARD
        .decode(&line)
        .unwrap();
    // minisign secret key block: alg(2) kdf(2) chk(2) salt(32) ops(8) mem(8) key id(8) sk(64).
    let sk = &block[62..126];
    let seed = &sk[..32];
    let b64 = base64::engine::general_purpose::STANDARD;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    vec![
        line.into_bytes(),
        seed.to_vec(),
        sk.to_vec(),
        b64.encode(seed).into_bytes(),
        b64.encode(sk).into_bytes(),
        hex(seed).into_bytes(),
        hex(sk).into_bytes(),
    ]
}

fn assert_no_secret(outputs: &str, forms: &[Vec<u8>], what: &str) {
    let bytes = outputs.as_bytes();
    for (i, f) in forms.iter().enumerate() {
        assert!(
            !bytes.windows(f.len()).any(|w| w == &f[..]),
            "{what}: output contains secret key form #{i}"
        );
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_sign_verify_with_minisign_and_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, pk) = keygen(dir.path());
    #[cfg(unix)]
    assert_eq!(mode(&sk), 0o600);
    let pub_line = std::fs::read_to_string(&pk)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();

    let file = dir.path().join("eflow.vhdx");
    std::fs::write(
        &file,
        (0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    let r = run(
        &["sign", s(&file), "--secret-key", s(&sk)],
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    let sig = dir.path().join("eflow.vhdx.minisig");
    let sig_text = std::fs::read_to_string(&sig).unwrap();
    assert!(
        sig_text.contains("trusted comment: timestamp:1700000000 file:eflow.vhdx sha256:"),
        "{sig_text}"
    );

    // The stock tool accepts it, and shows our trusted comment.
    let m = minisign_verify(&file, &pk);
    assert_eq!(m.code, 0, "minisign refused our signature: {}", m.all());
    assert!(m.all().contains("file:eflow.vhdx"), "{}", m.all());

    // Our verify, with the key as a file and as its base64 line.
    for key in [s(&pk), pub_line.as_str()] {
        let r = run(&["verify", s(&file), "--pubkey", key], &[]);
        assert_eq!(r.code, 0, "{}", r.all());
        assert!(r.stdout.contains("verification OK"), "{}", r.all());
    }

    // One flipped byte: both tools refuse, ours with exit 3 naming the file and the check.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[123_456] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let m = minisign_verify(&file, &pk);
    assert_ne!(m.code, 0, "minisign accepted a modified file");
    let r = run(&["verify", s(&file), "--pubkey", s(&pk)], &[]);
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(
        r.stderr.contains("signature failed for eflow.vhdx"),
        "{}",
        r.all()
    );

    // A signature by another key: a key id mismatch, named.
    let other = tempfile::tempdir().unwrap();
    let (_, other_pk) = keygen(other.path());
    bytes[123_456] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let r = run(&["verify", s(&file), "--pubkey", s(&other_pk)], &[]);
    assert_eq!(r.code, 3, "{}", r.all());
    assert!(r.stderr.contains("key id mismatch"), "{}", r.all());

    // A missing signature is an error (1), not a failed check.
    std::fs::remove_file(&sig).unwrap();
    let r = run(&["verify", s(&file), "--pubkey", s(&pk)], &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("eflow.vhdx.minisig"), "{}", r.all());
}

#[test]
fn keygen_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let (sk, pk) = keygen(dir.path());
    let before = (std::fs::read(&sk).unwrap(), std::fs::read(&pk).unwrap());
    for (secret, public) in [
        (sk.clone(), dir.path().join("new.pub")),
        (dir.path().join("new.key"), pk.clone()),
    ] {
        let r = run(
            &[
                "keygen",
                "--secret-key",
                s(&secret),
                "--public-key",
                s(&public),
                "--unencrypted",
            ],
            &[],
        );
        assert_eq!(r.code, 1, "{}", r.all());
        assert!(r.stderr.contains("already exists"), "{}", r.all());
        assert!(r.stderr.contains("refusing to overwrite"), "{}", r.all());
    }
    assert_eq!(
        (std::fs::read(&sk).unwrap(), std::fs::read(&pk).unwrap()),
        before
    );
    // Nothing half-made was left behind.
    assert!(!dir.path().join("new.key").exists());
    assert!(!dir.path().join("new.pub").exists());
}

#[cfg(unix)]
#[test]
fn readable_secret_key_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (sk, _) = keygen(dir.path());
    let file = dir.path().join("data.bin");
    std::fs::write(&file, b"data").unwrap();
    for wide in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&sk, std::fs::Permissions::from_mode(wide)).unwrap();
        let r = run(&["sign", s(&file), "--secret-key", s(&sk)], &[]);
        assert_eq!(r.code, 1, "{}", r.all());
        assert!(
            r.stderr.contains(&format!("chmod 600 {}", sk.display())),
            "{}",
            r.all()
        );
        assert!(!dir.path().join("data.bin.minisig").exists());
    }
}

#[test]
fn encrypted_keys_passwords_and_the_key_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let sk = dir.path().join("enc.key");
    let pk = dir.path().join("enc.pub");
    let keygen_args = encrypted_keygen(&sk, &pk);
    // No password variable and no terminal: a clear error, no key written.
    let r = run(&keygen_args, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("EFLOW_SIGNING_PASSWORD"), "{}", r.all());
    assert!(r.stderr.contains("no terminal"), "{}", r.all());
    assert!(!sk.exists() && !pk.exists());

    let pass = ("EFLOW_SIGNING_PASSWORD", "correct horse battery staple");
    let r = run(&keygen_args, &[pass]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("password-protected"), "{}", r.all());
    let text = std::fs::read_to_string(&sk).unwrap();
    assert!(text.contains("encrypted"), "{text}");

    let file = dir.path().join("eflow.raw");
    std::fs::write(&file, b"disk image").unwrap();
    // Without the password: refused, clearly.
    let r = run(&["sign", s(&file), "--secret-key", s(&sk)], &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("EFLOW_SIGNING_PASSWORD"), "{}", r.all());
    // A wrong password: refused.
    let r = run(
        &["sign", s(&file), "--secret-key", s(&sk)],
        &[("EFLOW_SIGNING_PASSWORD", "wrong")],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("wrong password"), "{}", r.all());
    // The key text from the environment, as CI secret stores provide it.
    let r = run(&["sign", s(&file)], &[pass, ("EFLOW_SIGNING_KEY", &text)]);
    assert_eq!(r.code, 0, "{}", r.all());
    let m = minisign_verify(&file, &pk);
    assert_eq!(m.code, 0, "{}", m.all());
    // Neither a path nor the variable: says how to give a key.
    let r = run(&["sign", s(&file)], &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("--secret-key"), "{}", r.all());
    assert!(r.stderr.contains("EFLOW_SIGNING_KEY"), "{}", r.all());
}

/// Environment variables for one run.
type Env<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn no_command_prints_the_secret_key() {
    let dir = tempfile::tempdir().unwrap();
    let sk = dir.path().join("k.key");
    let pk = dir.path().join("k.pub");
    let mut printed = String::new();
    for json in [false, true] {
        let (sk, pk) = if json {
            (dir.path().join("j.key"), dir.path().join("j.pub"))
        } else {
            (sk.clone(), pk.clone())
        };
        let mut args = vec![
            "keygen",
            "--secret-key",
            s(&sk),
            "--public-key",
            s(&pk),
            "--unencrypted",
        ];
        if json {
            args.push("--json");
        }
        let r = run(&args, &[]);
        assert_eq!(r.code, 0, "{}", r.all());
        printed.push_str(&r.all());
    }
    let file = dir.path().join("out.tar");
    std::fs::write(&file, b"tar bytes").unwrap();
    let key_text = std::fs::read_to_string(&sk).unwrap();
    let runs: Vec<(Vec<&str>, Env)> = vec![
        (vec!["sign", s(&file), "--secret-key", s(&sk)], vec![]),
        (
            vec!["sign", s(&file), "--secret-key", s(&sk), "--json"],
            vec![],
        ),
        (
            vec!["sign", s(&file)],
            vec![("EFLOW_SIGNING_KEY", &key_text)],
        ),
        (
            vec!["sign", s(&file), "--json"],
            vec![("EFLOW_SIGNING_KEY", &key_text)],
        ),
        // A garbled key in the variable: the error must not quote it.
        (
            vec!["sign", s(&file)],
            vec![("EFLOW_SIGNING_KEY", &key_text[..key_text.len() - 9])],
        ),
        (
            vec!["sign", "--help"],
            vec![("EFLOW_SIGNING_KEY", &key_text)],
        ),
        (vec!["--help"], vec![("EFLOW_SIGNING_KEY", &key_text)]),
        (
            vec!["keygen", "--help"],
            vec![("EFLOW_SIGNING_KEY", &key_text)],
        ),
        (vec!["verify", s(&file), "--pubkey", s(&pk)], vec![]),
        (
            vec!["verify", s(&file), "--pubkey", s(&pk), "--json"],
            vec![],
        ),
        // The secret key given where the public one is expected.
        (vec!["verify", s(&file), "--pubkey", s(&sk)], vec![]),
        (
            vec![
                "verify",
                s(&file),
                "--pubkey",
                key_text.lines().nth(1).unwrap(),
            ],
            vec![],
        ),
        // The secret key file signed and verified as data.
        (vec!["sign", s(&sk), "--secret-key", s(&sk)], vec![]),
    ];
    for (args, env) in &runs {
        let r = run(args, env);
        printed.push_str(&r.all());
    }
    assert!(printed.contains("verification OK"), "{printed}");
    assert_no_secret(&printed, &secret_forms(&sk), "k.key");
    assert_no_secret(&printed, &secret_forms(&dir.path().join("j.key")), "j.key");
}

/// Runs `eflow-image ARGS` on a pseudo-terminal (util-linux `script`, part of Debian's
/// essential set), answering each prompt containing `Password` with the next of `answers`.
/// Returns what the terminal showed and the exit status.
#[cfg(unix)]
fn on_terminal(args: &[&str], answers: &[&str]) -> (i32, String) {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let command_line = std::iter::once(env!("CARGO_BIN_EXE_eflow-image"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qec", &command_line, "/dev/null"])
        .env_remove("EFLOW_SIGNING_KEY")
        .env_remove("EFLOW_SIGNING_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) is required for the terminal password tests");
    let seen = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    for (i, answer) in answers.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen.lock().unwrap().matches("Password").count() <= i {
            assert!(
                Instant::now() < deadline,
                "no password prompt: {}",
                seen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the prompt turn echo off before typing.
        std::thread::sleep(Duration::from_millis(300));
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let shown = seen.lock().unwrap().clone();
    (status.code().unwrap_or(-1), shown)
}

#[cfg(unix)]
#[test]
fn passwords_typed_on_the_terminal_are_confirmed_and_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let sk = dir.path().join("t.key");
    let pk = dir.path().join("t.pub");
    let keygen_args = encrypted_keygen(&sk, &pk);
    // Two different passwords: refused, nothing written.
    let (code, shown) = on_terminal(&keygen_args, &["first-pass", "other-pass"]);
    assert_eq!(code, 1, "{shown}");
    assert!(shown.contains("the two passwords differ"), "{shown}");
    assert!(!sk.exists() && !pk.exists());

    let (code, shown) = on_terminal(&keygen_args, &["typed-pass", "typed-pass"]);
    assert_eq!(code, 0, "{shown}");
    assert!(
        !shown.contains("typed-pass"),
        "the password was echoed: {shown}"
    );
    assert!(shown.contains("password-protected"), "{shown}");

    // The key unlocks with the typed password, asked on the terminal by `sign`.
    let file = dir.path().join("f.bin");
    std::fs::write(&file, b"payload").unwrap();
    let (code, shown) = on_terminal(&["sign", s(&file), "--secret-key", s(&sk)], &["typed-pass"]);
    assert_eq!(code, 0, "{shown}");
    assert!(
        !shown.contains("typed-pass"),
        "the password was echoed: {shown}"
    );
    let m = minisign_verify(&file, &pk);
    assert_eq!(m.code, 0, "{}", m.all());
}
