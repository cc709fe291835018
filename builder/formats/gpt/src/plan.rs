//! Where partitions go: 1 MiB aligned starts, fixed sizes or "the rest of the disk" for the
//! last one, each at least as large as the content it must hold.

use crate::{GptError, ENTRY_SECTORS, SECTOR};

/// Partition starts (and a computed disk size) are multiples of this: 1 MiB, which suits
/// every storage stack from 512-byte sectors to VHDX 1 MiB blocks.
pub const ALIGN: u64 = 1 << 20;

/// How large a partition is asked to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Exactly this many bytes (rounded up to whole sectors).
    Bytes(u64),
    /// Everything left on the disk; only for the last partition.
    Rest,
}

/// One partition to place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartSpec {
    /// The size asked for.
    pub size: Size,
    /// The least size in bytes its content needs (0 when unknown).
    pub min: u64,
}

/// The result of [`plan`]: the disk size and each partition's (first_lba, last_lba), inclusive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The disk size: the one given, or the smallest 1 MiB multiple that holds everything.
    pub disk_size: u64,
    /// (first_lba, last_lba) for each spec, in order.
    pub ranges: Vec<(u64, u64)>,
}

fn align_up(v: u64, a: u64) -> Option<u64> {
    v.checked_add(a - 1).map(|x| x / a * a)
}

fn mib(b: u64) -> String {
    format!("{b} bytes ({:.1} MiB)", b as f64 / ALIGN as f64)
}

/// Lays out partitions one after the other from 1 MiB, each start 1 MiB aligned.
///
/// With `disk_size`, everything must fit before the backup GPT and a `Rest` partition takes
/// what is left; without, the disk is made just large enough (a `Rest` partition then gets
/// its `min`, rounded up to 1 MiB) and its size is rounded up to 1 MiB.
pub fn plan(disk_size: Option<u64>, parts: &[PartSpec]) -> Result<Planned, GptError> {
    let too_big = || GptError::DoesNotFit("sizes overflow 64 bits".into());
    // Sectors the backup GPT occupies at the end of the disk.
    let tail = (ENTRY_SECTORS + 1) * SECTOR;
    if let Some(d) = disk_size {
        if d % SECTOR != 0 {
            return Err(GptError::Invalid(format!(
                "disk size {d} is not a multiple of {SECTOR}"
            )));
        }
    }
    let mut ranges = Vec::with_capacity(parts.len());
    let mut start = ALIGN; // bytes
    for (i, p) in parts.iter().enumerate() {
        let n = i + 1;
        let last = i + 1 == parts.len();
        let size = match p.size {
            Size::Bytes(b) => {
                let b = align_up(b, SECTOR).ok_or_else(too_big)?;
                if b == 0 {
                    return Err(GptError::Invalid(format!("partition {n} has size 0")));
                }
                if b < p.min {
                    return Err(GptError::DoesNotFit(format!(
                        "partition {n} is {} but its content needs {}: raise its size",
                        mib(b),
                        mib(p.min)
                    )));
                }
                b
            }
            Size::Rest if !last => {
                return Err(GptError::Invalid(format!(
                    "partition {n} asks for the rest of the disk but is not the last one"
                )))
            }
            Size::Rest => match disk_size {
                Some(d) => {
                    let end = d.saturating_sub(tail);
                    if end <= start {
                        return Err(GptError::DoesNotFit(format!(
                            "no room is left for partition {n} (the rest of the disk): the partitions before it end at {}, the disk is {}",
                            mib(start),
                            mib(d)
                        )));
                    }
                    let b = end - start;
                    if b < p.min {
                        return Err(GptError::DoesNotFit(format!(
                            "partition {n} gets the rest of the disk, {}, but its content needs {}: grow the disk",
                            mib(b),
                            mib(p.min)
                        )));
                    }
                    b
                }
                None => align_up(p.min.max(1), ALIGN).ok_or_else(too_big)?,
            },
        };
        let end = start.checked_add(size).ok_or_else(too_big)?;
        if let Some(d) = disk_size {
            if end > d.saturating_sub(tail) {
                return Err(GptError::DoesNotFit(format!(
                    "partition {n} of {} at offset {} passes the usable end of a {} disk ({} bytes are kept for the backup GPT)",
                    mib(size),
                    mib(start),
                    mib(d),
                    tail
                )));
            }
        }
        ranges.push((start / SECTOR, end / SECTOR - 1));
        start = align_up(end, ALIGN).ok_or_else(too_big)?;
    }
    let disk_size = match disk_size {
        Some(d) => d,
        None => {
            // The end of the last partition plus room for the backup GPT, then 1 MiB aligned.
            let end = ranges.last().map_or(ALIGN, |(_, l)| (l + 1) * SECTOR);
            align_up(end.checked_add(tail).ok_or_else(too_big)?, ALIGN).ok_or_else(too_big)?
        }
    };
    Ok(Planned { disk_size, ranges })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn fixed_then_rest_on_a_given_disk() {
        let p = plan(
            Some(1024 * MIB),
            &[
                PartSpec {
                    size: Size::Bytes(64 * MIB),
                    min: 10 * MIB,
                },
                PartSpec {
                    size: Size::Rest,
                    min: 100 * MIB,
                },
            ],
        )
        .unwrap();
        assert_eq!(p.disk_size, 1024 * MIB);
        assert_eq!(p.ranges[0], (2048, 2048 + 131072 - 1));
        assert_eq!(p.ranges[1].0, 2048 + 131072);
        assert_eq!(p.ranges[1].1, 1024 * MIB / 512 - 34);
    }

    #[test]
    fn unaligned_sizes_keep_starts_aligned() {
        let p = plan(
            None,
            &[
                PartSpec {
                    size: Size::Bytes(1000),
                    min: 0,
                },
                PartSpec {
                    size: Size::Bytes(3 * MIB),
                    min: 0,
                },
            ],
        )
        .unwrap();
        assert_eq!(p.ranges[0], (2048, 2049));
        assert_eq!(p.ranges[1], (4096, 4096 + 6144 - 1));
        assert_eq!(p.disk_size, 6 * MIB);
    }

    #[test]
    fn computed_disk_gives_rest_its_minimum() {
        let p = plan(
            None,
            &[
                PartSpec {
                    size: Size::Bytes(64 * MIB),
                    min: 0,
                },
                PartSpec {
                    size: Size::Rest,
                    min: 5 * MIB + 1,
                },
            ],
        )
        .unwrap();
        assert_eq!(p.ranges[1], (65 * 2048, 71 * 2048 - 1));
        assert_eq!(p.disk_size, 72 * MIB);
    }

    #[test]
    fn errors_say_what_does_not_fit() {
        let e = plan(
            None,
            &[PartSpec {
                size: Size::Bytes(MIB),
                min: 2 * MIB,
            }],
        )
        .unwrap_err();
        assert!(e.to_string().contains("content needs"), "{e}");
        let e = plan(
            Some(64 * MIB),
            &[PartSpec {
                size: Size::Bytes(64 * MIB),
                min: 0,
            }],
        )
        .unwrap_err();
        assert!(e.to_string().contains("passes the usable end"), "{e}");
        let e = plan(
            Some(64 * MIB),
            &[
                PartSpec {
                    size: Size::Bytes(32 * MIB),
                    min: 0,
                },
                PartSpec {
                    size: Size::Rest,
                    min: 40 * MIB,
                },
            ],
        )
        .unwrap_err();
        assert!(e.to_string().contains("grow the disk"), "{e}");
        let e = plan(
            Some(64 * MIB),
            &[
                PartSpec {
                    size: Size::Rest,
                    min: 0,
                },
                PartSpec {
                    size: Size::Bytes(MIB),
                    min: 0,
                },
            ],
        )
        .unwrap_err();
        assert!(e.to_string().contains("not the last"), "{e}");
        assert!(plan(Some(1000), &[]).is_err());
    }
}
