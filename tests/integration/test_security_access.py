# SPDX-License-Identifier: MIT
"""Issue 4, point 3: access control.

With allow_other the kernel enforces each entry's owner and mode
(default_permissions): uid=, gid= and mode= decide who reads; without
allow_other nobody but the mounting user gets in; hide= takes entries
out of the directory altogether. Readers run as users and a group made
for these tests (setpriv), with exact errno checked.
"""
import os
import stat

import pytest

from conftest import is_mounted, unexpected_lines
from helpers_security import (AUD, Key, encrypt_to, errnos, principals,
                              probe, read, read_entries, sa_text, start,
                              verify, world)

__all__ = ["principals", "world"]
EMAIL = "svc-etl@p-123.iam.gserviceaccount.com"


@pytest.fixture
def mounted(env, world):
    """mounted(opts) -> (Daemon, mnt, key): a root mount in a directory
    every user can traverse (pytest's tmp_path is not)."""
    state = {}

    def go(opts):
        key = Key()
        src = encrypt_to(sa_text(key.pem), world.path("sa.enc"))
        mnt = world.mkdir("mnt")
        d = start(env, src, mnt, "passfile=%s,audience=%s,%s" %
                  (env.passfile, AUD, opts))
        state["d"] = d
        return d, mnt, key
    yield go
    if "d" in state and state["d"].p.poll() is None:
        state["d"].stop()


def _paths(mnt):
    return {n: os.path.join(mnt, n) for n in
            ("token", "client_email", "private_key", "credentials.json")}


def test_group_mode_0440(env, principals, mounted):
    """gid=G,mode=0440: a member of G reads token; a user outside G gets
    EACCES on token, on the directory and on every other entry."""
    g = principals.gid
    d, mnt, key = mounted("allow_other,gid=%d,mode=0440" % g)
    p = _paths(mnt)
    st = os.stat(p["token"])
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, g, 0o440)
    st = os.stat(mnt)
    assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (g, 0o550)

    res = probe(principals.member.setpriv(),
                [("read", p["token"]), ("read", p["client_email"]),
                 ("listdir", mnt), ("write", p["token"])])
    claims = verify(res[0]["ok"], key.public_pem)
    assert claims["iss"] == EMAIL
    assert res[1] == {"ok": EMAIL}
    assert "token" in res[2]["ok"]
    assert res[3] == {"errno": "EROFS"}

    res = probe(principals.outsider.setpriv(),
                [("read", p["token"]), ("stat", p["token"]),
                 ("listdir", mnt), ("read", p["private_key"]),
                 ("read", p["credentials.json"])])
    assert errnos(res) == ["EACCES"] * 5
    # The same user handed the group (and nothing else) gets in: it is
    # the group that decides.
    res = probe(principals.outsider.setpriv(groups=[g]),
                [("read", p["token"])])
    verify(res[0]["ok"], key.public_pem)
    assert d.stop() == 0
    assert not unexpected_lines(d.text()), d.text()


def test_owner_mode_0400(env, principals, mounted):
    """uid=U,mode=0400: U reads; another user - even one in the entries'
    group - gets EACCES."""
    u = principals.member
    d, mnt, key = mounted("allow_other,uid=%d,gid=%d,mode=0400" %
                          (u.uid, principals.gid))
    st = os.stat(os.path.join(mnt, "token"))
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (u.uid, 0o400)
    res = probe(u.setpriv(), [("read", os.path.join(mnt, "token")),
                              ("read", os.path.join(mnt, "private_key"))])
    verify(res[0]["ok"], key.public_pem)
    assert res[1] == {"ok": key.pem}
    res = probe(principals.outsider.setpriv(groups=[principals.gid]),
                [("read", os.path.join(mnt, "token")), ("listdir", mnt)])
    assert errnos(res) == ["EACCES", "EACCES"]
    assert d.stop() == 0


def test_mode_0444_everybody_reads(env, principals, mounted):
    d, mnt, key = mounted("allow_other,mode=0444")
    for who in (principals.member.setpriv(), principals.outsider.setpriv(),
                ["setpriv", "--reuid=65534", "--regid=65534",
                 "--clear-groups"]):
        res = probe(who, [("read", os.path.join(mnt, "token")),
                          ("read", os.path.join(mnt, "client_email")),
                          ("write", os.path.join(mnt, "client_email"))])
        verify(res[0]["ok"], key.public_pem)
        assert res[1:] == [{"ok": EMAIL}, {"errno": "EROFS"}]
    assert d.stop() == 0


def test_without_allow_other_only_the_mounter(env, principals, mounted):
    """No allow_other: even mode=0444 keeps other users out. FUSE refuses
    them every operation, the root of the mount included: EACCES."""
    d, mnt, key = mounted("mode=0444")
    assert is_mounted(mnt)
    verify(read(os.path.join(mnt, "token")).decode(), key.public_pem)
    for who in (principals.member, principals.outsider):
        res = probe(who.setpriv(), [("stat", mnt), ("listdir", mnt),
                                    ("read", os.path.join(mnt, "token"))])
        assert errnos(res) == ["EACCES"] * 3
    assert d.stop() == 0


HIDDEN = ("private_key", "credentials.json")


def test_hide_removes_entries(env, principals, mounted):
    """hide=private_key:credentials.json: both gone - not listed, ENOENT
    on lookup, for root and for other users - while token, public_key.pem
    and jwks.json stay, and no remaining entry carries the key."""
    d, mnt, key = mounted("allow_other,mode=0444,hide=" + ":".join(HIDDEN))
    names = os.listdir(mnt)
    for h in HIDDEN:
        assert h not in names
        with pytest.raises(FileNotFoundError):
            os.stat(os.path.join(mnt, h))
        with pytest.raises(FileNotFoundError):
            open(os.path.join(mnt, h), "rb")
    assert {"token", "public_key.pem", "jwks.json", "client_email",
            "tokens"} <= set(names)
    ents = read_entries(mnt)
    verify(ents["token"].decode(), ents["public_key.pem"].decode())
    assert ents["public_key.pem"] == key.public_pem.encode()
    for line in key.body_lines(5):
        assert not any(line.encode() in v for v in ents.values()), line
    res = probe(principals.outsider.setpriv(),
                [("read", os.path.join(mnt, h)) for h in HIDDEN] +
                [("listdir", mnt), ("read", os.path.join(mnt, "token"))])
    assert errnos(res[:2]) == ["ENOENT", "ENOENT"]
    assert not set(HIDDEN) & set(res[2]["ok"])
    verify(res[3]["ok"], key.public_pem)
    assert d.stop() == 0
    assert not unexpected_lines(d.text()), d.text()


def test_hide_unknown_name_warns(env, mounted):
    """A hide= name that matches no entry is a warning naming it (and
    only it); the names that match are still hidden."""
    d, mnt, _ = mounted("hide=private_key:no_such_entry")
    assert "private_key" not in os.listdir(mnt)
    assert d.stop() == 0
    err = d.text()
    warn = [ln for ln in err.splitlines() if "warning:" in ln and
            "hide" in ln]
    assert len(warn) == 1 and "no_such_entry" in warn[0], err
    assert "private_key" not in warn[0], err
    assert not unexpected_lines(err, [r"hide=: no entry named "]), err
