# SPDX-License-Identifier: MIT
"""Issue 4, point 2 (first and second test): never on disk, proved.

A full session - mount, reads of every entry, token rotations, a reload
onto a new key, unmount - runs under strace -f, and no file is opened for
writing or created, renamed, linked or truncated, except the FUSE device
and /dev/null. Then the places a secret could leak to are searched for
the private keys and the tokens of such sessions: keys that only ever
existed in this test's memory and inside the encrypted files, so any
copy found was written by safs.
"""
import json
import os
import signal

import pytest

from conftest import unexpected_lines, wait_for
from helpers_security import (AUD, STRACE_CALLS, Key, build_dir,
                              encrypt_to, fusermount_u, parse_strace,
                              read, read_entries, sa_text, search_files,
                              start, verify, wait_content, wait_gone,
                              write_violations)

EMAIL1 = "svc-etl@p-123.iam.gserviceaccount.com"
EMAIL2 = "svc-rotated@p-456.iam.gserviceaccount.com"


def _config(base):
    cfg = {"token_ttl": 2, "refresh": 50,
           "profiles": {"reporting": {"audience": AUD, "user_id": "svc-bi",
                                      "display_name": "BI"}}}
    p = os.path.join(base, "safs.json")
    with open(p, "w") as f:
        f.write(json.dumps(cfg))
    return p


def _tokens(path, key, n, seen, timeout=60):
    """Read `path` until n new distinct tokens were seen (each must verify
    with key): token_ttl=2,refresh=50 re-mints every second."""
    mine = []

    def more():
        t = read(path)
        if t not in seen:
            verify(t.decode(), key.public_pem)
            seen.add(t)
            mine.append(t)
        return len(mine) >= n
    wait_for(more, timeout, "%d token rotations of %s" % (n, path))
    return mine


def session(env, foreground, extra_opts="", wrapper=(), base=None):
    """Mount, read every entry, see rotations, replace the source with
    one for a new key and SIGHUP, read everything again, see rotations,
    unmount. Files go to `base` (default: the test's directory). Returns
    (Daemon, the tokens seen, the two keys, the source path)."""
    base = base or env.tmp
    k1, k2 = Key(), Key()
    text1 = sa_text(k1.pem)
    text2 = sa_text(k2.pem, client_email=EMAIL2,
                    private_key_id="fedcba9876543210fedcba9876543210fedcba98")
    src = encrypt_to(text1, os.path.join(base, "sa.enc"))
    mnt = os.path.join(base, "mnt")
    os.makedirs(mnt)
    opts = "passfile=%s,audience=%s,token_ttl=2,refresh=50,config=%s" % (
        env.passfile, AUD, _config(base))
    if extra_opts:
        opts += "," + extra_opts
    d = start(env, src, mnt, opts, foreground=foreground, wrapper=wrapper,
              wrapper_stays=bool(wrapper), under=env.tmp)
    ents = read_entries(mnt)
    assert ents["credentials.json"] == text1.encode()
    assert ents["private_key"] == k1.pem.encode()
    assert ents["public_key.pem"] == k1.public_pem.encode()
    assert set(ents) >= {"token", "tokens/reporting", "jwks.json",
                         "client_email", "client_id", "private_key_id",
                         "project_id", "type", "token_uri", "auth_uri"}
    seen = set()
    _tokens(os.path.join(mnt, "token"), k1, 3, seen)
    _tokens(os.path.join(mnt, "tokens", "reporting"), k1, 2, seen)

    # Rotation of the key itself: the atomic way, then SIGHUP.
    encrypt_to(text2, src)
    os.kill(d.daemon_pid, signal.SIGHUP)
    wait_content(os.path.join(mnt, "client_email"),
                 lambda b: b == EMAIL2.encode(), 60, "the reload")
    ents = read_entries(mnt)
    assert ents["credentials.json"] == text2.encode()
    assert ents["private_key"] == k2.pem.encode()
    _tokens(os.path.join(mnt, "token"), k2, 2, seen)
    _tokens(os.path.join(mnt, "tokens", "reporting"), k2, 1, seen)

    fusermount_u(mnt)
    wait_gone(d, 60)
    if foreground or wrapper:
        assert d.finish(60) == 0, d.text()
    return d, seen, (k1, k2), src


@pytest.mark.parametrize("foreground,extra", [
    (True, ""), (False, "audit,nocache,watch")],
    ids=["foreground", "daemonized-audit-nocache-watch"])
def test_session_under_strace_writes_nothing(env, foreground, extra):
    log = env.path("strace.log")
    wrapper = ["strace", "-f", "-qq", "-s", "4096", "-o", log,
               "-e", "trace=" + ",".join(STRACE_CALLS)]
    d, _, _, src = session(env, foreground, extra, wrapper)
    calls = parse_strace(log)

    bad = write_violations(calls)
    assert not bad, "writes or file creations:\n" + "\n".join(
        c.line for c in bad)

    # The trace saw what it had to see, so its silence means something.
    opens = [c for c in calls if c.name in ("open", "openat", "openat2")]
    assert any(c.path == "/dev/fuse" and "O_RDWR" in c.rest
               for c in opens), "no open of /dev/fuse in the trace"
    src_opens = [c for c in opens if c.path == src]
    # Mount, then the reload in the reloader thread: strace -f follows
    # threads (and the fork of a daemonizing safs) even though safs makes
    # itself non-dumpable - a tracer attached from the start stays.
    assert len({c.tid for c in src_opens}) >= 2, src_opens
    assert any(c.name in ("clone", "clone3") and "CLONE_THREAD" in c.args
               for c in calls), "no thread creation in the trace"
    if "audit" in extra:
        # Audit reads the reader's /proc/PID/comm: read-only, allowed.
        comm = [c for c in opens if c.path and c.path.startswith("/proc/")
                and c.path.endswith("/comm")]
        assert comm and all("O_RDONLY" in c.rest for c in comm), comm
    assert not unexpected_lines(d.text()), d.text()


def test_no_secret_on_disk_after_sessions(env):
    """After a foreground and a daemonized session (with audit, nocache
    and watch), no line of either session's private keys and no token
    they served is in a file under /tmp, /var/tmp, /dev/shm, $HOME, /run
    or the build tree. The keys were made in this process's memory and
    only ever written encrypted."""
    roots = ["/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"),
             "/run", build_dir()]
    needles, tokens = [], set()
    for fg, extra in ((True, ""), (False, "audit,nocache,watch")):
        sub = env.path("fg" if fg else "bg")
        os.makedirs(sub)
        d, seen, keys, _ = session(env, fg, extra, base=sub)
        for k in keys:
            needles += k.body_lines(3)
        tokens |= seen
        assert not unexpected_lines(d.text()), d.text()
    needles += [t.split(b".")[2][:64].decode() for t in tokens]
    needles += [t.split(b".")[1][-64:].decode() for t in tokens]

    # The search finds what is there: canaries in two of the roots.
    canary = "safs-canary-" + os.urandom(16).hex()
    shm = "/dev/shm/safs-canary-%d" % os.getpid()
    canaries = [env.write(env.path("canary"), "x\n%s\ny\n" % canary),
                env.write(shm, canary)]
    try:
        hits, nfiles = search_files(roots, needles + [canary])
    finally:
        os.unlink(shm)
    assert sorted(set(hits) & set(canaries)) == sorted(canaries), hits
    assert nfiles > 100, nfiles
    hits = sorted(set(hits) - set(canaries))
    assert not hits, "secrets found on disk in: %s" % hits
