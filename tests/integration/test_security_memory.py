# SPDX-License-Identifier: MIT
"""Issue 4, points 1 and 2 (third and fourth test): secrets live in locked,
non-dumpable memory; no core file; nothing secret in /proc/PID/cmdline or
environ; a same-uid process can neither read the daemon's /proc files nor
ptrace it; a refused mlock is one warning, or a refusal with require_mlock.

Attacks run as root (who may read any process's memory, the way a
forensic tool or a core file would see it) and as unprivileged users
made for the test.
"""
import os
import resource
import signal
import subprocess

import pytest

from conftest import (PASSPHRASE, is_mounted, safs_pids, unexpected_lines,
                      wait_for)
from helpers_security import (AUD, DAEMON_ENV, ENV_MARKER, Key, binary_for,
                              core_limit, derived_key, describe,
                              dev_fuse_open, encrypt_to, fusermount_u,
                              locked_nondumpable, principals, probe,
                              proc_status, read, read_entries, sa_text,
                              scan_memory, smaps, start, verify, vmlck_kb,
                              wait_content, wait_gone, world)

# pytest finds the fixtures it uses through these names.
__all__ = ["principals", "world", "dev_fuse_open"]

LOCK_WARNING = r"warning: cannot lock memory"


def _source(env, key, passphrase=PASSPHRASE, name="sa.enc", **over):
    return encrypt_to(sa_text(key.pem, **over), env.path(name), passphrase)


# ------------------------------------------------ point 1, as root

@pytest.mark.parametrize("foreground", [True, False],
                         ids=["foreground", "daemonized"])
def test_daemon_memory_locked_and_no_core(env, foreground):
    """VmLck > 0, RLIMIT_CORE 0/0, a locked (lo) non-dumpable (dd) arena
    with PROT_NONE guard pages on both sides."""
    src = env.source()
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfile=%s,audience=%s" %
              (env.passfile, AUD), foreground=foreground, under=env.tmp)
    pid = d.daemon_pid
    assert read(os.path.join(mnt, "client_email"))
    assert vmlck_kb(pid) > 0, "VmLck of the daemon is 0 kB"
    assert core_limit(pid) == ("0", "0")

    maps = smaps(pid)
    locked = locked_nondumpable(maps)
    assert locked, "no mapping is both locked (lo) and non-dumpable (dd)"
    # OpenSSL's secure heap: the arena sized for safs's secrets (4 MiB),
    # a PROT_NONE guard page right before and after it.
    arena = [m for m in locked if m[1] - m[0] >= 1024 * 1024]
    assert arena, describe([(m[0], m) for m in locked])
    lo, hi = arena[0][0], arena[0][1]
    before = [m for m in maps if m[1] == lo]
    after = [m for m in maps if m[0] == hi]
    assert before and before[0][2] == "---p", "no guard page before arena"
    assert after and after[0][2] == "---p", "no guard page after arena"
    _end(d, mnt, foreground)


def _end(d, mnt, foreground):
    """Stop a daemon: SIGTERM in the foreground; daemonized, unmounting
    ends it. Then its stderr holds no unexpected warning."""
    if foreground:
        assert d.stop() == 0
    else:
        fusermount_u(mnt)
        wait_gone(d)
    assert not unexpected_lines(d.text()), d.text()


def _session_daemon(env, key):
    """A daemon that has served every entry and minted a few tokens."""
    src = _source(env, key)
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfile=%s,audience=%s,token_ttl=2,"
              "refresh=50" % (env.passfile, AUD))
    first = read(os.path.join(mnt, "token"))
    wait_content(os.path.join(mnt, "token"), lambda t: t != first, 30,
                 "a token rotation")
    ents = read_entries(mnt)
    assert ents["private_key"].decode() == key.pem
    return d, src, mnt, ents


def test_private_key_only_in_locked_memory(env):
    """Read as root through /proc/PID/mem: every copy of the private key
    (its PEM text; p, q and d as big-endian bytes or BIGNUM limbs) lies
    in a locked, non-dumpable mapping; none in the ordinary heap, where
    it could be swapped out."""
    key = Key()
    d, _, _, _ = _session_daemon(env, key)
    needles = {"PEM line %d" % i: ln.encode()
               for i, ln in enumerate(key.body_lines())}
    needles.update(key.number_needles())
    found = scan_memory(d.pid, needles)
    # The scan works: the PEM is served, so it is in memory somewhere.
    assert any(found["PEM line %d" % i] for i in range(3)), found
    outside = {k: describe([h for h in v if not {"lo", "dd"} <= h[1][4]])
               for k, v in found.items()}
    outside = {k: v for k, v in outside.items() if v}
    assert not outside, "key material outside locked memory: %s" % outside
    d.stop()


def test_tokens_only_in_locked_memory(env):
    """The token being served (payload and signature) is only in locked,
    non-dumpable memory."""
    key = Key()
    d, _, mnt, _ = _session_daemon(env, key)
    tok = read(os.path.join(mnt, "token"))
    verify(tok.decode(), key.public_pem)
    head, payload, sig = tok.split(b".")
    found = scan_memory(d.pid, {"payload": payload[:48],
                                "signature": sig[:48]})
    assert found["payload"] and found["signature"], found
    outside = {k: describe([h for h in v if not {"lo", "dd"} <= h[1][4]])
               for k, v in found.items()}
    outside = {k: v for k, v in outside.items() if v}
    assert not outside, "token outside locked memory: %s" % outside
    d.stop()


def test_passphrase_and_derived_key_wiped(env):
    """Once mounted, neither the passphrase nor the AES key derived from
    it is anywhere in the daemon's memory."""
    key = Key()
    d, src, _, _ = _session_daemon(env, key)
    aes = derived_key(src)
    found = scan_memory(d.pid, {"passphrase": PASSPHRASE.encode(),
                                "derived key": aes})
    assert not found["passphrase"], describe(found["passphrase"])
    assert not found["derived key"], describe(found["derived key"])
    # ... and not after a reload either (the passphrase read again).
    os.kill(d.pid, signal.SIGHUP)
    d.wait_lines(r"reloaded ")
    found = scan_memory(d.pid, {"passphrase": PASSPHRASE.encode(),
                                "derived key": aes})
    assert not found["passphrase"], describe(found["passphrase"])
    assert not found["derived key"], describe(found["derived key"])
    d.stop()


# ---------------------------- point 2, third test: /proc holds no secret

def _passphrase_source(env, how, passphrase):
    """(mount options, pass_fds) for one passphrase source."""
    if how == "passfile":
        pf = env.write(env.path("pf"), passphrase + "\n", 0o600)
        return "passfile=" + pf, ()
    if how == "extpass":
        pf = env.write(env.path("pf"), passphrase + "\n", 0o600)
        return "extpass=/bin/cat " + pf, ()
    r, w = os.pipe()
    os.write(w, (passphrase + "\n").encode())
    os.close(w)
    return "passfd=%d" % r, (r,)


@pytest.mark.parametrize("how,foreground", [
    ("passfile", True), ("passfd", True), ("extpass", True),
    ("passfile", False), ("extpass", False)])
def test_proc_holds_no_passphrase(env, how, foreground):
    """/proc/PID/cmdline and environ of the running daemon hold no
    passphrase, whichever source it came from; VmLck > 0; core size 0."""
    passphrase = "Quartz-Meadow-%s-Lantern" % os.urandom(4).hex()
    src = _source(env, Key(), passphrase)
    mnt = env.mountpoint()
    opts, fds = _passphrase_source(env, how, passphrase)
    d = start(env, src, mnt, opts + ",audience=" + AUD,
              foreground=foreground, pass_fds=fds, under=env.tmp)
    for fd in fds:
        os.close(fd)
    pid = d.daemon_pid
    cmdline = read("/proc/%d/cmdline" % pid)
    environ = read("/proc/%d/environ" % pid)
    # We are looking at the daemon: its options and its environment.
    assert opts.split("=")[0].encode() in cmdline, cmdline
    assert ENV_MARKER.encode() in environ.split(b"\0"), environ
    assert passphrase.encode() not in cmdline
    assert passphrase.encode() not in environ
    assert vmlck_kb(pid) > 0
    assert core_limit(pid) == ("0", "0")
    found = scan_memory(pid, {"passphrase": passphrase.encode()})
    assert not found["passphrase"], describe(found["passphrase"])
    assert verify(read(os.path.join(mnt, "token")).decode(),
                  read(os.path.join(mnt, "public_key.pem")).decode())
    _end(d, mnt, foreground)


# ------------------------------------------------- unprivileged daemons

def _user_world(world, user, key=None):
    """Source, passfile (0600, the user's) and mountpoint for user."""
    key = key or Key()
    src = encrypt_to(sa_text(key.pem), world.path("sa.enc"))
    os.chown(src, user.uid, user.gid)
    pf = world.write("pass", PASSPHRASE + "\n", 0o600, owner=user)
    mnt = world.mkdir("mnt", owner=user)
    return key, src, pf, mnt


def _memlock_allowed():
    """RLIMIT_MEMLOCK to give a plain user: our hard limit (root here has
    no CAP_SYS_RESOURCE to raise it), 16 MiB when that is unlimited."""
    hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]
    return str(16 << 20 if hard == resource.RLIM_INFINITY else hard)


def _as_user(user, memlock):
    return ["prlimit", "--memlock=%s:%s" % (memlock, memlock),
            *user.setpriv(groups=[])]


def test_unprivileged_daemon_locks_memory(env, world, principals,
                                          dev_fuse_open):
    """Run as a plain user with an ordinary RLIMIT_MEMLOCK (8 MiB on
    Debian): memory is locked, no warning, core size 0."""
    u = principals.outsider
    key, src, pf, mnt = _user_world(world, u)
    d = start(env, src, mnt, "passfile=%s,audience=%s" % (pf, AUD),
              wrapper=_as_user(u, _memlock_allowed()),
              binary=binary_for(u, world))
    assert proc_uid(d.pid) == u.uid
    assert vmlck_kb(d.pid) > 0
    assert core_limit(d.pid) == ("0", "0")
    assert probe(u.setpriv(), [("read", os.path.join(mnt, "client_email"))]) \
        == [{"ok": "svc-etl@p-123.iam.gserviceaccount.com"}]
    assert d.stop() == 0
    assert not unexpected_lines(d.text()), d.text()


def proc_uid(pid):
    return int(proc_status(pid)["Uid"].split()[0])


def test_mlock_refused_warns_once_and_mounts(env, world, principals,
                                             dev_fuse_open):
    """RLIMIT_MEMLOCK 0: one "cannot lock memory" warning, the mount
    still works (and a reload does not warn again)."""
    u = principals.outsider
    key, src, pf, mnt = _user_world(world, u)
    d = start(env, src, mnt, "passfile=%s,audience=%s" % (pf, AUD),
              wrapper=_as_user(u, "0"), binary=binary_for(u, world))
    assert proc_uid(d.pid) == u.uid
    assert vmlck_kb(d.pid) == 0
    res = probe(u.setpriv(), [("read", os.path.join(mnt, "client_email")),
                              ("read", os.path.join(mnt, "token"))])
    assert res[0] == {"ok": "svc-etl@p-123.iam.gserviceaccount.com"}
    verify(res[1]["ok"], key.public_pem)
    os.kill(d.pid, signal.SIGHUP)
    d.wait_lines(r"reloaded ")
    assert d.stop() == 0
    err = d.text()
    assert d.count(LOCK_WARNING) == 1, err
    assert not unexpected_lines(err, [LOCK_WARNING]), err


def test_require_mlock_refuses(env, world, principals, dev_fuse_open):
    """RLIMIT_MEMLOCK 0 with -o require_mlock: an error, a non-zero exit,
    nothing mounted, no daemon left."""
    u = principals.outsider
    key, src, pf, mnt = _user_world(world, u)
    for foreground in (True, False):
        d = start(env, src, mnt, "passfile=%s,audience=%s,require_mlock" %
                  (pf, AUD), wrapper=_as_user(u, "0"), wait=False,
                  binary=binary_for(u, world), foreground=foreground)
        rc = d.finish(30)
        assert rc != 0, d.text()
        assert not is_mounted(mnt)
        assert d.count(r"error: .*lock memory.*require_mlock") == 1, d.text()
        assert not safs_pids(world.dir)


def test_require_mlock_mounts_when_memory_locks(env):
    """The contrast: require_mlock with mlock allowed (root) mounts."""
    src = env.source()
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfile=%s,audience=%s,require_mlock" %
              (env.passfile, AUD))
    assert vmlck_kb(d.pid) > 0
    assert d.stop() == 0
    assert not unexpected_lines(d.text()), d.text()


# --------------------- point 2, fourth test: non-dumpable to its own uid

def test_unprivileged_daemon_is_not_dumpable(env, world, principals,
                                             dev_fuse_open):
    """safs as a plain user: its /proc/PID/environ and mem are owned by
    root (PR_SET_DUMPABLE 0), and another process of the same uid can
    neither read them nor ptrace the daemon - while it can do all of
    that to an ordinary process of its own."""
    u = principals.outsider
    key, src, pf, mnt = _user_world(world, u)
    d = start(env, src, mnt, "passfile=%s,audience=%s" % (pf, AUD),
              wrapper=_as_user(u, _memlock_allowed()),
              binary=binary_for(u, world))
    plain = subprocess.Popen([*u.setpriv(groups=[]), "sleep", "300"],
                             cwd="/", env=DAEMON_ENV)
    try:
        wait_for(lambda: proc_uid(plain.pid) == u.uid and
                 read("/proc/%d/comm" % plain.pid) == b"sleep\n", 10,
                 "the plain process to run as the user")
        assert proc_uid(d.pid) == u.uid
        for f in ("environ", "mem"):
            st = os.stat("/proc/%d/%s" % (d.pid, f))
            assert (st.st_uid, st.st_gid) == (0, 0), (f, st)
            st = os.stat("/proc/%d/%s" % (plain.pid, f))
            assert st.st_uid == u.uid, (f, st)
        ops = lambda pid: [("read", "/proc/%d/environ" % pid),
                           ("read", "/proc/%d/mem" % pid),
                           ("ptrace", str(pid))]
        res = probe(u.setpriv(groups=[]), ops(d.pid))
        assert res[0] == {"errno": "EACCES"}, res
        assert res[1] == {"errno": "EACCES"}, res
        assert res[2].get("errno") == "EPERM", res
        # The same probes against an ordinary process of that uid work:
        # the denial above is the daemon's doing, not the user's limits.
        # (Reading /proc/PID/mem from offset 0 gives EIO: unmapped.)
        res = probe(u.setpriv(groups=[]), ops(plain.pid))
        assert "ok" in res[0] and ENV_MARKER in res[0]["ok"], res
        assert res[1].get("errno") == "EIO", res
        assert res[2] == {"ok": None}, res
    finally:
        plain.kill()
        plain.wait()
    assert d.stop() == 0
    assert not unexpected_lines(d.text()), d.text()
