# SPDX-License-Identifier: MIT
"""A wall-clock step is noticed and answered with a new token (issue 3,
point 3): stepped back before the token's iat (verifiers would call it
not yet valid) or forward past its refresh point, the daemon re-mints at
once, woken by its timer's TFD_TIMER_CANCEL_ON_SET, not at the old
schedule.

These tests step the real clock, so they take the clock lock the other
clock tests use and always put the time back, computed from
CLOCK_MONOTONIC, which a step does not move."""
import contextlib
import fcntl
import os
import time

from helpers_tokens import AUD, read_file, verify_signature_only, segments


@contextlib.contextmanager
def stepped_clock(offset):
    """Run with CLOCK_REALTIME moved by offset seconds; restore it."""
    with open("/tmp/safs-tests-adjtimex.lock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        real0, mono0 = time.time(), time.monotonic()
        time.clock_settime(time.CLOCK_REALTIME, real0 + offset)
        try:
            yield
        finally:
            time.clock_settime(time.CLOCK_REALTIME,
                               real0 + (time.monotonic() - mono0))


def iat_of(path):
    tok, _, _ = read_file(path)
    return tok, segments(tok)[1]["iat"]


def wait_iat(path, pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tok, iat = iat_of(path)
        if pred(iat):
            return tok, iat
        time.sleep(0.02)
    raise AssertionError("token at %s was not re-minted within %.0f s "
                         "(iat still %d)" % (path, timeout, iat))


def test_clock_stepped_back_remints(env, keys):
    src = env.source()
    # An hour's token: without the clock step it would not rotate.
    p = env.mount(src, opts="audience=%s,token_ttl=3600,refresh=80" % AUD)
    token = os.path.join(p.mnt, "token")
    _, iat0 = iat_of(token)
    with stepped_clock(-600):
        tok, iat = wait_iat(token, lambda i: i != iat0)
        now = time.time()
        # Minted on the stepped clock: not in the future, ten minutes
        # before the first.
        assert iat <= now + 1 and iat >= now - 5, (iat, now)
        assert iat < iat0 - 500
        verify_signature_only(tok, keys.public_pem)
    env.stop(p)


def test_clock_stepped_past_refresh_point_remints(env, keys):
    src = env.source()
    p = env.mount(src, opts="audience=%s,token_ttl=3600,refresh=80" % AUD)
    token = os.path.join(p.mnt, "token")
    _, iat0 = iat_of(token)
    # Past 80% of the hour: the token would have less than 20% left.
    with stepped_clock(3000):
        tok, iat = wait_iat(token, lambda i: i != iat0)
        now = time.time()
        assert iat >= iat0 + 2990 and iat <= now + 1, (iat0, iat, now)
        assert segments(tok)[1]["exp"] - now >= 3600 * 0.2
        verify_signature_only(tok, keys.public_pem)
    env.stop(p)
