//! The password KDF of encrypted minisign secret keys: libsodium's
//! `crypto_pwhash_scryptsalsa208sha256`, i.e. scrypt with (N, r, p) picked from
//! (opslimit, memlimit) the way libsodium's `pickparams` does.

use zeroize::Zeroizing;

use crate::error::KeyError;

/// Length of the scrypt salt stored in the secret key file.
pub const SALT_LEN: usize = 32;

/// Cost limits stored (little-endian u64) in an encrypted secret key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfLimits {
    /// libsodium's opslimit (CPU cost).
    pub opslimit: u64,
    /// libsodium's memlimit (memory cost, bytes).
    pub memlimit: u64,
}

impl KdfLimits {
    /// What `minisign -G` uses: libsodium's "sensitive" limits (scrypt N=2^20, r=8, p=1: 1 GiB).
    pub const MINISIGN_DEFAULT: KdfLimits = KdfLimits {
        opslimit: 33_554_432,
        memlimit: 1_073_741_824,
    };
    /// libsodium's "interactive" limits (N=2^14, r=8, p=1: 16 MiB); for tests and keys that
    /// are protected by other means.
    pub const INTERACTIVE: KdfLimits = KdfLimits {
        opslimit: 524_288,
        memlimit: 16_777_216,
    };
    /// Largest limits accepted when reading a key file: a hostile key file must not make us
    /// allocate or compute without bound. minisign never writes more than its default.
    const MAX: KdfLimits = KdfLimits {
        opslimit: 0xffff_ffff,
        memlimit: 0xffff_ffff,
    };
}

/// scrypt's cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptParams {
    /// log2 of N.
    pub log_n: u32,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
}

/// libsodium's `pickparams`: the scrypt parameters for given limits. Written from its
/// documented behavior: r is 8; if opslimit is small relative to memory, p = 1 and N is
/// bounded by opslimit; otherwise N is bounded by memlimit and p takes the rest of opslimit.
pub fn pick_params(limits: KdfLimits) -> ScryptParams {
    let opslimit = limits.opslimit.max(32_768);
    let r: u64 = 8;
    let mut log_n: u32 = 1;
    if opslimit < limits.memlimit / 32 {
        let max_n = opslimit / (r * 4);
        while log_n < 63 && (1u64 << log_n) <= max_n / 2 {
            log_n += 1;
        }
        ScryptParams { log_n, r: 8, p: 1 }
    } else {
        let max_n = limits.memlimit / (r * 128);
        while log_n < 63 && (1u64 << log_n) <= max_n / 2 {
            log_n += 1;
        }
        let max_rp = ((opslimit / 4) / (1u64 << log_n)).min(0x3fff_ffff);
        // Truncation to u32 as in libsodium; max_rp is at most 0x3fffffff so it is exact.
        let p = (max_rp as u32) / 8;
        ScryptParams { log_n, r: 8, p }
    }
}

/// Derives `out.len()` bytes of key stream from a password, as minisign does to encrypt and
/// decrypt the 104-byte key block.
pub fn derive(
    password: &[u8],
    salt: &[u8; SALT_LEN],
    limits: KdfLimits,
    out: &mut [u8],
) -> Result<(), KeyError> {
    let range_error = |detail| KeyError::KdfParams {
        opslimit: limits.opslimit,
        memlimit: limits.memlimit,
        detail,
    };
    if limits.opslimit > KdfLimits::MAX.opslimit {
        return Err(range_error("opslimit above 2^32-1"));
    }
    if limits.memlimit > KdfLimits::MAX.memlimit {
        return Err(range_error("memlimit above 2^32-1"));
    }
    let params = pick_params(limits);
    if params.p == 0 {
        return Err(range_error(
            "they give scrypt p = 0 (libsodium refuses these too)",
        ));
    }
    let log_n = u8::try_from(params.log_n).map_err(|_| range_error("N too large"))?;
    let scrypt_params =
        scrypt::Params::new(log_n, params.r, params.p, scrypt::Params::RECOMMENDED_LEN)
            .map_err(|_| range_error("scrypt rejects the resulting N, r, p"))?;
    scrypt::scrypt(password, salt, &scrypt_params, out)
        .map_err(|_| range_error("invalid output length"))
}

/// Key stream for the 104-byte key block, wiped on drop.
pub type KeyStream = Zeroizing<[u8; crate::secret_key::KEYNUM_SK_LEN]>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_params_matches_libsodium_for_known_limits() {
        // minisign's default ("sensitive") limits: N = 2^20, r = 8, p = 1.
        assert_eq!(
            pick_params(KdfLimits::MINISIGN_DEFAULT),
            ScryptParams {
                log_n: 20,
                r: 8,
                p: 1
            }
        );
        // "interactive": N = 2^14, r = 8, p = 1.
        assert_eq!(
            pick_params(KdfLimits::INTERACTIVE),
            ScryptParams {
                log_n: 14,
                r: 8,
                p: 1
            }
        );
        // opslimit well below memlimit / 32: the first branch, N from opslimit.
        assert_eq!(
            pick_params(KdfLimits {
                opslimit: 1 << 20,
                memlimit: 1 << 30
            }),
            ScryptParams {
                log_n: 15,
                r: 8,
                p: 1
            }
        );
        // opslimit below the floor is raised to 32768.
        assert_eq!(
            pick_params(KdfLimits {
                opslimit: 0,
                memlimit: 0
            }),
            pick_params(KdfLimits {
                opslimit: 32_768,
                memlimit: 0
            })
        );
    }

    #[test]
    fn hostile_limits_are_refused() {
        let mut out = [0u8; 8];
        let err = derive(
            b"pw",
            &[0; SALT_LEN],
            KdfLimits {
                opslimit: u64::MAX,
                memlimit: u64::MAX,
            },
            &mut out,
        );
        assert!(matches!(err, Err(KeyError::KdfParams { .. })));
    }
}
