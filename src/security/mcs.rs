//! MCS levels (`s0:cX,cY`) that keep containers apart under SELinux, sVirt style: every
//! container's processes and files carry a pair of categories no other container has, so that
//! the policy's MCS constraints keep one container from another's files even when both run as
//! the same type.
//!
//! This is the levels themselves and the choice of a free one; reserving one on the host,
//! uniquely across berth processes, reboots and other managers, is
//! [`crate::store::mcs_levels`].

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// `s0:cLOW,cHIGH` with LOW < HIGH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level {
    pub low: u16,
    pub high: u16,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s0:c{},c{}", self.low, self.high)
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Level, String> {
        let bad = || format!("\"{s}\" is not an MCS level of two categories such as \"s0:c1,c2\"");
        let pair = s.strip_prefix("s0:").ok_or_else(bad)?;
        let (a, b) = pair.split_once(',').ok_or_else(bad)?;
        let category = |c: &str| -> Result<u16, String> {
            c.strip_prefix('c')
                .and_then(|n| n.parse::<u16>().ok())
                .filter(|n| *n <= 1023)
                .ok_or_else(bad)
        };
        let (low, high) = (category(a)?, category(b)?);
        if low >= high {
            return Err(format!(
                "{s}: the first category must be lower than the second"
            ));
        }
        Ok(Level { low, high })
    }
}

impl serde::Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Level, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The categories levels are drawn from: c0 to c1022 by default. c1023 is left out as podman
/// and libvirt do, so that no container's pair reaches the top of the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Categories {
    pub first: u16,
    pub last: u16,
}

impl Default for Categories {
    fn default() -> Self {
        Categories {
            first: 0,
            last: 1022,
        }
    }
}

impl FromStr for Categories {
    type Err = String;
    /// `c0.c1022`, SELinux's way of writing a range.
    fn from_str(s: &str) -> Result<Categories, String> {
        let bad = || format!("\"{s}\" is not a category range such as \"c0.c1022\"");
        let (a, b) = s.split_once('.').ok_or_else(bad)?;
        let n = |c: &str| {
            c.strip_prefix('c')
                .and_then(|n| n.parse::<u16>().ok())
                .filter(|n| *n <= 1023)
        };
        match (n(a), n(b)) {
            (Some(first), Some(last)) if first < last => Ok(Categories { first, last }),
            _ => Err(bad()),
        }
    }
}

impl Categories {
    pub fn pairs(&self) -> u64 {
        let n = u64::from(self.last - self.first) + 1;
        n * (n - 1) / 2
    }

    /// The `i`th pair in order (c0,c1), (c0,c2), ..., (c1,c2), ...
    fn pair(&self, mut i: u64) -> Level {
        let n = u64::from(self.last - self.first) + 1;
        let mut low = 0;
        while i >= n - 1 - low {
            i -= n - 1 - low;
            low += 1;
        }
        Level {
            low: self.first + low as u16,
            high: self.first + (low + 1 + i) as u16,
        }
    }

    pub fn contains(&self, level: &Level) -> bool {
        self.first <= level.low && level.high <= self.last
    }
}

/// Picks a free pair at random (`random` gives uniform 64-bit numbers), or None when every
/// pair in the range is taken.
pub fn pick(
    range: Categories,
    taken: &BTreeSet<Level>,
    mut random: impl FnMut() -> u64,
) -> Option<Level> {
    let total = range.pairs();
    let taken_here = taken.iter().filter(|l| range.contains(l)).count() as u64;
    if taken_here >= total {
        return None;
    }
    // Random probes find a free pair at once unless the range is nearly full; then walk on
    // from a random start, which always ends.
    for _ in 0..64 {
        let level = range.pair(random() % total);
        if !taken.contains(&level) {
            return Some(level);
        }
    }
    let start = random() % total;
    (0..total)
        .map(|i| range.pair((start + i) % total))
        .find(|l| !taken.contains(l))
}

/// The level of `user:role:type:level` when it is a two-category level.
pub fn level_of_context(context: &str) -> Option<Level> {
    context.splitn(4, ':').nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_print() {
        let l: Level = "s0:c12,c345".parse().unwrap();
        assert_eq!(l, Level { low: 12, high: 345 });
        assert_eq!(l.to_string(), "s0:c12,c345");
        for bad in [
            "s0:c2,c1",
            "s0:c1,c1",
            "s0:c1",
            "s1:c1,c2",
            "s0:c1,c1024",
            "s0:c1.c5",
        ] {
            assert!(bad.parse::<Level>().is_err(), "{bad}");
        }
        assert_eq!(
            level_of_context("system_u:system_r:container_t:s0:c1,c2"),
            Some(Level { low: 1, high: 2 })
        );
        assert_eq!(
            level_of_context("unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023"),
            None
        );
        assert_eq!(level_of_context("kernel"), None);
    }

    #[test]
    fn the_default_range_has_every_pair_below_c1023() {
        let r = Categories::default();
        assert_eq!(r.pairs(), 1023 * 1022 / 2);
        assert_eq!(r.pair(0), Level { low: 0, high: 1 });
        assert_eq!(r.pair(1021), Level { low: 0, high: 1022 });
        assert_eq!(r.pair(1022), Level { low: 1, high: 2 });
        assert_eq!(
            r.pair(r.pairs() - 1),
            Level {
                low: 1021,
                high: 1022
            }
        );
        assert_eq!(
            "c10.c20".parse::<Categories>().unwrap(),
            Categories {
                first: 10,
                last: 20
            }
        );
        assert!("c20.c10".parse::<Categories>().is_err());
    }

    #[test]
    fn picks_avoid_what_is_taken_until_the_range_is_full() {
        let range = Categories { first: 5, last: 8 };
        let mut taken = BTreeSet::new();
        let mut counter = 0u64;
        let mut random = || {
            counter += 1;
            counter * 7919
        };
        for _ in 0..range.pairs() {
            let l = pick(range, &taken, &mut random).unwrap();
            assert!(range.contains(&l) && l.low < l.high);
            assert!(taken.insert(l), "{l} handed out twice");
        }
        assert_eq!(pick(range, &taken, &mut random), None);
        // A constant "random" source still finds the last free pair.
        taken.remove(&Level { low: 6, high: 8 });
        assert_eq!(pick(range, &taken, || 0), Some(Level { low: 6, high: 8 }));
    }
}
