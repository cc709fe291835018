//! Disk outputs: the disk stream written as a sparse raw file, a VHDX (dynamic or fixed) or a
//! fixed VHD, straight from the stream, never through a raw intermediate.

use std::fs::File;
use std::io;

use eflow_extents::SparseRead;

use crate::seed::Seed;

/// Writes `disk` to `out` in `format` (`raw`, `vhdx`, `vhdx-fixed`, `vhd`). Every id in the
/// file comes from the image seed; the VHD footer's time stamp from SOURCE_DATE_EPOCH.
pub fn write(
    format: &str,
    disk: &mut dyn SparseRead,
    out: &mut File,
    seed: &Seed,
    source_date_epoch: i64,
) -> io::Result<()> {
    let vhdx = |kind| eflow_vhdx::Options {
        kind,
        seed: seed.derive("vhdx"),
        ..eflow_vhdx::Options::default()
    };
    match format {
        "raw" => eflow_extents::write_raw(disk, out).map(|_| ()),
        "vhdx" => eflow_vhdx::write(disk, out, &vhdx(eflow_vhdx::Kind::Dynamic))
            .map(|_| ())
            .map_err(io::Error::other),
        "vhdx-fixed" => eflow_vhdx::write(disk, out, &vhdx(eflow_vhdx::Kind::Fixed))
            .map(|_| ())
            .map_err(io::Error::other),
        "vhd" => {
            // VHD time stamps count from 2000-01-01.
            let since_2000 = (source_date_epoch - 946_684_800).clamp(0, u32::MAX as i64) as u32;
            let opts = eflow_vhdx::VhdOptions {
                seed: seed.derive("vhd"),
                timestamp: since_2000,
                ..eflow_vhdx::VhdOptions::default()
            };
            eflow_vhdx::write_vhd_fixed(disk, out, &opts)
                .map(|_| ())
                .map_err(io::Error::other)
        }
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{other:?} is not a disk format"),
        )),
    }
}
