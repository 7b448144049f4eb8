# SPDX-License-Identifier: MIT
"""Helpers for the token tests (issue 3): reading, decoding and verifying
the JWTs a mount serves, config files, the reader processes of the
concurrency tests and the kernel's clock status (adjtimex).
"""
import base64
import contextlib
import ctypes
import ctypes.util
import fcntl
import json
import os
import re
import subprocess
import sys
import time

import jwt

import conftest

AUD = "acme.chata.io"
KID = conftest.service_account("")["private_key_id"]
CLIENT_EMAIL = conftest.service_account("")["client_email"]
SA_PROJECT = conftest.service_account("")["project_id"]

B64URL = re.compile(r"^[A-Za-z0-9_-]+$")

# The config of the brief, plus extra claims on the reporting profile.
BRIEF_CONFIG = {
    "audience": AUD,
    "token_ttl": 3600,
    "refresh": 80,
    "profiles": {
        "default": {"user_id": "svc-etl", "project_id": "p-123",
                    "resource_access": ["/autoql/api/v1/query/**"]},
        "reporting": {"user_id": "svc-bi", "project_id": "p-123",
                      "display_name": "BI", "claims": {"acl_id": "42"}},
    },
}


def b64url_decode(s):
    assert B64URL.match(s), "not unpadded base64url: %r" % s
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def segments(tok):
    """(header, payload) as dicts, without verification; checks the
    compact form: three unpadded base64url segments, JSON objects."""
    parts = tok.split(".")
    assert len(parts) == 3, "not a compact JWS: %r" % tok
    for p in parts:
        assert p and B64URL.match(p), "bad segment %r in %r" % (p, tok)
    header = json.loads(b64url_decode(parts[0]))
    payload = json.loads(b64url_decode(parts[1]))
    assert isinstance(header, dict) and isinstance(payload, dict)
    return header, payload


def read_file(path):
    """Read path in one open: (text, time just before the open, fstat).

    Freshness is judged against the time the read began: a reader that
    is scheduled out after its read (two cores, other suites running)
    must not be mistaken for a stale token; one delayed before its open
    can only be served a newer one."""
    t = time.time()
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("ascii"), t, st


def verify(tok, public_pem, audience=AUD, leeway=0):
    """PyJWT's full verification: signature, exp, iat, aud."""
    return jwt.decode(tok, public_pem, algorithms=["RS256"],
                      audience=audience, leeway=leeway,
                      options={"require": ["iat", "exp", "aud", "iss",
                                           "sub"]})


def verify_rotating(tok, public_pem, audience=AUD):
    """PyJWT's verification of a short-lived token, at once after its
    read. exp gets a few seconds' leeway here only so that a verifier
    delayed by the scheduler does not fail a token that was fresh when
    read; check_fresh() holds exp to the much tighter freshness bound."""
    return verify(tok, public_pem, audience=audience, leeway=5)


def verify_signature_only(tok, public_pem):
    """Signature (and form) only: for tokens checked after they expire."""
    return jwt.decode(tok, public_pem, algorithms=["RS256"],
                      options={"verify_exp": False, "verify_iat": False,
                               "verify_aud": False})


def check_fresh(payload, now, ttl, refresh):
    """The freshness bound of the brief, with its one second of slack:
    never less than (100 - refresh)% of the lifetime left."""
    left = payload["exp"] - now
    bound = ttl * (100 - refresh) / 100.0 - 1
    assert left >= bound, (
        "token read at %.3f has %.3f s left (iat %d, exp %d); the bound "
        "is %.3f" % (now, left, payload["iat"], payload["exp"], bound))


def write_config(env, obj, name="config.json"):
    text = obj if isinstance(obj, str) else json.dumps(obj, indent=2)
    return env.write(env.path(name), text, 0o600)


def mounted_under(env):
    root = os.path.realpath(env.tmp)
    return [m for m in conftest.mounts() if m.startswith(root)]


def wait_rotation(path, old, timeout=15.0):
    """Poll path until it holds a token other than old; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tok, _, _ = read_file(path)
        if tok != old:
            return tok
        time.sleep(0.05)
    raise AssertionError("%s did not rotate within %.0f s" % (path, timeout))


# A reader process for the concurrency test: open/read/close loops until
# a deadline, reading with a given read size, verifying every token the
# first time it sees it (at once, while it is fresh) and checking the
# freshness bound at every read. Prints a JSON report on stdout.
READER = r"""
import json, os, sys, time
import jwt
path, bs, seconds, pub, aud, bound = (sys.argv[1], int(sys.argv[2]),
    float(sys.argv[3]), open(sys.argv[4]).read(), sys.argv[5],
    float(sys.argv[6]))
exps, bad, stale, reads = {}, [], [], 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    # Freshness is measured from before the open: the reader's own
    # scheduling delays on a loaded machine are not the daemon's.
    t = time.time()
    fd = os.open(path, os.O_RDONLY)
    chunks = []
    while True:
        b = os.read(fd, bs)
        if not b:
            break
        chunks.append(b)
    os.close(fd)
    reads += 1
    tok = b"".join(chunks).decode("latin-1")
    if tok not in exps:
        try:
            # exp is held to the freshness bound below, at every read;
            # PyJWT's own exp check would also count this process's
            # scheduling delays after the read.
            exps[tok] = jwt.decode(tok, pub, algorithms=["RS256"],
                                   audience=aud,
                                   options={"verify_exp": False})["exp"]
        except Exception as e:
            exps[tok] = None
            bad.append([tok, repr(e)])
    if exps[tok] is not None and exps[tok] - t < bound:
        stale.append([tok, t])
print(json.dumps({"reads": reads, "tokens": sorted(exps), "bad": bad,
                  "stale": stale[:5]}))
"""


def start_reader(path, bs, seconds, pubfile, ttl, refresh, aud=AUD):
    bound = ttl * (100 - refresh) / 100.0 - 1
    return subprocess.Popen(
        [sys.executable, "-c", READER, path, str(bs), str(seconds),
         pubfile, aud, str(bound)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# adjtimex(2): the kernel's idea of whether the clock is synchronised.
ADJ_MAXERROR = 0x0004
ADJ_STATUS = 0x0010
STA_UNSYNC = 0x0040


class Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class Timex(ctypes.Structure):
    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long),
        ("freq", ctypes.c_long), ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long), ("time", Timeval),
        ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
        ("_pad", ctypes.c_int * 11),
    ]


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def adjtimex(modes=0, status=0, maxerror=0):
    tx = Timex()
    tx.modes = modes
    tx.status = status
    tx.maxerror = maxerror
    if _libc.adjtimex(ctypes.byref(tx)) == -1:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return tx


@contextlib.contextmanager
def clock_status(unsync):
    """Run with STA_UNSYNC set (unsync=True) or clear, then put back the
    status and maximum error found. Serialised by a lock file so two of
    our tests never fight over the flag."""
    with open("/tmp/safs-tests-adjtimex.lock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        before = adjtimex()
        changed = bool(before.status & STA_UNSYNC) != bool(unsync)
        try:
            if changed:
                st = (before.status | STA_UNSYNC if unsync else
                      before.status & ~STA_UNSYNC)
                # Clearing needs a small maximum error too, or the
                # kernel sets STA_UNSYNC again within a second.
                adjtimex(ADJ_STATUS | ADJ_MAXERROR, st,
                         before.maxerror if unsync else 100000)
            now = adjtimex()
            assert bool(now.status & STA_UNSYNC) == bool(unsync), \
                "could not set STA_UNSYNC=%s" % unsync
            yield
        finally:
            if changed:
                adjtimex(ADJ_STATUS | ADJ_MAXERROR, before.status,
                         before.maxerror)
