//! User namespaces: each container that asks gets 65536 user and group IDs of its own, mapped
//! to 0-65535 inside, so that its root is nobody on the host.
//!
//! Ranges come from the range systemd sets aside for containers (0x00080000-0x6FFFFFFF, see
//! systemd's UIDS-GIDS.md), in steps of 65536, avoiding what /etc/subuid and /etc/subgid give
//! to rootless users. Reserving one on the host is [`crate::store::userns_ranges`]; mapping
//! a namespace and shifting a tree's owners into a range, [`crate::container::idmap`] and
//! [`crate::container::id_shift`].

use std::collections::BTreeSet;

/// IDs per container.
pub const RANGE_SIZE: u32 = 65536;
pub const FIRST: u32 = 0x0008_0000;
pub const END: u32 = 0x7000_0000;

/// Ranges in use elsewhere, as (first, count), from files in /etc/subuid's format.
pub fn subordinate_ranges(text: &str) -> Vec<(u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let _owner = f.next()?;
            Some((
                f.next()?.trim().parse().ok()?,
                f.next()?.trim().parse().ok()?,
            ))
        })
        .collect()
}

fn overlaps(base: u32, (first, count): (u32, u32)) -> bool {
    let (a0, a1) = (u64::from(base), u64::from(base) + u64::from(RANGE_SIZE));
    let (b0, b1) = (u64::from(first), u64::from(first) + u64::from(count));
    a0 < b1 && b0 < a1
}

/// The lowest free base.
pub fn pick(taken: &BTreeSet<u32>, elsewhere: &[(u32, u32)]) -> Option<u32> {
    (FIRST..END)
        .step_by(RANGE_SIZE as usize)
        .find(|base| !taken.contains(base) && !elsewhere.iter().any(|r| overlaps(*base, *r)))
}

/// The ID a file owned by `id` gets when its tree moves from the range at `from` to the one
/// at `to` (0 is the host's own IDs). IDs outside the old range are left alone.
pub fn shifted(id: u32, from: u32, to: u32) -> u32 {
    match id.checked_sub(from) {
        Some(inner) if inner < RANGE_SIZE => to + inner,
        _ => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_avoid_subordinate_ids_and_each_other() {
        let elsewhere = subordinate_ranges("alice:100000:65536\nbob:0x:1\nsvc:524288:70000\n");
        assert_eq!(elsewhere, [(100000, 65536), (524288, 70000)]);
        let mut taken = BTreeSet::new();
        let first = pick(&taken, &elsewhere).unwrap();
        assert_eq!(
            first,
            FIRST + 2 * RANGE_SIZE,
            "the svc range covers two slots"
        );
        taken.insert(first);
        assert_eq!(pick(&taken, &elsewhere), Some(first + RANGE_SIZE));
    }

    #[test]
    fn ids_shift_between_ranges() {
        assert_eq!(shifted(0, 0, 524288), 524288);
        assert_eq!(shifted(33, 0, 524288), 524321);
        assert_eq!(shifted(524321, 524288, 0), 33);
        assert_eq!(shifted(70000, 0, 524288), 70000, "outside the range");
    }
}
