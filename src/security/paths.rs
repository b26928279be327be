//! Parts of /proc and /sys that a container must not read or write: podman's lists, which
//! every container gets, before the definition's own.

/// Hidden: a file is covered with /dev/null, a directory with an empty read-only tmpfs.
pub const MASKED: [&str; 12] = [
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/interrupts",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/devices/virtual/powercap",
];

/// Made read-only (all of /sys is read-only already).
pub const READ_ONLY: [&str; 6] = [
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];
