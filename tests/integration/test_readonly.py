# SPDX-License-Identifier: MIT
"""Issue 2, point 6: on a mounted safs, even as root, every modifying call
fails with exactly EROFS, and the mount is ro,nosuid,nodev,noexec,
fuse.safs with default_permissions."""
import errno
import os
import stat

import pytest

from helpers_core import CLIENT_EMAIL, mountinfo, read, stop_ok


def j(m, *p):
    return os.path.join(m, *p)


def open_(flags, name="client_email"):
    def f(m):
        fd = os.open(j(m, name), flags, 0o600)
        os.close(fd)
    return f


# Each takes the mountpoint. tokens/ exists because an audience is set.
OPS = {
    "open-wronly": open_(os.O_WRONLY),
    "open-rdwr": open_(os.O_RDWR),
    "open-append": open_(os.O_WRONLY | os.O_APPEND),
    "open-rdonly-trunc": open_(os.O_RDONLY | os.O_TRUNC),
    "open-wronly-trunc": open_(os.O_WRONLY | os.O_TRUNC),
    "open-rdonly-trunc-credentials": open_(os.O_RDONLY | os.O_TRUNC,
                                           "credentials.json"),
    "open-wronly-token": open_(os.O_WRONLY, "token"),
    "open-rdwr-tokens-default": open_(os.O_RDWR, "tokens/default"),
    "creat-new": open_(os.O_CREAT | os.O_WRONLY, "new-file"),
    "creat-new-rdonly": open_(os.O_CREAT | os.O_RDONLY, "new-file"),
    "creat-excl-new": open_(os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                            "new-file"),
    "creat-new-in-tokens": open_(os.O_CREAT | os.O_WRONLY, "tokens/new"),
    "creat-trunc-existing": open_(os.O_CREAT | os.O_TRUNC | os.O_WRONLY),
    "mkdir": lambda m: os.mkdir(j(m, "newdir")),
    "mkdir-in-tokens": lambda m: os.mkdir(j(m, "tokens", "newdir")),
    "rmdir-tokens": lambda m: os.rmdir(j(m, "tokens")),
    "rmdir-missing": lambda m: os.rmdir(j(m, "no-such-dir")),
    "unlink": lambda m: os.unlink(j(m, "client_email")),
    "unlink-credentials": lambda m: os.unlink(j(m, "credentials.json")),
    "unlink-token": lambda m: os.unlink(j(m, "token")),
    "unlink-tokens-default": lambda m: os.unlink(j(m, "tokens", "default")),
    "rename-new-name": lambda m: os.rename(j(m, "client_email"),
                                           j(m, "renamed")),
    "rename-over-existing": lambda m: os.rename(j(m, "client_email"),
                                                j(m, "client_id")),
    "rename-into-subdir": lambda m: os.rename(j(m, "client_email"),
                                              j(m, "tokens", "x")),
    "rename-out-of-subdir": lambda m: os.rename(j(m, "tokens", "default"),
                                                j(m, "default")),
    "rename-dir": lambda m: os.rename(j(m, "tokens"), j(m, "tokens2")),
    "replace": lambda m: os.replace(j(m, "private_key"), j(m, "token")),
    "link": lambda m: os.link(j(m, "client_email"), j(m, "hardlink")),
    "link-into-subdir": lambda m: os.link(j(m, "client_email"),
                                          j(m, "tokens", "hardlink")),
    "symlink": lambda m: os.symlink("client_email", j(m, "symlink")),
    "chmod": lambda m: os.chmod(j(m, "client_email"), 0o644),
    "chmod-dir": lambda m: os.chmod(m, 0o755),
    "chown": lambda m: os.chown(j(m, "client_email"), 1, 1),
    "chown-unchanged": lambda m: os.chown(j(m, "client_email"), -1, -1),
    "chown-dir": lambda m: os.chown(j(m, "tokens"), 1, 1),
    "utime": lambda m: os.utime(j(m, "client_email"), (1, 1)),
    "utime-now": lambda m: os.utime(j(m, "client_email")),
    "utime-dir": lambda m: os.utime(m, (1, 1)),
    "truncate": lambda m: os.truncate(j(m, "client_email"), 0),
    "truncate-grow": lambda m: os.truncate(j(m, "client_email"), 4096),
    "setxattr": lambda m: os.setxattr(j(m, "client_email"), "user.x", b"1"),
    "setxattr-dir": lambda m: os.setxattr(m, "user.x", b"1"),
    "setxattr-trusted": lambda m: os.setxattr(j(m, "client_email"),
                                              "trusted.x", b"1"),
    "removexattr": lambda m: os.removexattr(j(m, "client_email"), "user.x"),
    "mknod-regular": lambda m: os.mknod(j(m, "node"), stat.S_IFREG | 0o600),
    "mknod-fifo": lambda m: os.mkfifo(j(m, "fifo")),
    "mknod-chardev": lambda m: os.mknod(j(m, "null"), stat.S_IFCHR | 0o600,
                                        os.makedev(1, 3)),
}


def mount_with_tokens(env):
    return env.mount(env.source(), opts="audience=acme.chata.io")


@pytest.mark.parametrize("op", sorted(OPS))
def test_modifying_call_is_erofs(env, op):
    p = mount_with_tokens(env)
    before = sorted(os.listdir(p.mnt))
    with pytest.raises(OSError) as ei:
        OPS[op](p.mnt)
    assert ei.value.errno == errno.EROFS, \
        "%s: %s, expected EROFS" % (op, errno.errorcode.get(ei.value.errno))
    # Nothing changed.
    assert sorted(os.listdir(p.mnt)) == before
    assert read(j(p.mnt, "client_email")) == CLIENT_EMAIL.encode()
    st = os.stat(j(p.mnt, "client_email"))
    assert stat.S_IMODE(st.st_mode) == 0o400
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    stop_ok(env, p)


def test_rename_across_the_mount_boundary(env):
    # rename(2) between mounts is EXDEV by the kernel before any
    # filesystem sees it (so it cannot be EROFS); what mv falls back to,
    # creating the file inside the mount, is EROFS.
    p = mount_with_tokens(env)
    outside = env.write(env.path("outside"), b"outside")
    before = sorted(os.listdir(p.mnt))
    with pytest.raises(OSError) as ei:
        os.rename(outside, j(p.mnt, "outside"))
    assert ei.value.errno == errno.EXDEV
    with pytest.raises(OSError) as ei:
        os.rename(j(p.mnt, "client_email"), env.path("moved"))
    assert ei.value.errno == errno.EXDEV
    with pytest.raises(OSError) as ei:
        os.open(j(p.mnt, "outside"), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                0o600)
    assert ei.value.errno == errno.EROFS
    assert read(outside) == b"outside"
    assert not os.path.exists(env.path("moved"))
    assert sorted(os.listdir(p.mnt)) == before
    stop_ok(env, p)


def test_read_only_open_still_reads(env):
    # The refusals above are about writing: O_RDONLY (even with O_CREAT
    # on an existing name, which creates nothing) keeps working.
    p = mount_with_tokens(env)
    fd = os.open(j(p.mnt, "client_email"), os.O_RDONLY | os.O_CREAT, 0o600)
    try:
        assert os.read(fd, 4096) == CLIENT_EMAIL.encode()
        with pytest.raises(OSError) as ei:
            os.write(fd, b"x")
        assert ei.value.errno == errno.EBADF
    finally:
        os.close(fd)
    stop_ok(env, p)


@pytest.mark.parametrize("extra_opts", ["", "rw,dev,suid,exec"],
                         ids=["default", "rw-dev-suid-exec-asked"])
def test_mount_flags(env, extra_opts):
    src = env.source()
    p = env.mount(src, opts=extra_opts)
    opts, fstype, source, sopts = mountinfo(p.mnt)
    for flag in ("ro", "nosuid", "nodev", "noexec"):
        assert flag in opts, opts
    for flag in ("rw", "suid", "dev", "exec"):
        assert flag not in opts, opts
    assert fstype == "fuse.safs", fstype
    assert source == src, source
    assert "ro" in sopts and "rw" not in sopts, sopts
    assert "default_permissions" in sopts, sopts
    sv = os.statvfs(p.mnt)
    assert sv.f_flag & os.ST_RDONLY
    assert sv.f_flag & os.ST_NOSUID
    assert sv.f_flag & os.ST_NODEV
    assert sv.f_flag & os.ST_NOEXEC
    stop_ok(env, p)
