# SPDX-License-Identifier: MIT
"""Helpers for the security tests (tests/integration/test_security_*.py).

What the shared conftest.py does not give: test users and groups, a
world-traversable directory an unprivileged safs can use, /dev/fuse opened
up for other users, a daemon whose stderr is read while it runs, probes
run as another uid that report exact errno names, and scanners for a
process's memory and for files on disk.

Everything global that a fixture changes (users, groups, the mode of
/dev/fuse) is put back in its teardown, on failure too.
"""
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import (PASSPHRASE, SAFS, is_mounted, mounts, run, safs_pids,
                      service_account, unmount, wait_for)

PY = "/usr/bin/python3"
AUD = "acme.chata.io"
SUFFIX = uuid.uuid4().hex[:6]
# The environment every daemon started here gets: nothing secret, and a
# marker that shows a read of /proc/PID/environ really saw the daemon's.
ENV_MARKER = "SAFS_SECURITY_TEST_MARKER=%s" % uuid.uuid4().hex
DAEMON_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C",
              ENV_MARKER.split("=")[0]: ENV_MARKER.split("=")[1]}
# A sanitizer build (tests/sanitize.sh) reports through these; keep them.
for _v in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
           "ASAN_SYMBOLIZER_PATH"):
    if _v in os.environ:
        DAEMON_ENV[_v] = os.environ[_v]


def untraceable_leak_check(environ):
    """LeakSanitizer cannot run in a process strace already traces: in a
    sanitizer build, a traced run checks everything but leaks."""
    if os.environ.get("SAFS_TEST_SANITIZE") == "1":
        environ = dict(environ)
        environ["ASAN_OPTIONS"] = (environ.get("ASAN_OPTIONS", "") +
                                   ":detect_leaks=0").lstrip(":")
    return environ


# ---------------------------------------------------------------- keys

class Key:
    """An RSA key that exists only in this process's memory."""

    def __init__(self):
        self.obj = rsa.generate_private_key(public_exponent=65537,
                                            key_size=2048)
        self.pem = self.obj.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        self.public_pem = self.obj.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def body_lines(self, n=3):
        """n distinctive full-width base64 lines from the middle."""
        lines = [ln for ln in self.pem.splitlines()
                 if not ln.startswith("-----") and len(ln) == 64]
        mid = len(lines) // 2
        return lines[mid - n // 2: mid - n // 2 + n]

    def number_needles(self):
        """Leading bytes of p, q and d as big-endian and as the
        little-endian limbs of an x86-64 BIGNUM."""
        pn = self.obj.private_numbers()
        out = {}
        for name, v in (("p", pn.p), ("q", pn.q), ("d", pn.d)):
            be = v.to_bytes((v.bit_length() + 7) // 8, "big")
            out[name + "(big-endian)"] = be[:32]
            out[name + "(BIGNUM limbs)"] = be[::-1][:32]
        return out


def sa_text(pem, **over):
    return json.dumps(service_account(pem, **over), indent=2)


def encrypt_to(plain, out, passphrase=PASSPHRASE, mode=0o644):
    """openssl enc -pbkdf2 of bytes held in memory: no plaintext file."""
    if isinstance(plain, str):
        plain = plain.encode()
    r, w = os.pipe()
    try:
        os.write(w, (passphrase + "\n").encode())
        os.close(w)
        w = -1
        tmp = out + ".part"
        p = subprocess.run(["openssl", "enc", "-e", "-aes-256-cbc",
                            "-pbkdf2", "-out", tmp, "-pass", "fd:%d" % r],
                           input=plain, pass_fds=(r,), capture_output=True,
                           timeout=60)
        assert p.returncode == 0, p.stderr
        os.chmod(tmp, mode)
        os.rename(tmp, out)
    finally:
        os.close(r)
        if w != -1:
            os.close(w)
    return out


def derived_key(enc_path, passphrase=PASSPHRASE):
    """The AES-256 key openssl enc -pbkdf2 derived for enc_path."""
    with open(enc_path, "rb") as f:
        head = f.read(16)
    assert head[:8] == b"Salted__"
    km = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), head[8:16],
                             10000, 48)
    return km[:32]


def verify(token, public_pem, aud=AUD):
    """The claims of an RS256 token that verifies with public_pem."""
    return jwt.decode(token, public_pem, algorithms=["RS256"], audience=aud,
                      leeway=30)


def signed_by(token, public_pem, aud=AUD):
    try:
        verify(token, public_pem, aud)
        return True
    except jwt.InvalidSignatureError:
        return False


# ------------------------------------------------------ users and groups

class Principal:
    def __init__(self, name):
        self.name = name
        r = run(["id", "-u", name], check=True)
        self.uid = int(r.stdout)
        self.gid = int(run(["id", "-g", name], check=True).stdout)
        self.groups = [int(g) for g in
                       run(["id", "-G", name], check=True).stdout.split()]

    def setpriv(self, groups=None):
        """setpriv prefix: this uid, its primary gid and its groups (or
        exactly `groups`)."""
        gl = self.groups if groups is None else groups
        return ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid,
                ("--groups=" + ",".join(str(g) for g in gl)) if gl else
                "--clear-groups"]


def _retry(cmd):
    """useradd and friends fail while another session holds the lock."""
    for _ in range(50):
        r = run(cmd)
        if r.returncode == 0:
            return r
        if b"lock" not in r.stderr and b"try again" not in r.stderr:
            break
        time.sleep(0.2)
    raise AssertionError("%s: %s" % (" ".join(cmd), r.stderr.decode()))


class Principals:
    """A group G and two users: `member` (in G) and `outsider` (not)."""

    def __init__(self):
        self.group_name = "sfsg" + SUFFIX
        self.made_users = []
        self.made_groups = []

    def create(self):
        _retry(["groupadd", self.group_name])
        self.made_groups.append(self.group_name)
        self.gid = int(run(["getent", "group", self.group_name],
                           check=True).stdout.split(b":")[2])
        for role, extra in (("member", ["-G", self.group_name]),
                            ("outsider", [])):
            name = "sfs%s%s" % (role[0], SUFFIX)
            _retry(["useradd", "-M", "-d", "/nonexistent", "-s",
                    "/usr/sbin/nologin", "-U", *extra, name])
            self.made_users.append(name)
            setattr(self, role, Principal(name))
        assert self.gid in self.member.groups
        assert self.gid not in self.outsider.groups

    def remove(self):
        errs = []
        for u in self.made_users:
            r = run(["userdel", u])
            if r.returncode != 0:
                errs.append(r.stderr.decode())
            # Its user-private group, should userdel have left it.
            if run(["getent", "group", u]).returncode == 0:
                run(["groupdel", u])
        for g in self.made_groups:
            if run(["getent", "group", g]).returncode == 0:
                run(["groupdel", g])
        assert not errs, errs


@pytest.fixture(scope="module")
def principals():
    p = Principals()
    try:
        p.create()
        yield p
    finally:
        p.remove()


DEV_FUSE = "/dev/fuse"
DEV_FUSE_LOCK = "/tmp/safs-tests-devfuse.lock"
DEV_FUSE_STATE = "/tmp/safs-tests-devfuse.json"


def _dev_fuse_update(enter):
    """Under an flock shared by every run of these tests on the host: the
    first holder saves the mode of /dev/fuse and opens it to 0666, the
    last one (holders that died are dropped) puts the saved mode back."""
    with open(DEV_FUSE_LOCK, "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            try:
                with open(DEV_FUSE_STATE) as f:
                    st = json.load(f)
            except (OSError, ValueError):
                st = {"mode": stat.S_IMODE(os.stat(DEV_FUSE).st_mode),
                      "holders": []}
            st["holders"] = [h for h in st["holders"]
                             if os.path.exists("/proc/%d" % h) and
                             h != os.getpid()]
            if enter:
                st["holders"].append(os.getpid())
                os.chmod(DEV_FUSE, 0o666)
            if st["holders"]:
                with open(DEV_FUSE_STATE + ".tmp", "w") as f:
                    json.dump(st, f)
                os.rename(DEV_FUSE_STATE + ".tmp", DEV_FUSE_STATE)
            else:
                os.chmod(DEV_FUSE, st["mode"])
                try:
                    os.unlink(DEV_FUSE_STATE)
                except FileNotFoundError:
                    pass
        finally:
            fcntl.flock(lk, fcntl.LOCK_UN)


@pytest.fixture
def dev_fuse_open():
    """/dev/fuse usable by every user (0666, as distributions ship it),
    for the test; its mode (0600 on these machines) is restored after."""
    try:
        _dev_fuse_update(True)
        yield
    finally:
        _dev_fuse_update(False)


# --------------------------------------------- a directory for any user

class World:
    """A directory under /tmp that other users can traverse (pytest's
    tmp_path is under /tmp/pytest-of-root, which they cannot)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(dir="/tmp", prefix="safs-sec-")
        os.chmod(self.dir, 0o755)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def mkdir(self, name, owner=None, mode=0o755):
        p = self.path(name)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, mode)
        if owner is not None:
            os.chown(p, owner.uid, owner.gid)
        return p

    def write(self, name, data, mode=0o644, owner=None):
        p = self.path(name)
        if isinstance(data, str):
            data = data.encode()
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        if owner is not None:
            os.chown(p, owner.uid, owner.gid)
        return p

    def cleanup(self, registered=()):
        """Unmount what is mounted under the directory; complain, as the
        env fixture does, only of mounts the test never registered."""
        here = [m for m in mounts() if m.startswith(self.dir + "/")]
        for m in here:
            unmount(m)
        left = [m for m in here if m not in registered]
        try:
            wait_for(lambda: not safs_pids(self.dir), 15,
                     "safs processes under %s to exit" % self.dir)
        except AssertionError:
            for pid in safs_pids(self.dir):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            raise
        shutil.rmtree(self.dir, ignore_errors=True)
        assert not left, "test left mounts behind: %s" % left


@pytest.fixture
def world(env):
    w = World()
    try:
        yield w
    finally:
        w.cleanup(env.mnts)


def binary_for(user, world):
    """SAFS, or a copy in `world` when `user` cannot execute SAFS."""
    r = run([*user.setpriv(), "test", "-x", SAFS], cwd="/")
    if r.returncode == 0:
        return SAFS
    dst = world.path("safs")
    shutil.copy2(SAFS, dst)
    os.chmod(dst, 0o755)
    return dst


# ------------------------------------------------------------- daemons

class Daemon:
    """A safs (possibly under a wrapper) whose stderr is collected in a
    thread as it comes, so tests can wait for a line while it runs."""

    def __init__(self, popen, mnt):
        self.p = popen
        self.mnt = mnt
        self._lines = []
        self._cv = threading.Condition()
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()

    def _pump(self):
        try:
            for raw in iter(self.p.stderr.readline, b""):
                with self._cv:
                    self._lines.append(raw.decode(errors="replace")
                                       .rstrip("\n"))
                    self._cv.notify_all()
        except (ValueError, OSError):
            pass
        with self._cv:
            self._cv.notify_all()

    @property
    def pid(self):
        return self.p.pid

    def lines(self):
        with self._cv:
            return list(self._lines)

    def text(self):
        return "\n".join(self.lines())

    def wait_lines(self, pattern, count=1, timeout=30):
        """Wait until `count` lines match; return the matches."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                got = [m for m in (rx.search(ln) for ln in self._lines)
                       if m]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "timed out waiting for %d line(s) matching %r; "
                        "stderr so far:\n%s" %
                        (count, pattern, "\n".join(self._lines)))
                self._cv.wait(min(left, 0.2))

    def count(self, pattern):
        rx = re.compile(pattern)
        return sum(1 for ln in self.lines() if rx.search(ln))

    def finish(self, timeout=20):
        """Wait for exit (after an unmount or a signal) and the last of
        stderr; return the exit status."""
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError("process %d did not exit" % self.p.pid)
        # A daemonized child or a fusermount3 --auto-unmount may still
        # hold the pipe; what came before the exit is in by now.
        self._t.join(2)
        return self.p.returncode

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        return self.finish(timeout)


def start(env, source, mnt, opts, *, foreground=True, debug=False,
          wrapper=(), binary=None, pass_fds=(), wait=True, timeout=30,
          under=None, wrapper_stays=False):
    """Start safs (as root, or under `wrapper`, e.g. setpriv/prlimit, which
    exec so the pid stays the daemon's) and register it and its mount with
    env for teardown. Returns a Daemon; with foreground=False, .daemon_pid
    is the pid of the daemonized child. wrapper_stays: the wrapper (strace)
    outlives a daemonizing safs, so do not wait for it to exit."""
    cmd = [*wrapper, binary or SAFS]
    if foreground:
        cmd.append("-f")
    if debug:
        cmd.append("-d")
    if opts:
        cmd += ["-o", opts]
    cmd += [source, mnt]
    denv = DAEMON_ENV
    if any(os.path.basename(w) == "strace" for w in wrapper):
        denv = untraceable_leak_check(denv)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         pass_fds=pass_fds, cwd="/", env=denv)
    env.procs.append(p)
    if mnt not in env.mnts:
        env.mnts.append(mnt)
    d = Daemon(p, mnt)
    d.daemon_pid = p.pid
    if not foreground and not wrapper_stays:
        rc = d.finish(timeout)
        if wait:
            assert rc == 0, "safs exited %d: %s" % (rc, d.text())
    if wait:
        def ready():
            if (foreground or wrapper_stays) and p.poll() is not None:
                raise AssertionError("safs exited %d before mounting: %s"
                                     % (p.returncode, d.text()))
            return is_mounted(mnt)
        wait_for(ready, timeout, "mount of " + mnt)
        if not foreground or wrapper:
            # The daemon itself: a daemonizing parent exits once mounted.
            box = []

            def one():
                pids = daemon_pids(under or os.path.dirname(mnt))
                if len(pids) == 1:
                    box.append(pids.pop())
                    return True
                return False
            wait_for(one, timeout, "exactly one safs process")
            d.daemon_pid = box[0]
    return d


def daemon_pids(under):
    """safs_pids() less wrappers whose command line merely names safs
    (strace ... safs ...): processes whose comm is safs."""
    out = set()
    for pid in safs_pids(under):
        try:
            if read("/proc/%d/comm" % pid) == b"safs\n":
                out.add(pid)
        except OSError:
            pass
    return out


def gone(pid):
    """pid has exited (a zombie not yet reaped counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except OSError:
        return True


def wait_gone(d, timeout=30):
    """Wait for a Daemon's safs to exit (after an unmount); reap it when
    it is our child."""
    wait_for(lambda: gone(d.daemon_pid), timeout,
             "safs %d to exit" % d.daemon_pid)
    if d.daemon_pid == d.p.pid:
        return d.finish(timeout)
    return None


def fusermount_u(mnt):
    r = run(["fusermount3", "-u", mnt])
    assert r.returncode == 0, r.stderr


# -------------------------------------------------------------- mounts

def read_entries(mnt):
    """Every file of a mount, tokens/ included: {relative name: bytes}."""
    out = {}
    for name in sorted(os.listdir(mnt)):
        p = os.path.join(mnt, name)
        if os.path.isdir(p):
            for sub in sorted(os.listdir(p)):
                with open(os.path.join(p, sub), "rb") as f:
                    out[name + "/" + sub] = f.read()
        else:
            with open(p, "rb") as f:
                out[name] = f.read()
    return out


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def wait_content(path, pred, timeout=30, what=None):
    """Poll a file until pred(bytes) holds; return the bytes."""
    box = []

    def ok():
        try:
            data = read(path)
        except OSError:
            return False
        if pred(data):
            box.append(data)
            return True
        return False
    wait_for(ok, timeout, what or "content of " + path)
    return box[0]


# ---------------------------------------------------------------- /proc

def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def vmlck_kb(pid):
    return int(proc_status(pid)["VmLck"].split()[0])


def core_limit(pid):
    """(soft, hard) of "Max core file size" in /proc/PID/limits."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                soft, hard = line[len("Max core file size"):].split()[:2]
                return soft, hard
    raise AssertionError("no core limit in /proc/%d/limits" % pid)


def smaps(pid):
    """[(start, end, perms, name, set(VmFlags))] of /proc/PID/smaps."""
    maps = []
    rx = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$")
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = rx.match(line)
            if m:
                maps.append([int(m[1], 16), int(m[2], 16), m[3], m[4],
                             set()])
            elif line.startswith("VmFlags:"):
                maps[-1][4] = set(line.split(":", 1)[1].split())
    return [tuple(m) for m in maps]


def locked_nondumpable(maps):
    return [m for m in maps if {"lo", "dd"} <= m[4]]


def scan_memory(pid, needles):
    """Where each needle occurs in the readable memory of pid (read as
    root through /proc/PID/mem): {needle name: [(address, mapping)]}."""
    found = {k: [] for k in needles}
    maps = smaps(pid)
    chunk, overlap = 64 << 20, max(len(n) for n in needles.values())
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for m in maps:
            lo, hi, perms = m[0], m[1], m[2]
            if perms[0] != "r" or m[3] in ("[vvar]", "[vsyscall]"):
                continue
            # ASan's shadow reserves terabytes that were never touched:
            # nothing of the daemon's is there, and it cannot be read.
            if hi - lo > 1 << 36:
                continue
            # In chunks that overlap by a needle's length, so a needle
            # on a chunk boundary is still seen, once.
            seen = set()
            for at in range(lo, hi, chunk):
                try:
                    mem.seek(at)
                    data = mem.read(min(chunk + overlap, hi - at))
                except OSError:
                    continue
                for k, n in needles.items():
                    i = data.find(n)
                    while i != -1:
                        if (k, at + i) not in seen:
                            seen.add((k, at + i))
                            found[k].append((at + i, m))
                        i = data.find(n, i + 1)
    return found


def describe(hits):
    return ["%#x in %s %s %s" % (a, m[2], m[3] or "[anon]",
                                 " ".join(sorted(m[4]))) for a, m in hits]


# ---------------------------------------------- probes as another user

PROBE = r"""
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                        ctypes.c_void_p]
out = []
for op, arg in json.loads(sys.argv[1]):
    try:
        if op == "read":
            with open(arg, "rb") as f:
                out.append({"ok": f.read().decode("latin-1")})
        elif op == "stat":
            st = os.stat(arg)
            out.append({"ok": [st.st_uid, st.st_gid, st.st_mode]})
        elif op == "listdir":
            out.append({"ok": sorted(os.listdir(arg))})
        elif op == "write":
            fd = os.open(arg, os.O_WRONLY)
            os.close(fd)
            out.append({"ok": None})
        elif op == "ptrace":
            # PTRACE_SEIZE: the same access check as PTRACE_ATTACH,
            # without stopping the tracee; exit detaches.
            if libc.ptrace(0x4206, int(arg), None, None) == -1:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e))
            out.append({"ok": None})
        else:
            raise SystemExit("unknown op " + op)
    except OSError as e:
        out.append({"errno": errno.errorcode.get(e.errno, str(e.errno))})
print(json.dumps(out))
"""


def probe(prefix, ops, timeout=60):
    """Run PROBE under `prefix` (setpriv ...): one result per (op, arg),
    {"ok": value} or {"errno": "EACCES"}."""
    r = run([*prefix, PY, "-c", PROBE, json.dumps(ops)], cwd="/",
            timeout=timeout, env=DAEMON_ENV)
    assert r.returncode == 0, (r.returncode, r.stderr.decode())
    return json.loads(r.stdout)


def errnos(results):
    return [r.get("errno", "ok") for r in results]


# ------------------------------------------------------------- strace

WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_TMPFILE",
               "O_APPEND")
# Device nodes safs may open read-write: the FUSE channel, the null
# device (libfuse keeps fds 0-2 open; daemonizing points them there) and
# the controlling terminal (the passphrase prompt).
WRITE_OK = ("/dev/fuse", "/dev/null", "/dev/tty")
CREATING_CALLS = ("creat", "rename", "renameat", "renameat2", "link",
                  "linkat", "symlink", "symlinkat", "truncate", "ftruncate",
                  "mknod", "mknodat", "memfd_create", "mkdir", "mkdirat")
STRACE_CALLS = ("open", "openat", "openat2") + CREATING_CALLS + (
    "clone", "clone3", "fork", "vfork", "execve")

_SYSCALL = re.compile(r"^(\d+)\s+([a-z0-9_]+)\((.*)$")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


class Call:
    def __init__(self, tid, name, args, line):
        self.tid = tid
        self.name = name
        self.args = args
        self.line = line
        m = _STRING.search(args)
        self.path = m.group(1) if m else None
        self.rest = args[m.end():] if m else args

    def __repr__(self):
        return self.line


def parse_strace(path):
    """The calls of an `strace -f -o` log (entries, with "<unfinished
    ...>" halves; "resumed" halves carry no arguments we need)."""
    calls = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = _SYSCALL.match(line)
            if m:
                calls.append(Call(int(m[1]), m[2], m[3], line))
    return calls


def sanitizer_log_dirs():
    """In a sanitizer build (tests/sanitize.sh), the directories the ASan
    and UBSan runtimes write their reports to (log_path=DIR/prefix), and
    the ancestors they mkdir on the way there: the runtime's, not safs's,
    and written to only when there is something to report."""
    if os.environ.get("SAFS_TEST_SANITIZE") != "1":
        return set()
    dirs = set()
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        for opt in os.environ.get(var, "").split(":"):
            if opt.startswith("log_path="):
                d = os.path.dirname(opt[len("log_path="):])
                while d not in ("", "/"):
                    dirs.add(d)
                    d = os.path.dirname(d)
    return dirs


def write_violations(calls):
    """Every call that writes or creates a file outside WRITE_OK."""
    runtime = sanitizer_log_dirs()
    bad = []
    for c in calls:
        if c.path is not None and (c.path in runtime or
                                   os.path.dirname(c.path) in runtime):
            continue
        if c.name in CREATING_CALLS:
            bad.append(c)
        elif c.name in ("open", "openat", "openat2"):
            # Flags come after the path (openat2: inside {flags=...}).
            flags = set(re.findall(r"\bO_[A-Z]+\b", c.rest))
            if flags & set(WRITE_FLAGS) and c.path not in WRITE_OK:
                bad.append(c)
    return bad


# ------------------------------------------------------- disk search

def fuse_mountpoints():
    return set(mounts())


def search_files(roots, needles, skip=()):
    """Regular files under roots containing any needle (str). Walks with
    scandir and never enters a FUSE mount (another test's daemon may be
    stopped on purpose; a path walk into it would hang), never follows a
    symlink; grep -F does the reading."""
    fuse = fuse_mountpoints()
    skip = set(os.path.realpath(s) for s in skip)
    files = []

    def walk(d):
        try:
            it = os.scandir(d)
        except OSError:
            return
        with it:
            for e in it:
                p = e.path
                if p in fuse or p in skip:
                    continue
                try:
                    if e.is_dir(follow_symlinks=False):
                        walk(p)
                    elif e.is_file(follow_symlinks=False):
                        files.append(p)
                except OSError:
                    pass
    for r in roots:
        r = os.path.realpath(r)
        if os.path.isdir(r) and r not in fuse:
            walk(r)
    # The needles go to grep on stdin (-f -): never into a file.
    pats = ("\n".join(needles) + "\n").encode()
    hits = set()
    for i in range(0, len(files), 2000):
        r = subprocess.run(["grep", "-l", "-s", "-F", "--devices=skip",
                            "-f", "-", "--", *files[i:i + 2000]],
                           input=pats, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=900)
        assert r.returncode in (0, 1, 2), r.returncode
        hits.update(r.stdout.decode(errors="replace").splitlines())
    return sorted(hits), len(files)


def build_dir():
    d = os.environ.get("SAFS_BUILD_DIR")
    return d if d else os.path.dirname(os.path.realpath(SAFS))
