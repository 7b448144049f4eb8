# SPDX-License-Identifier: MIT
"""Issue 4, point 4: -o audit and -o nocache.

audit: every open reaches the daemon and is one log line - time, entry,
pid, uid, gid and the reader's process name - for readers of other uids
with known names; stats, listings and further reads log nothing; opens
for writing are still refused. nocache: every read is served by the
daemon (direct I/O), shown by counting READ requests in -d output, with
contents still exact.
"""
import calendar
import errno
import json
import mmap
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import unexpected_lines
from helpers_security import (AUD, Key, encrypt_to, principals, read,
                              read_entries, sa_text, start, verify,
                              wait_content, world)

__all__ = ["principals", "world"]

AUDIT = re.compile(r"^safs: audit: time=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)"
                   r"\.(\d{3})Z entry=(\S+) pid=(\d+) uid=(\d+) gid=(\d+) "
                   r"comm=\"(.*)\"$")


def _config(world):
    return world.write("safs.json", json.dumps({
        "audience": AUD,
        "profiles": {"default": {"user_id": "svc-etl"},
                     "reporting": {"user_id": "svc-bi"}}}))


def audit_lines(d):
    return [m.groups() for m in (AUDIT.match(ln) for ln in d.lines()) if m]


def _sync(d, mnt, n_before):
    """Open a marker entry as root and wait for its line: every line of
    an earlier open is in by then (one pipe, in order). Returns the audit
    lines up to, not including, the marker's."""
    with open(os.path.join(mnt, "project_id"), "rb") as f:
        f.read()
    d.wait_lines(r"audit: .* entry=project_id pid=%d " % os.getpid(),
                 n_before + 1)
    lines = audit_lines(d)
    marks = [i for i, ln in enumerate(lines)
             if ln[2] == "project_id" and int(ln[3]) == os.getpid()]
    return lines[:marks[n_before]]


PY_READER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(15, b"auditpy", 0, 0, 0) == 0      # PR_SET_NAME
path, n = sys.argv[1], int(sys.argv[2])
for _ in range(n):
    fd = os.open(path, os.O_RDONLY)
    while os.read(fd, 7):          # many reads per open: still one line
        pass
    os.close(fd)
print(os.getpid())
"""


def test_audit_one_line_per_open(env, world, principals):
    key = Key()
    src = encrypt_to(sa_text(key.pem), world.path("sa.enc"))
    mnt = world.mkdir("mnt")
    d = start(env, src, mnt, "passfile=%s,audience=%s,config=%s,"
              "allow_other,mode=0444,audit" % (env.passfile, AUD,
                                               _config(world)))
    b, a = principals.outsider, principals.member
    # A reader with a known name: a copy of cat called auditreader.
    cat = world.path("auditreader")
    shutil.copy2("/bin/cat", cat)
    os.chmod(cat, 0o755)
    files = ["token", "client_email", "tokens/reporting"]
    t0 = time.time()
    p = subprocess.Popen([*b.setpriv(), cat] +
                         [os.path.join(mnt, f) for f in files],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd="/")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    cat_pid = p.pid         # setpriv execs: the pid is cat's
    # python as the other user, renamed with prctl, 5 opens of token.
    n = 5
    q = subprocess.run([*a.setpriv(), "/usr/bin/python3", "-c", PY_READER,
                        os.path.join(mnt, "token"), str(n)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       cwd="/", timeout=60)
    assert q.returncode == 0, q.stderr
    py_pid = int(q.stdout)
    # What is not an open logs nothing: stat, listing, failed writes.
    os.stat(os.path.join(mnt, "token"))
    os.listdir(mnt)
    os.listdir(os.path.join(mnt, "tokens"))
    for f in ("token", "client_email"):
        for flags in (os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC):
            with pytest.raises(OSError) as ei:
                os.open(os.path.join(mnt, f), flags)
            assert ei.value.errno == 30, ei.value      # EROFS
    t1 = time.time()

    lines = _sync(d, mnt, 0)
    assert len(lines) == len(files) + n, lines
    cat_lines, py_lines = lines[:len(files)], lines[len(files):]
    assert [ln[2] for ln in cat_lines] == files
    for when, ms, entry, pid, uid, gid, comm in cat_lines:
        assert (int(pid), int(uid), int(gid), comm) == \
            (cat_pid, b.uid, b.gid, "auditreader")
        ts = calendar.timegm(time.strptime(when, "%Y-%m-%dT%H:%M:%S"))
        assert t0 - 2 <= ts + int(ms) / 1000 <= t1 + 2, (when, t0, t1)
    for when, ms, entry, pid, uid, gid, comm in py_lines:
        assert (entry, int(pid), int(uid), int(gid), comm) == \
            ("token", py_pid, a.uid, a.gid, "auditpy")
    # One line per open, none per read: 3 more opens, 3 more lines.
    q = subprocess.run([*a.setpriv(), "/usr/bin/python3", "-c", PY_READER,
                        os.path.join(mnt, "client_email"), "3"],
                       stdout=subprocess.PIPE, cwd="/", timeout=60)
    assert q.returncode == 0
    lines = _sync(d, mnt, 1)
    assert len(lines) == len(files) + n + 1 + 3, lines
    assert [ln[2] for ln in lines[-3:]] == ["client_email"] * 3
    assert d.stop() == 0
    # Audit lines are notices, not warnings or errors.
    assert not unexpected_lines(d.text()), d.text()


def test_without_audit_opens_are_not_logged(env):
    """The contrast: without audit no line is logged for any open."""
    src = env.source()
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfile=%s,audience=%s" % (env.passfile, AUD))
    for _ in range(3):
        read_entries(mnt)
    assert d.stop() == 0
    assert not audit_lines(d), d.text()
    assert not [ln for ln in d.lines() if "audit:" in ln], d.text()


# ------------------------------------------------------------- nocache

READ_REQ = re.compile(r"opcode: READ \(15\)")
STATFS_REQ = re.compile(r"opcode: STATFS \(17\)")


class Marks:
    """READ requests the daemon saw between STATFS markers (statvfs is
    never cached, so each one is a request in -d output, in order)."""

    def __init__(self, d, mnt):
        self.d, self.mnt, self.n = d, mnt, 0
        self.mark()

    def mark(self):
        os.statvfs(self.mnt)
        self.n += 1
        self.d.wait_lines(STATFS_REQ.pattern, self.n)

    def reads_since_last_mark(self, action):
        """Run action, mark, return the READ requests in between."""
        start = self.n
        action()
        self.mark()
        seg, count = 0, 0
        for ln in self.d.lines():
            if STATFS_REQ.search(ln):
                seg += 1
            elif READ_REQ.search(ln) and seg == start:
                count += 1
        return count


def _count_reads(d, mnt, path):
    """READ requests for: a first open+read, a second open+read, and a
    second pread from offset 0 on one open descriptor."""
    m = Marks(d, mnt)

    def open_read():
        fd = os.open(path, os.O_RDONLY)
        try:
            assert os.read(fd, 65536)
        finally:
            os.close(fd)
    first = m.reads_since_last_mark(open_read)
    second = m.reads_since_last_mark(open_read)
    fd = os.open(path, os.O_RDONLY)
    try:
        m.reads_since_last_mark(lambda: os.pread(fd, 65536, 0))
        again = m.reads_since_last_mark(lambda: os.pread(fd, 65536, 0))
    finally:
        os.close(fd)
    return first, second, again


@pytest.mark.parametrize("nocache", [False, True], ids=["cached", "nocache"])
def test_nocache_every_read_reaches_daemon(env, nocache):
    """Reading a file again - by a new open, or at offset 0 on the same
    descriptor: with nocache the read reaches the daemon each time (no
    page cache); without it the page cache answers."""
    src = env.source()
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfile=%s,audience=%s%s" %
              (env.passfile, AUD, ",nocache" if nocache else ""),
              debug=True)
    for entry in ("client_email", "private_key", "token"):
        first, second, again = _count_reads(d, mnt,
                                            os.path.join(mnt, entry))
        assert first >= 1, (entry, first)
        if nocache:
            # Nothing is kept: not across opens, not within one.
            assert second >= 1 and again >= 1, (entry, second, again)
        else:
            assert second == 0 and again == 0, (entry, second, again)
    assert d.stop() == 0
    # -d output has libfuse's "error: -38" replies (ENOSYS, by design).
    rest = "\n".join(ln for ln in d.lines() if "debug:" not in ln)
    assert not unexpected_lines(rest), rest


def test_nocache_content_exact(env):
    """With nocache (direct I/O) every entry still reads exactly, whatever
    the read size and offset, and a token read in pieces is one token."""
    key = Key()
    text = sa_text(key.pem)
    src = encrypt_to(text, env.path("sa.enc"))
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfile=%s,audience=%s,nocache" %
              (env.passfile, AUD))
    ents = read_entries(mnt)
    assert ents["credentials.json"] == text.encode()
    assert ents["private_key"] == key.pem.encode()
    assert ents["public_key.pem"] == key.public_pem.encode()
    sa = json.loads(text)
    for k, v in sa.items():
        assert ents[k] == v.encode(), k
    for name in ("credentials.json", "private_key", "token"):
        path = os.path.join(mnt, name)
        for size in (1, 7, 100, 4096):
            fd = os.open(path, os.O_RDONLY)
            parts = []
            while True:
                b = os.read(fd, size)
                if not b:
                    break
                parts.append(b)
            # pread at offsets, on the same descriptor: same bytes.
            whole = b"".join(parts)
            assert os.pread(fd, 50, 10) == whole[10:60]
            os.close(fd)
            if name == "token":
                verify(whole.decode(), key.public_pem)
            else:
                assert whole == ents[name], (name, size)
    assert d.stop() == 0
    assert not unexpected_lines(d.text()), d.text()


def test_logs_hold_no_secret(env):
    """Everything safs logs - debug output of every FUSE request, audit
    lines, a reload that fails on a wrong passphrase, one that succeeds -
    names entries and lengths, never a secret: no passphrase (right or
    wrong), no line of the key, no part of a token."""
    key = Key()
    good = "log-test-passphrase-" + os.urandom(4).hex()
    wrong = "wrong-log-passphrase-" + os.urandom(4).hex()
    pf = env.write(env.path("pf"), good + "\n", 0o600)
    src = encrypt_to(sa_text(key.pem), env.path("sa.enc"), good)
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfile=%s,audience=%s,audit,token_ttl=2,"
              "refresh=50" % (pf, AUD), debug=True)
    tokens = set()
    for _ in range(3):
        ents = read_entries(mnt)
        tokens.add(ents["token"])
        first = ents["token"]
        wait_content(os.path.join(mnt, "token"), lambda t: t != first, 30)
    env.write(pf, wrong + "\n", 0o600)
    os.kill(d.pid, signal.SIGHUP)
    d.wait_lines(r"error: reload of .* failed")
    env.write(pf, good + "\n", 0o600)
    os.kill(d.pid, signal.SIGHUP)
    d.wait_lines(r"reloaded ")
    tokens.add(read(os.path.join(mnt, "token")))
    assert d.stop() == 0
    err = d.text()
    assert "entry=private_key" in err and "opcode: READ" in err
    secrets = [good, wrong] + key.body_lines(5)
    for t in tokens:
        h, p, s = t.decode().split(".")
        secrets += [p[:40], s[:40], s[-40:]]
    leaked = [s for s in secrets if s in err]
    assert not leaked, leaked


def test_nocache_mmap(env):
    """With nocache an entry cannot be mapped shared (FUSE refuses it for
    direct I/O: ENODEV); a private mapping still reads the exact bytes."""
    key = Key()
    src = encrypt_to(sa_text(key.pem), env.path("sa.enc"))
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfile=%s,audience=%s,nocache" %
              (env.passfile, AUD))
    fd = os.open(os.path.join(mnt, "private_key"), os.O_RDONLY)
    try:
        with pytest.raises(OSError) as ei:
            mmap.mmap(fd, 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        assert ei.value.errno == errno.ENODEV
        m = mmap.mmap(fd, 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
        assert m[:] == key.pem.encode()
        m.close()
    finally:
        os.close(fd)
    assert d.stop() == 0


def test_audit_line_cannot_be_forged_by_process_name(env):
    """A reader that names itself with a newline and a fake audit prefix
    gets one line - its name cut at the newline or escaped - never a
    second, forged one."""
    src = env.source()
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfile=%s,audience=%s,audit" %
              (env.passfile, AUD))
    evil = b"x\nsafs: audit:"          # 14 bytes: fits in comm (15)
    code = ("import ctypes, os, sys\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "assert libc.prctl(15, %r, 0, 0, 0) == 0\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY); os.read(fd, 10)\n"
            "os.close(fd)\n" % evil)
    q = subprocess.run(["/usr/bin/python3", "-c", code,
                        os.path.join(mnt, "token")], cwd="/", timeout=60,
                       stderr=subprocess.PIPE)
    assert q.returncode == 0, q.stderr
    lines = _sync(d, mnt, 0)
    assert len(lines) == 1, d.text()
    assert lines[0][2] == "token", lines
    assert lines[0][6] in ("x", "x\\x0asafs: audit:"), lines
    # Every line safs wrote starts with its own prefix.
    assert all(ln.startswith("safs: ") for ln in d.lines()), d.text()
    assert d.stop() == 0
