# SPDX-License-Identifier: MIT
"""Helpers for the issue-2 real-mount suites (formats, bad input,
read-only, passphrase sources, entries, lifecycle).

Everything here builds on conftest's `env` fixture and never passes a
passphrase through argv: openssl gets `-pass file:PATH`, safs gets
passfile=/passfd=/extpass= or a terminal.
"""
import json
import os
import re
import signal
import subprocess
import threading
import time

from conftest import PASSPHRASE, SAFS, is_mounted, mounts, wait_for

# A passphrase no message could contain by accident.
SECRET = "Qz7-distinctive-PASS-phrase-4u9k"

EXIT_USAGE = 2
EXIT_SOURCE = 3
EXIT_DECRYPT = 4
EXIT_ACCOUNT = 5
EXIT_MOUNT = 6

CLIENT_EMAIL = "svc-etl@p-123.iam.gserviceaccount.com"


def write_passfile(env, name, content, mode=0o600):
    """A passfile holding exactly `content` (str or bytes)."""
    return env.write(env.path(name), content, mode)


def encrypt_bytes(env, name, plain, args=("-aes-256-cbc", "-pbkdf2"),
                  passphrase=SECRET):
    """Encrypt the bytes `plain` with the real openssl enc into name."""
    tmp = env.write(env.path(name + ".plain"), plain, 0o600)
    out = env.encrypt(tmp, env.path(name), tuple(args), passphrase)
    os.unlink(tmp)
    return out


def sa_text(env, **over):
    """The JSON text conftest's sa_json() writes, as bytes (no file)."""
    path, text = env.sa_json("sa-text.json", **over)
    os.unlink(path)
    return text


def secret_source(env, name="sa.enc", args=("-aes-256-cbc", "-pbkdf2"),
                  **over):
    """An encrypted service account under SECRET, and its plaintext."""
    text = sa_text(env, **over)
    return encrypt_bytes(env, name, text, args), text


def key_lines(pem):
    """The secret lines of a PEM key (base64 body, not the armour)."""
    return [l for l in pem.splitlines() if l and not l.startswith("-----")]


def secrets_of(env, *extra):
    """Strings that must never appear in any safs output."""
    return [SECRET, PASSPHRASE] + key_lines(env.keys.pem) + list(extra)


def fuse_mounts_under(d):
    d = os.path.realpath(d)
    return [m for m in mounts() if m == d or m.startswith(d + "/")]


def assert_clean_failure(env, r, code, needles=(), secrets=(), mnt=None):
    """One clear line on stderr naming the cause, the documented exit
    code, no signal, no secret, nothing mounted."""
    err = r.stderr.decode("utf-8", "replace")
    out = r.stdout.decode("utf-8", "replace")
    what = "exit %d, stderr %r, stdout %r" % (r.returncode, err, out)
    assert r.returncode >= 0, "killed by signal %d: %s" % (-r.returncode,
                                                           what)
    assert 0 < r.returncode < 128, what
    assert r.returncode == code, "expected exit %d; %s" % (code, what)
    lines = err.splitlines()
    assert len(lines) == 1, "expected one line on stderr; " + what
    assert err.endswith("\n"), what
    line = lines[0]
    assert line.strip(), what
    for n in needles:
        assert n.lower() in line.lower(), "%r not named; %s" % (n, what)
    for s in list(secrets) + secrets_of(env):
        assert s not in err, "secret %r on stderr: %s" % (s, err)
        assert s not in out, "secret %r on stdout: %s" % (s, out)
    if mnt is not None:
        assert not is_mounted(mnt), "%s mounted after failure" % mnt
    assert not fuse_mounts_under(env.tmp), fuse_mounts_under(env.tmp)
    return line


def mountinfo(path):
    """The /proc/self/mountinfo entry of path: (mount options, fstype,
    source, super options), as lists for the option fields."""
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.rstrip("\n").partition(" - ")
            fields = left.split(" ")
            if fields[4].replace("\\040", " ") != path:
                continue
            fstype, source, sopts = right.split(" ", 2)
            return fields[5].split(","), fstype, source, sopts.split(",")
    raise AssertionError("%s is not in /proc/self/mountinfo" % path)


def proc_bytes(pid, what):
    with open("/proc/%d/%s" % (pid, what), "rb") as f:
        return f.read()


def assert_not_in_proc(pid, secret):
    """The secret is in neither argv nor the environment of pid."""
    s = secret.encode()
    assert s not in proc_bytes(pid, "cmdline"), proc_bytes(pid, "cmdline")
    assert s not in proc_bytes(pid, "environ")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def stop_ok(env, p, sig=signal.SIGTERM, allowed=()):
    """Stop a foreground safs; it must unmount, exit 0 and print no
    unexpected warning. Returns its stderr."""
    from conftest import unexpected_lines
    err = env.stop(p, sig)
    assert p.returncode == 0, "exit %d: %s" % (p.returncode, err)
    assert not is_mounted(p.mnt), p.mnt
    bad = unexpected_lines(err, allowed)
    assert not bad, err
    for s in secrets_of(env):
        assert s not in err, "secret %r on stderr: %s" % (s, err)
    return err


def daemon_ok(env, p, allowed=()):
    """A daemonized mount returned 0 and said nothing unexpected (its
    stderr, until it detached, is in p.stderr_text)."""
    from conftest import unexpected_lines
    assert p.returncode == 0, p.stderr_text
    bad = unexpected_lines(p.stderr_text, allowed)
    assert not bad, p.stderr_text
    for s in secrets_of(env):
        assert s not in p.stderr_text, p.stderr_text


def script(env, name, body, mode=0o700):
    """An executable /bin/sh script in the test's directory."""
    return env.write(env.path(name), "#!/bin/sh\n" + body, mode)


def env_without_credentials(**add):
    e = dict(os.environ)
    e.pop("CREDENTIALS_DIRECTORY", None)
    e.update(add)
    return e


class Drain:
    """Read a pipe (safs -d's stderr) line by line in a thread, so the
    daemon never blocks on a full pipe and tests can wait for lines."""

    def __init__(self, f):
        self.f = f
        self.lines = []
        self.cv = threading.Condition()
        self.done = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        for raw in iter(self.f.readline, b""):
            with self.cv:
                self.lines.append(raw.decode("utf-8", "replace")
                                  .rstrip("\n"))
                self.cv.notify_all()
        with self.cv:
            self.done = True
            self.cv.notify_all()

    def snapshot(self):
        with self.cv:
            return list(self.lines)

    def wait(self, pred, timeout=30, what="debug output"):
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                v = pred(list(self.lines))
                if v is not None and v is not False:
                    return v
                left = deadline - time.monotonic()
                if left <= 0 or self.done:
                    raise AssertionError("timed out waiting for %s; got:\n%s"
                                         % (what, "\n".join(self.lines)))
                self.cv.wait(min(left, 0.5))

    def join(self, timeout=30):
        self.t.join(timeout)
        return "\n".join(self.lines) + ("\n" if self.lines else "")


# libfuse's -d trace, as safs relays it ("safs: debug: fuse: ...").
REQ_RE = re.compile(r"unique: (\d+), opcode: (\w+) \(\d+\), nodeid: (\d+), "
                    r"insize: \d+, pid: (\d+)")
REPLY_RE = re.compile(r"^\s*unique: (\d+), (success|error: (-?\d+))")


def fuse_requests(lines, pid=None):
    """[(index, unique, opcode, nodeid, pid)] of the request lines."""
    out = []
    for i, l in enumerate(lines):
        m = REQ_RE.search(l)
        if m and (pid is None or int(m.group(4)) == pid):
            out.append((i, int(m.group(1)), m.group(2), int(m.group(3)),
                        int(m.group(4))))
    return out


def fuse_reply_index(lines, unique):
    """Index of the reply line for request `unique`, or None."""
    for i, l in enumerate(lines):
        _, _, rest = l.partition("fuse: ")
        m = REPLY_RE.match(rest)
        if m and int(m.group(1)) == unique:
            return i
    return None


def json_text(members):
    """Build JSON object text from [(name, value, ensure_ascii)], in
    order, so a test controls escapes and raw UTF-8 member by member."""
    parts = []
    for name, value, ascii_ in members:
        parts.append("  %s: %s" % (json.dumps(name, ensure_ascii=ascii_),
                                   json.dumps(value, ensure_ascii=ascii_)))
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")


def run_safs(args, timeout=60, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([SAFS, *args], timeout=timeout, **kw)


def poll_mounted(path, stop_event, seen):
    """Thread body: record in seen[0] whether path was ever mounted."""
    while not stop_event.is_set():
        if is_mounted(path):
            seen[0] = True
        time.sleep(0.001)


def wait_unmounted(path, timeout=20):
    wait_for(lambda: not is_mounted(path), timeout, "unmount of " + path)
