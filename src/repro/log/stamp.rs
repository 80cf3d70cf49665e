//! When a log line says it happened: a wall-clock time (`2026-12-02 02:57:04.374`, as libvirt,
//! `virsh` and QEMU's log print it) or QEMU's own epoch timestamp (QMP's `timestamp` member,
//! `virsh qemu-monitor-event`'s `at SECONDS.MICROS`). Only stamps of one kind are compared.

/// A point in time, to the microsecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// A wall-clock time: the date as `YYYYMMDD` and the microseconds since that midnight.
    Wall {
        /// `YYYYMMDD`.
        date: u32,
        /// Microseconds since midnight.
        micros: u64,
    },
    /// Microseconds since the Unix epoch (QEMU's event timestamp).
    Epoch(u64),
}

impl Stamp {
    /// Microseconds from `earlier` to `self`, when both are of one kind (and, for wall-clock
    /// times, of one date).
    pub fn since(self, earlier: Stamp) -> Option<i64> {
        match (earlier, self) {
            (
                Stamp::Wall {
                    date: d0,
                    micros: a,
                },
                Stamp::Wall {
                    date: d1,
                    micros: b,
                },
            ) if d0 == d1 => difference(a, b),
            (Stamp::Epoch(a), Stamp::Epoch(b)) => difference(a, b),
            _ => None,
        }
    }

    /// QEMU's `{"seconds": S, "microseconds": U}` (absurd values saturate, never overflow).
    pub fn epoch(seconds: u64, micros: u64) -> Stamp {
        Stamp::Epoch(seconds.saturating_mul(1_000_000).saturating_add(micros))
    }
}

/// `b - a` in microseconds, when it fits an `i64`.
fn difference(a: u64, b: u64) -> Option<i64> {
    i64::try_from(b).ok()?.checked_sub(i64::try_from(a).ok()?)
}

/// The first `YYYY-MM-DD HH:MM:SS[.fraction]` (or with a `T`) in `line`.
pub fn wall(line: &str) -> Option<Stamp> {
    let b = line.as_bytes();
    (0..b.len().saturating_sub(18)).find_map(|i| wall_at(&b[i..]))
}

fn wall_at(b: &[u8]) -> Option<Stamp> {
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let s = b.get(r)?;
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
    };
    let at = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(at(4, b"-") && at(7, b"-") && at(10, b" T") && at(13, b":") && at(16, b":")) {
        return None;
    }
    let date = num(0..4)? * 10_000 + num(5..7)? * 100 + num(8..10)?;
    let (h, m, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut micros = ((h * 60 + m) * 60 + s) * 1_000_000;
    if at(19, b".") {
        let digits: Vec<u8> = b[20..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .take(6)
            .copied()
            .collect();
        let frac = digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        micros += frac * 10u64.pow(6 - digits.len() as u32);
    }
    Some(Stamp::Wall {
        date: date as u32,
        micros,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_times_in_the_formats_logs_use() {
        let libvirt = wall("2026-12-02 02:57:04.374+0000: 30134: debug : x").unwrap();
        let qemu = wall("2026-12-02T02:57:04.542843Z qemu-system-x86_64: terminating").unwrap();
        assert_eq!(qemu.since(libvirt), Some(168_843));
        let journald = wall("Dec 02 12:00:00 host libvirtd[1]: 2026-12-02 02:57:05.374+0000: 1");
        assert_eq!(journald.unwrap().since(libvirt), Some(1_000_000));
        assert_eq!(wall("Dec 02 12:00:00 host libvirtd[1]: no stamp"), None);
        let other_day = wall("2026-12-03 02:57:04.374").unwrap();
        assert_eq!(other_day.since(libvirt), None);
        assert_eq!(Stamp::epoch(1, 5).since(libvirt), None);
    }

    #[test]
    fn absurd_epoch_stamps_neither_overflow_nor_compare() {
        let huge = Stamp::epoch(u64::MAX, u64::MAX);
        assert_eq!(huge, Stamp::Epoch(u64::MAX));
        assert_eq!(huge.since(Stamp::epoch(1, 0)), None);
        assert_eq!(
            Stamp::epoch(2, 0).since(Stamp::epoch(1, 0)),
            Some(1_000_000)
        );
    }
}
