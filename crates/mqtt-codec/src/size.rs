//! Byte counts for people, for the messages errors become: `20 MB`, not
//! `20971534 bytes`.

use core::fmt;

/// Displays a byte count for people: `"0 B"`, `"512 B"`, `"1.5 KB"`,
/// `"20 MB"`, `"3.2 GB"`.
///
/// Binary units (1 KB = 1024 bytes) with the short names people expect,
/// as file managers and browsers show them; one decimal below 10 of a
/// unit, whole numbers from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["KB", "MB", "GB", "TB", "PB", "EB"];
        let n = self.0;
        if n < 1024 {
            return write!(f, "{n} B");
        }
        let mut value = n as f64 / 1024.0;
        let mut unit = 0;
        loop {
            // Tenths below 10, whole units above (no `f64::round` in core).
            let scale = if value < 9.95 { 10.0 } else { 1.0 };
            let rounded = ((value * scale + 0.5) as u64) as f64 / scale;
            // 1023.7 KB reads better as 1 MB.
            if rounded >= 1024.0 && unit + 1 < UNITS.len() {
                value /= 1024.0;
                unit += 1;
                continue;
            }
            let tenths = (rounded * 10.0) as u64 % 10;
            return if rounded < 10.0 && tenths != 0 {
                write!(f, "{rounded:.1} {}", UNITS[unit])
            } else {
                write!(f, "{rounded:.0} {}", UNITS[unit])
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn sizes_read_as_people_say_them() {
        let cases = [
            (0, "0 B"),
            (512, "512 B"),
            (1023, "1023 B"),
            (1024, "1 KB"),
            (1536, "1.5 KB"),
            (10 * 1024 - 1, "10 KB"),
            (1024 * 1024 - 1, "1 MB"),
            (20_971_534, "20 MB"),
            (268_435_455, "256 MB"),
            (3_435_973_837, "3.2 GB"),
            (u64::MAX, "16 EB"),
        ];
        for (n, text) in cases {
            assert_eq!(ByteSize(n).to_string(), text, "{n}");
        }
    }
}
