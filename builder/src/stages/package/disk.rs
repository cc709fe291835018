//! Disk outputs: the disk stream written as a sparse raw file, a VHDX (dynamic or fixed) or a
//! fixed VHD, straight from the stream, never through a raw intermediate.

use std::io;

use eflow_extents::{Output, SparseRead};
use eflow_id::Seed;

use crate::stages::plan::OutputFormat;

/// Seconds from 1970 to 2000-01-01, where VHD time stamps count from.
pub const VHD_EPOCH: i64 = 946_684_800;

/// Writes `disk` to `out` in a disk `format`. Every id in the file comes from the image
/// seed; the VHD footer's time stamp from SOURCE_DATE_EPOCH.
pub fn write(
    format: OutputFormat,
    disk: &mut dyn SparseRead,
    out: &mut dyn Output,
    seed: &Seed,
    source_date_epoch: i64,
) -> io::Result<()> {
    let vhdx = |kind| eflow_vhdx::Options {
        kind,
        seed: seed.sub("vhdx"),
        ..eflow_vhdx::Options::default()
    };
    match format {
        OutputFormat::Raw => eflow_extents::write_raw(disk, out).map(|_| ()),
        OutputFormat::Vhdx => eflow_vhdx::write(disk, out, &vhdx(eflow_vhdx::Kind::Dynamic))
            .map(|_| ())
            .map_err(io::Error::other),
        OutputFormat::VhdxFixed => eflow_vhdx::write(disk, out, &vhdx(eflow_vhdx::Kind::Fixed))
            .map(|_| ())
            .map_err(io::Error::other),
        OutputFormat::Vhd => {
            let since_2000 = (source_date_epoch - VHD_EPOCH).clamp(0, u32::MAX as i64) as u32;
            let opts = eflow_vhdx::VhdOptions {
                seed: seed.sub("vhd"),
                timestamp: since_2000,
                ..eflow_vhdx::VhdOptions::default()
            };
            eflow_vhdx::write_vhd_fixed(disk, out, &opts)
                .map(|_| ())
                .map_err(io::Error::other)
        }
        OutputFormat::Tar => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the rootfs tar is not a disk format",
        )),
    }
}
