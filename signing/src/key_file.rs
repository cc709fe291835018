//! Key files on disk: secret keys are refused when other users can read them, and every file
//! is written under a temporary name then moved into place, so no half-written key or output
//! ever appears under its final name.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::public_key::PublicKey;
use crate::secret_key::SecretKey;

/// Largest key file read: real ones are a few hundred bytes.
const KEY_FILE_MAX: u64 = 64 * 1024;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a small text file through an open handle (bounded, so a wrong path to a huge file
/// fails cleanly).
fn read_small(file: &mut File, path: &Path) -> Result<Zeroizing<String>, KeyError> {
    let mut text = Zeroizing::new(String::new());
    file.take(KEY_FILE_MAX)
        .read_to_string(&mut text)
        .map_err(io_err(path))?;
    Ok(text)
}

/// Loads a secret key file, refusing it when its mode lets group or others access it
/// (checked on the opened file, so the checked file is the one read).
pub fn load_secret_key_file(path: &Path, password: Option<&str>) -> Result<SecretKey, KeyError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(io_err(path))?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::InsecurePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    let text = read_small(&mut file, path)?;
    SecretKey::from_str(&text, password)
}

/// Whether a secret key file is password-protected (read without decrypting, and without the
/// permission check), so the CLI asks for a password only when needed.
pub fn secret_key_file_is_encrypted(path: &Path) -> Result<bool, KeyError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let text = read_small(&mut file, path)?;
    SecretKey::text_is_encrypted(&text)
}

/// Loads a public key file (or a file holding the bare base64 line).
pub fn load_public_key_file(path: &Path) -> Result<PublicKey, KeyError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let text = read_small(&mut file, path)?;
    text.parse()
}

/// Writes a secret key file with mode 0600, atomically, refusing to overwrite.
pub fn write_secret_key_file(path: &Path, sk: &SecretKey) -> Result<(), KeyError> {
    let text = Zeroizing::new(sk.to_file_string());
    write_new_file(path, text.as_bytes(), 0o600)
}

/// Writes a public key file with mode 0644, atomically, refusing to overwrite.
pub fn write_public_key_file(path: &Path, pk: &PublicKey) -> Result<(), KeyError> {
    write_new_file(path, pk.to_file_string().as_bytes(), 0o644)
}

/// Creates `path` with `bytes` and `mode` atomically, refusing to replace an existing file
/// (no window where an existing key is replaced or a partial one visible).
pub fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let exists = || KeyError::AlreadyExists {
        path: path.to_path_buf(),
    };
    if fs::symlink_metadata(path).is_ok() {
        return Err(exists());
    }
    let result = (|| {
        let mut f = eflow_outfile::AtomicFile::create(path)?.mode(mode);
        f.file().write_all(bytes)?;
        f.commit_new()
    })();
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(exists()),
        Err(source) => Err(KeyError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdf::KdfLimits;

    #[cfg(unix)]
    #[test]
    fn secret_key_file_is_0600_refuses_overwrite_and_wide_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("release.key");
        let (sk, pk) = crate::generate_with(None, KdfLimits::INTERACTIVE).unwrap();
        write_secret_key_file(&path, &sk).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_secret_key_file(&path, None).unwrap().public_key(), pk);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        let err = write_secret_key_file(&path, &sk).unwrap_err();
        assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err}");

        for wide in [0o640, 0o604, 0o644, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(wide)).unwrap();
            let err = load_secret_key_file(&path, None).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, KeyError::InsecurePermissions { .. }), "{msg}");
            assert!(
                msg.contains(&format!("chmod 600 {}", path.display())),
                "{msg}"
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(load_secret_key_file(&path, None).is_ok());
    }

    #[test]
    fn public_key_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("release.pub");
        let (_, pk) = crate::generate_with(None, KdfLimits::INTERACTIVE).unwrap();
        write_public_key_file(&path, &pk).unwrap();
        assert_eq!(load_public_key_file(&path).unwrap(), pk);
        assert!(write_public_key_file(&path, &pk).is_err());
    }
}
