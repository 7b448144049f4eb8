# SPDX-License-Identifier: MIT
"""Issue 4, point 5: rotation and faults.

SIGHUP, and with -o watch a change of the source file, re-read and
re-decrypt the source (the passphrase obtained again): the entries change
and token is re-minted with the new key at once. A failed reload keeps
the old credentials served and logs an error. Open descriptors keep the
token they opened. A SIGKILLed daemon with auto_unmount leaves no mount.
A source deleted or replaced after mount does not disturb the mount.

Every wait is a poll with a timeout; absence is checked over a window
longer than safs's reload debounce, never taken from a sleep alone.
"""
import errno
import os
import signal
import time

import jwt
import pytest

from conftest import PASSPHRASE, is_mounted, run, unexpected_lines, wait_for
from helpers_security import (AUD, Key, encrypt_to, read, read_entries,
                              sa_text, signed_by, start, verify, wait_content)

EMAIL1 = "svc-etl@p-123.iam.gserviceaccount.com"
EMAIL2 = "svc-rotated@p-456.iam.gserviceaccount.com"
KID2 = "fedcba9876543210fedcba9876543210fedcba98"
RELOAD_FAILED = r"error: reload of .* failed, still serving the previous " \
                r"credentials"


class Rig:
    """A mount of key1's account, and key2's account ready to swap in."""

    def __init__(self, env, opts="", passfile=None):
        """passfile: a path, None for env's, False for none (extpass=)."""
        self.env = env
        self.k1, self.k2 = Key(), Key()
        self.text1 = sa_text(self.k1.pem)
        self.text2 = sa_text(self.k2.pem, client_email=EMAIL2,
                             private_key_id=KID2)
        self.src = encrypt_to(self.text1, env.path("sa.enc"))
        self.mnt = env.mountpoint()
        self.passfile = env.passfile if passfile is None else passfile
        o = "audience=%s" % AUD
        if self.passfile:
            o = "passfile=%s,%s" % (self.passfile, o)
        self.d = start(env, self.src, self.mnt, o + ("," + opts if opts
                                                     else ""))
        self.assert_serves_1()

    def p(self, name):
        return os.path.join(self.mnt, name)

    def token(self):
        return read(self.p("token")).decode()

    def assert_serves_1(self):
        ents = read_entries(self.mnt)
        assert ents["client_email"] == EMAIL1.encode()
        assert ents["private_key"] == self.k1.pem.encode()
        assert ents["public_key.pem"] == self.k1.public_pem.encode()
        assert ents["credentials.json"] == self.text1.encode()
        claims = verify(ents["token"].decode(), self.k1.public_pem)
        assert claims["iss"] == EMAIL1
        return ents

    def wait_serves_2(self, timeout=30):
        wait_content(self.p("client_email"), lambda b: b == EMAIL2.encode(),
                     timeout, "client_email of the new source")
        ents = read_entries(self.mnt)
        assert ents["private_key"] == self.k2.pem.encode()
        assert ents["public_key.pem"] == self.k2.public_pem.encode()
        assert ents["private_key_id"] == KID2.encode()
        assert ents["credentials.json"] == self.text2.encode()
        assert KID2 in ents["jwks.json"].decode()
        # Re-minted at once with the new key - token_ttl is an hour, so
        # no refresh could explain a new token - and not by the old one.
        tok = ents["token"].decode()
        claims = verify(tok, self.k2.public_pem)
        assert claims["iss"] == claims["sub"] == EMAIL2
        assert jwt.get_unverified_header(tok)["kid"] == KID2
        assert not signed_by(tok, self.k1.public_pem)
        return ents

    def replace(self, text, how="rename", passphrase=PASSPHRASE):
        if how == "rename":
            # The atomic way: a new file next to it, renamed over it.
            encrypt_to(text, self.src, passphrase)
        else:
            tmp = self.env.path("staging.enc")
            encrypt_to(text, tmp, passphrase)
            data = read(tmp)
            os.unlink(tmp)
            with open(self.src, "r+b") as f:     # in place, same inode
                f.truncate(0)
                f.write(data)

    def hup(self):
        os.kill(self.d.pid, signal.SIGHUP)

    def stays_1(self, window=1.5):
        """Over a window longer than the reload debounce (200 ms), the
        old credentials stay served, read after read."""
        end = time.monotonic() + window
        while time.monotonic() < end:
            assert read(self.p("client_email")) == EMAIL1.encode()
            time.sleep(0.05)
        self.assert_serves_1()

    def end(self, allowed=()):
        assert self.d.stop() == 0, self.d.text()
        err = self.d.text()
        assert not unexpected_lines(err, allowed), err
        return err


def test_sighup_reloads_new_key(env):
    r = Rig(env)
    r.replace(r.text2)
    r.hup()
    r.wait_serves_2()
    r.d.wait_lines(r"SIGHUP: reloading ")
    r.d.wait_lines(r"reloaded ")
    r.end()


@pytest.mark.parametrize("how", ["passfile", "extpass"])
def test_reload_obtains_passphrase_again(env, how):
    """The new source has a new passphrase; its source now gives it: the
    reload works only because the passphrase is obtained again."""
    pf = env.write(env.path("pf"), PASSPHRASE + "\n", 0o600)
    if how == "passfile":
        r = Rig(env, passfile=pf)
    else:
        r = Rig(env, opts="extpass=/bin/cat " + pf, passfile=False)
    new = "a-new-passphrase-" + os.urandom(4).hex()
    r.replace(r.text2, passphrase=new)
    tmp = env.write(env.path("pf.new"), new + "\n", 0o600)
    os.rename(tmp, pf)
    r.hup()
    r.wait_serves_2()
    r.end()


@pytest.mark.parametrize("how", ["rename", "overwrite"])
def test_watch_reloads_without_sighup(env, how):
    r = Rig(env, "watch")
    r.replace(r.text2, how)
    r.wait_serves_2()
    assert r.d.count(r"SIGHUP") == 0
    r.end()


def _corrupt(r):
    data = bytearray(read(r.src))
    for i in range(32, len(data), 7):
        data[i] ^= 0x5a
    tmp = r.env.write(r.env.path("bad.enc"), bytes(data))
    os.rename(tmp, r.src)


def _truncated(r):
    data = read(r.src)
    tmp = r.env.write(r.env.path("bad.enc"), data[:len(data) // 2])
    os.rename(tmp, r.src)


def _garbage(r):
    tmp = r.env.write(r.env.path("bad.enc"), b"this is not a source\n")
    os.rename(tmp, r.src)


def _wrong_pass(r):
    tmp = r.env.write(r.env.path("pf.new"), "not the passphrase\n", 0o600)
    os.rename(tmp, r.passfile)         # the wrong passphrase ...
    r.replace(r.text2)                 # ... for a good new source


def _deleted(r):
    os.unlink(r.src)


FAULTS = {"corrupt": _corrupt, "truncated": _truncated, "garbage": _garbage,
          "wrong_passphrase": _wrong_pass, "deleted": _deleted}


@pytest.mark.parametrize("fault,trigger", [
    (f, t) for f in sorted(FAULTS) for t in ("sighup", "watch")
    # A deletion is no change for watch to reload.
    if not (f == "deleted" and t == "watch")])
def test_failed_reload_keeps_old_credentials(env, fault, trigger):
    """A reload that fails logs one error and changes nothing; the next
    good reload still works."""
    pf = env.write(env.path("pf"), PASSPHRASE + "\n", 0o600)
    r = Rig(env, "watch" if trigger == "watch" else "", passfile=pf)
    tok = r.token()
    FAULTS[fault](r)
    if trigger == "sighup":
        r.hup()
    r.d.wait_lines(RELOAD_FAILED)
    r.stays_1()
    # The old token is still served until its own refresh (an hour).
    assert r.token() == tok
    assert r.d.count(RELOAD_FAILED) == 1, r.d.text()
    # Repaired: the next reload goes through.
    pf_tmp = env.write(env.path("pf.fix"), PASSPHRASE + "\n", 0o600)
    os.rename(pf_tmp, pf)
    r.replace(r.text2)
    if trigger == "sighup":
        r.hup()
    r.wait_serves_2()
    r.end([RELOAD_FAILED])


def test_passfd_reload_fails_and_keeps_serving(env):
    """passfd= is read once: a SIGHUP cannot get the passphrase again, so
    the reload fails cleanly and the old credentials stay."""
    rfd, wfd = os.pipe()
    os.write(wfd, (PASSPHRASE + "\n").encode())
    os.close(wfd)
    k1 = Key()
    src = encrypt_to(sa_text(k1.pem), env.path("sa.enc"))
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfd=%d,audience=%s" % (rfd, AUD),
              pass_fds=(rfd,))
    os.close(rfd)
    os.kill(d.pid, signal.SIGHUP)
    d.wait_lines(RELOAD_FAILED + r".*passfd")
    assert read(os.path.join(mnt, "client_email")) == EMAIL1.encode()
    verify(read(os.path.join(mnt, "token")).decode(), k1.public_pem)
    assert d.stop() == 0
    assert not unexpected_lines(d.text(), [RELOAD_FAILED]), d.text()


@pytest.mark.parametrize("nocache", [False, True], ids=["cached", "nocache"])
def test_open_descriptor_keeps_old_token(env, nocache):
    """Descriptors opened before a reload keep the old token - one read
    before, one never read until after - while a new open gets the new
    key's token."""
    r = Rig(env, "nocache" if nocache else "")
    fd_read = os.open(r.p("token"), os.O_RDONLY)
    old = os.read(fd_read, 65536)
    fd_unread = os.open(r.p("token"), os.O_RDONLY)
    r.replace(r.text2)
    r.hup()
    r.wait_serves_2()
    try:
        assert os.pread(fd_read, 65536, 0) == old
        late = b""
        while True:
            b = os.read(fd_unread, 100)
            if not b:
                break
            late += b
        assert signed_by(late.decode(), r.k1.public_pem)
        assert verify(late.decode(), r.k1.public_pem)["iss"] == EMAIL1
    finally:
        os.close(fd_read)
        os.close(fd_unread)
    assert signed_by(r.token(), r.k2.public_pem)
    r.end()


def test_sigkill_with_auto_unmount_leaves_no_mount(env):
    src = env.source()
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfile=%s,audience=%s,auto_unmount" %
              (env.passfile, AUD))
    assert read(os.path.join(mnt, "client_email")) == EMAIL1.encode()
    d.p.kill()
    d.p.wait(timeout=20)
    wait_for(lambda: not is_mounted(mnt), 30, "auto_unmount of " + mnt)
    assert os.listdir(mnt) == []      # the bare directory again


def test_sigkill_without_auto_unmount_leaves_dead_mount(env):
    """The contrast: without auto_unmount the mount stays, dead."""
    src = env.source()
    mnt = env.mountpoint()
    d = start(env, src, mnt, "passfile=%s,audience=%s" % (env.passfile, AUD))
    d.p.kill()
    d.p.wait(timeout=20)
    try:
        assert is_mounted(mnt)
        with pytest.raises(OSError) as ei:
            os.stat(os.path.join(mnt, "token"))
        assert ei.value.errno == errno.ENOTCONN
    finally:
        run(["fusermount3", "-u", "-z", mnt])
    wait_for(lambda: not is_mounted(mnt), 20, "lazy unmount of " + mnt)


@pytest.mark.parametrize("watch", [False, True], ids=["plain", "watch"])
def test_source_deleted_after_mount(env, watch):
    """Deleting the source disturbs nothing: every entry still reads
    exactly, tokens still mint (token_ttl=2) with the key."""
    r = Rig(env, "token_ttl=2,refresh=50" + (",watch" if watch else ""))
    os.unlink(r.src)
    r.stays_1()
    first = r.token()
    wait_content(r.p("token"), lambda t: t.decode() != first, 30,
                 "a token rotation after the deletion")
    verify(r.token(), r.k1.public_pem)
    r.end()


@pytest.mark.parametrize("how", ["rename", "overwrite"])
def test_source_replaced_without_watch(env, how):
    """Without watch and without SIGHUP, replacing the source changes
    nothing: the mount keeps serving what it loaded."""
    r = Rig(env)
    r.replace(r.text2, how)
    r.stays_1()
    r.end()
