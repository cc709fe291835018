//! SOURCE_DATE_EPOCH as FAT timestamps: a fatfs TimeProvider that always answers the same time.

use std::collections::BTreeMap;
use std::sync::Mutex;

use eflow_time::Civil;
use fatfs::{Date, DateTime, Time, TimeProvider};

/// The DOS date and time of a Unix timestamp (UTC), clamped to the range FAT can store
/// (1980-01-01 00:00:00 to 2107-12-31 23:59:58).
pub fn dos_date_time(unix: i64) -> DateTime {
    const MIN: i64 = 315_532_800; // 1980-01-01T00:00:00Z
    const MAX: i64 = 4_354_819_198; // 2107-12-31T23:59:58Z
    let c = Civil::from_unix(unix.clamp(MIN, MAX));
    DateTime {
        date: Date {
            year: c.year as u16,
            month: c.month as u16,
            day: c.day as u16,
        },
        time: Time {
            hour: c.hour as u16,
            min: c.minute as u16,
            // FAT keeps modification times in 2-second steps; round down so every field agrees.
            sec: (c.second / 2 * 2) as u16,
            millis: 0,
        },
    }
}

/// A clock stopped at one instant.
#[derive(Debug)]
pub struct FixedTime(DateTime);

impl TimeProvider for FixedTime {
    fn get_current_date(&self) -> Date {
        self.0.date
    }
    fn get_current_date_time(&self) -> DateTime {
        self.0
    }
}

/// The provider for a timestamp. fatfs wants a `&'static` provider, so one is leaked per
/// distinct timestamp and reused: a build uses one, so this stays a handful of bytes.
pub fn provider(unix: i64) -> &'static FixedTime {
    static CACHE: Mutex<BTreeMap<i64, &'static FixedTime>> = Mutex::new(BTreeMap::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(unix)
        .or_insert_with(|| Box::leak(Box::new(FixedTime(dos_date_time(unix)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let d = dos_date_time(1_700_000_000); // 2023-11-14T22:13:20Z
        assert_eq!((d.date.year, d.date.month, d.date.day), (2023, 11, 14));
        assert_eq!((d.time.hour, d.time.min, d.time.sec), (22, 13, 20));
        let d = dos_date_time(951_782_400 + 59); // 2000-02-29T00:00:59Z
        assert_eq!((d.date.year, d.date.month, d.date.day), (2000, 2, 29));
        assert_eq!(d.time.sec, 58);
        let d = dos_date_time(0);
        assert_eq!((d.date.year, d.date.month, d.date.day), (1980, 1, 1));
        let d = dos_date_time(i64::MAX);
        assert_eq!(d.date.year, 2107);
    }
}
