//! Time stamps as calendar dates: one conversion from seconds since the Unix epoch (a build's
//! SOURCE_DATE_EPOCH, a file's mtime) to a UTC date and time, for the formats that store
//! them so (FAT's DOS dates, the SBOM's ISO 8601 `created`, dpkg-deb's listings).

/// A UTC instant in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// The year (e.g. 2025).
    pub year: i64,
    /// 1 to 12.
    pub month: i64,
    /// 1 to 31.
    pub day: i64,
    /// 0 to 23.
    pub hour: i64,
    /// 0 to 59.
    pub minute: i64,
    /// 0 to 59.
    pub second: i64,
}

impl Civil {
    /// The date and time of `epoch` seconds since 1970-01-01T00:00:00Z (negative before it).
    pub fn from_unix(epoch: i64) -> Civil {
        let days = epoch.div_euclid(86_400);
        let secs = epoch.rem_euclid(86_400);
        // Howard Hinnant's days-to-civil algorithm: eras of 400 years (146097 days), years
        // starting in March so that the leap day falls last.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Civil {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }

    /// `YYYY-MM-DD` and `hh:mm:ss` joined by `sep` (`'T'` for ISO 8601, `' '` for listings).
    pub fn format(&self, sep: char) -> String {
        format!(
            "{:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Civil;

    #[test]
    fn known_instants() {
        for (epoch, sep, want) in [
            (0, 'T', "1970-01-01T00:00:00"),
            (1_700_000_000, ' ', "2023-11-14 22:13:20"),
            (951_782_400, 'T', "2000-02-29T00:00:00"),
            (4_102_444_799, 'T', "2099-12-31T23:59:59"),
            (315_532_800, 'T', "1980-01-01T00:00:00"),
            (-1, 'T', "1969-12-31T23:59:59"),
        ] {
            assert_eq!(Civil::from_unix(epoch).format(sep), want, "{epoch}");
        }
    }
}
