# SPDX-License-Identifier: MIT
"""Shared fixtures for safs's real-mount tests.

Every fixture is made at run time: an RSA key from the real `openssl`
CLI, a service-account JSON around it, encrypted with `openssl enc`.
Each test gets its own temporary directory and mountpoint; every mount
is torn down in teardown, even on failure, and a test that leaves a
mount or a safs process behind fails.
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("SAFS_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(HERE))
BUILD_DIR = os.environ.get("SAFS_BUILD_DIR") or os.path.join(SOURCE_DIR,
                                                             "build")
SAFS = os.environ.get("SAFS_BIN") or os.path.join(BUILD_DIR, "safs")
PASSPHRASE = "correct horse battery staple"

# Warnings the daemon may print on these machines that no test is about.
EXPECTED_WARNINGS = [
    re.compile(r"the system clock is not synchronised"),
]


def run(cmd, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, **kw)


def mounts():
    """Mountpoints of FUSE filesystems, from /proc/self/mountinfo."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split(" ")[0].startswith("fuse"):
                out.append(left.split(" ")[4].replace("\\040", " "))
    return out


def is_mounted(path):
    return os.path.realpath(path) in mounts()


def wait_for(pred, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.01)
    raise AssertionError("timed out waiting for " + what)


def unmount(path):
    if is_mounted(path):
        run(["fusermount3", "-u", "-z", path])
    if is_mounted(path):
        run(["umount", "-l", path])


class Keys:
    """A per-session RSA key and helpers to build sources around it."""

    def __init__(self, d):
        self.dir = d
        self.key = os.path.join(d, "key.pem")
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
             "rsa_keygen_bits:2048", "-out", self.key], check=True)
        self.pem = open(self.key).read()
        pub = run(["openssl", "pkey", "-in", self.key, "-pubout"],
                  check=True)
        self.public_pem = pub.stdout.decode()


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    return Keys(str(tmp_path_factory.mktemp("keys")))


def service_account(pem, **over):
    sa = {
        "type": "service_account",
        "project_id": "p-123",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": "svc-etl@p-123.iam.gserviceaccount.com",
        "client_id": "112233445566778899000",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    for k, v in over.items():
        if v is None:
            sa.pop(k, None)
        else:
            sa[k] = v
    return sa


class Env:
    """One test's world: a temp dir, a passfile, sources, mounts."""

    def __init__(self, tmp, keys):
        self.tmp = str(tmp)
        self.keys = keys
        self.passfile = self.path("pass")
        self.write(self.passfile, PASSPHRASE + "\n", 0o600)
        self.procs = []
        self.mnts = []

    def path(self, *p):
        return os.path.join(self.tmp, *p)

    def write(self, path, data, mode=0o644):
        if isinstance(data, str):
            data = data.encode()
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    def sa_json(self, name="sa.json", **over):
        sa = service_account(self.keys.pem, **over)
        text = json.dumps(sa, indent=2)
        self.write(self.path(name), text, 0o600)
        return self.path(name), text.encode()

    def encrypt(self, plain, out=None, args=("-aes-256-cbc", "-pbkdf2"),
                passphrase=PASSPHRASE):
        out = out or plain + ".enc"
        pf = self.write(self.path("encpass"), passphrase + "\n", 0o600)
        run(["openssl", "enc", "-e", *args, "-in", plain, "-out", out,
             "-pass", "file:" + pf], check=True)
        os.unlink(pf)
        return out

    def source(self, name="sa.enc", args=("-aes-256-cbc", "-pbkdf2"),
               **over):
        plain, _ = self.sa_json(name + ".json", **over)
        out = self.encrypt(plain, self.path(name), args)
        os.unlink(plain)
        return out

    def mountpoint(self, name="mnt"):
        p = self.path(name)
        os.makedirs(p, exist_ok=True)
        self.mnts.append(p)
        return p

    def safs(self, *args, **kw):
        """Run safs to completion (--check, a failing mount, ...)."""
        r = run([SAFS, *args], **kw)
        for p in self.mnts:
            if is_mounted(p) and r.returncode != 0:
                raise AssertionError("failed safs left %s mounted" % p)
        return r

    def mount(self, source, mnt=None, opts="", extra=(), foreground=True,
              passfile=True, env=None, pass_fds=(), preexec_fn=None,
              wait=True, timeout=20):
        """Start a mount; returns the Popen (foreground) and waits for it."""
        mnt = mnt or self.mountpoint()
        o = ",".join(x for x in [
            ("passfile=" + self.passfile) if passfile else "", opts] if x)
        cmd = [SAFS]
        if foreground:
            cmd.append("-f")
        if o:
            cmd += ["-o", o]
        cmd += [*extra, source, mnt]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env,
                             pass_fds=pass_fds, preexec_fn=preexec_fn)
        self.procs.append(p)
        if mnt not in self.mnts:
            self.mnts.append(mnt)
        if not foreground:
            p.wait(timeout=timeout)
            p.stderr_text = p.stderr.read().decode()
            if p.returncode != 0:
                raise AssertionError("safs exited %d: %s" %
                                     (p.returncode, p.stderr_text))
        if wait:
            def ready():
                if foreground and p.poll() is not None:
                    raise AssertionError(
                        "safs exited %d before mounting: %s" %
                        (p.returncode, p.stderr.read().decode()))
                return is_mounted(mnt)
            wait_for(ready, timeout, "mount of " + mnt)
        p.mnt = mnt
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        """Signal a foreground safs, wait for exit, return its stderr."""
        if p.poll() is None:
            p.send_signal(sig)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError("safs did not exit on %s" % sig)
        err = p.stderr.read().decode()
        p.stderr_text = err
        return err

    def teardown(self):
        for m in self.mnts:
            unmount(m)
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()


def unexpected_lines(stderr, allowed=()):
    """Lines of safs's stderr that are warnings/errors no test expects."""
    bad = []
    pats = EXPECTED_WARNINGS + [re.compile(a) for a in allowed]
    for line in stderr.splitlines():
        if "warning:" in line or "error:" in line:
            if not any(p.search(line) for p in pats):
                bad.append(line)
    return bad


def safs_pids(under):
    """safs processes whose command line names a path under `under`."""
    r = run(["pgrep", "-f", "-x", "(.*/)?safs .*"])
    pids = set()
    for pid in r.stdout.split():
        try:
            with open("/proc/%s/cmdline" % pid.decode(), "rb") as f:
                if under.encode() in f.read():
                    pids.add(int(pid))
        except OSError:
            pass
    return pids


@pytest.fixture
def env(tmp_path, keys):
    # Scoped to this test's directory: other suites may mount meanwhile.
    e = Env(tmp_path, keys)
    yield e
    e.teardown()
    # Daemonized mounts: unmounting ends them; give them a moment.
    wait_for(lambda: not safs_pids(e.tmp), 10, "safs processes to exit")
    left = [m for m in mounts() if m.startswith(os.path.realpath(e.tmp))]
    for m in left:
        unmount(m)
    assert not left, "test left mounts behind: %s" % sorted(left)
