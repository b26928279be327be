# berth's escape probe: makes one attempt to leave or harm the confinement it runs in and prints
# one line saying how it ended: `ok`, `errno NAME`, `empty`/`data` (reads) or
# `escaped`/`contained` (the chroot walk-out). tests/escape.rs runs it inside containers and, as
# the control, outside them; it is passed to `python3 -c` because a container does not see the
# checkout.
#
# Every attempt is harmless where it succeeds: invalid arguments stop the kernel right after
# its permission check, new namespaces keep what they change, and what is created is removed.
#
#   python3 -c "$(cat probe.py)" ATTEMPT [ARG]

import ctypes
import errno
import os
import signal
import socket
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

# x86_64 system call numbers.
NR = {
    "ptrace": 101, "swapon": 167, "iopl": 172, "reboot": 169, "finit_module": 313,
    "kexec_load": 246, "add_key": 248, "clock_settime": 227, "unshare": 272, "perf_event_open": 298,
    "setns": 308, "bpf": 321, "userfaultfd": 323, "open_tree": 428, "fsopen": 430,
}
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000


def syscall(name, *args):
    conv = [a if isinstance(a, (ctypes.c_char_p, ctypes.Array)) or a is None else ctypes.c_long(a)
            for a in args]
    r = libc.syscall(ctypes.c_long(NR[name]), *conv)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def module_load(_):
    # An empty image: past the permission check the loader refuses it.
    fd = os.open("/dev/null", os.O_RDONLY)
    syscall("finit_module", fd, ctypes.c_char_p(b""), 0)


def kexec(_):
    # 0x8000 is no flag: EINVAL right after the permission check.
    syscall("kexec_load", 0, 0, None, 0x8000)


def reboot(_):
    # An unknown command: EINVAL right after the permission check.
    syscall("reboot", 0xFEE1DEAD, 672274793, 0x0BADC0DE, None)


def keyring(_):
    # A key in this process's own keyring, gone when it exits.
    syscall("add_key", ctypes.c_char_p(b"user"), ctypes.c_char_p(b"berth-escape"),
            ctypes.c_char_p(b"x"), 1, -2)


def bpf(_):
    # BPF_MAP_CREATE of a one-entry array map.
    attr = ctypes.create_string_buffer(struct.pack("IIII", 2, 4, 4, 1) + bytes(112))
    os.close(syscall("bpf", 0, attr, len(attr)))


def perf_event(_):
    # A software clock counting this process, user space only.
    attr = bytearray(128)
    struct.pack_into("IIQ", attr, 0, 1, 128, 0)  # PERF_TYPE_SOFTWARE, size, CPU_CLOCK
    struct.pack_into("Q", attr, 40, 1 << 5 | 1 << 0)  # exclude_kernel, disabled
    os.close(syscall("perf_event_open", ctypes.create_string_buffer(bytes(attr)), 0, -1, -1, 0))


def userfaultfd(_):
    os.close(syscall("userfaultfd", 0))


def clock_settime(_):
    # tv_nsec out of range: the kernel refuses it before any clock is set.
    ts = ctypes.create_string_buffer(struct.pack("qq", 0, 2_000_000_000))
    syscall("clock_settime", 0, ts)


def swapon(_):
    syscall("swapon", ctypes.c_char_p(b"/berth-escape-no-such-file"), 0)


def unshare_user(_):
    syscall("unshare", CLONE_NEWUSER)


def unshare_mount(_):
    syscall("unshare", CLONE_NEWNS)


def mount(_):
    # In a mount namespace of its own where one can be had, so that a success changes nothing
    # else; where it cannot, the mount is tried where the probe stands.
    try:
        syscall("unshare", CLONE_NEWNS)
        libc.mount(None, b"/", None, 0x4000 | 0x40000, None)  # MS_REC | MS_PRIVATE
    except OSError:
        pass
    os.makedirs("/tmp/berth-escape-mnt", exist_ok=True)
    if libc.mount(b"none", b"/tmp/berth-escape-mnt", b"tmpfs", 0, None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def fsopen(_):
    os.close(syscall("fsopen", ctypes.c_char_p(b"tmpfs"), 0))


def open_tree(_):
    # A detached copy of /, attached nowhere.
    os.close(syscall("open_tree", -100, ctypes.c_char_p(b"/"), 1))  # AT_FDCWD, OPEN_TREE_CLONE


def setns(_):
    # Its own UTS namespace: the call is what is refused, not the opening of another's.
    fd = os.open("/proc/self/ns/uts", os.O_RDONLY)
    syscall("setns", fd, 0x04000000)  # CLONE_NEWUTS


def mknod_block(_):
    path = "/tmp/berth-escape-blk"
    os.mknod(path, 0o600 | 0o060000, os.makedev(7, 0))  # S_IFBLK: loop0
    os.unlink(path)


def raw_socket(_):
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()


def netlink_link(_):
    # RTM_NEWLINK of a dummy link, in a network namespace of its own where one can be had.
    try:
        syscall("unshare", CLONE_NEWNET)
    except OSError:
        pass
    name = b"berthesc0\0"
    kind = b"dummy\0"

    def attr(kind_, payload):
        a = struct.pack("HH", 4 + len(payload), kind_) + payload
        return a + bytes(-len(a) % 4)

    linkinfo = attr(18, attr(1, kind))  # IFLA_LINKINFO { IFLA_INFO_KIND }
    body = struct.pack("BxHiII", 0, 0, 0, 0, 0) + attr(3, name) + linkinfo  # ifinfomsg, IFLA_IFNAME
    flags = 0x1 | 0x4 | 0x400 | 0x200  # REQUEST | ACK | CREATE | EXCL
    msg = struct.pack("IHHII", 16 + len(body), 16, flags, 1, 0) + body  # RTM_NEWLINK
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
    s.send(msg)
    reply = s.recv(4096)
    (err,) = struct.unpack_from("i", reply, 16)
    if err < 0:
        raise OSError(-err, os.strerror(-err))


def iopl(_):
    if libc.iopl(3) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    libc.iopl(0)


def ptrace_pid1(target):
    # The container's PID 1, or (the control) a child of the probe's own.
    if target == "child":
        pid = os.fork()
        if pid == 0:
            signal.pause()
            os._exit(0)
    else:
        pid = 1
    try:
        syscall("ptrace", 16, pid, 0, 0)  # PTRACE_ATTACH
        os.waitpid(pid, 0x40000000 if pid == 1 else 0)  # __WALL for a non-child
        syscall("ptrace", 17, pid, 0, 0)  # PTRACE_DETACH
    finally:
        if pid != 1:
            os.kill(pid, 9)
            os.waitpid(pid, 0)


def write_file(path):
    # Opened for writing, never written: the open is what is refused.
    os.close(os.open(path, os.O_WRONLY))


def write_usr(_):
    path = "/usr/berth-escape"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.unlink(path)


def write_cgroup(_):
    # The first cgroup.procs below /sys/fs/cgroup: the container's own cgroup.
    for root, _dirs, files in os.walk("/sys/fs/cgroup"):
        if "cgroup.procs" in files:
            return write_file(os.path.join(root, "cgroup.procs"))
    raise OSError(errno.ENOENT, "no cgroup.procs below /sys/fs/cgroup")


def read_file(path):
    with open(path, "rb") as f:
        return "data" if f.read(64) else "empty"


def exists(path):
    os.stat(path)


def chroot_walk_out(marker):
    # The classic walk-out: chroot into a subdirectory, keep the working directory outside
    # it, climb, chroot there. Escaped if the marker (a path only the host has) shows.
    os.makedirs("/tmp/berth-escape-jail", exist_ok=True)
    os.chdir("/")
    os.chroot("/tmp/berth-escape-jail")
    for _ in range(64):
        os.chdir("..")
    os.chroot(".")
    return "escaped" if os.path.exists(marker) else "contained"


ATTEMPTS = {
    "module_load": module_load, "kexec": kexec, "reboot": reboot, "keyring": keyring, "bpf": bpf,
    "perf_event": perf_event, "userfaultfd": userfaultfd, "clock_settime": clock_settime,
    "swapon": swapon, "unshare_user": unshare_user, "unshare_mount": unshare_mount,
    "mount": mount, "fsopen": fsopen, "open_tree": open_tree, "setns": setns,
    "mknod_block": mknod_block, "raw_socket": raw_socket, "netlink_link": netlink_link,
    "iopl": iopl, "ptrace_pid1": ptrace_pid1, "write_proc_sys": write_file,
    "write_sys": write_file, "write_cgroup": write_cgroup, "write_usr": write_usr,
    "read_kcore": read_file, "other_container": exists, "chroot_walk_out": chroot_walk_out,
}

if __name__ == "__main__":
    attempt, arg = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    try:
        result = ATTEMPTS[attempt](arg)
        print(result or "ok")
    except OSError as e:
        print("errno " + errno.errorcode.get(e.errno, str(e.errno)))
