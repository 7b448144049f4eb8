# SPDX-License-Identifier: MIT
"""Issue 3, point 3: when the kernel reports the clock unsynchronised
(adjtimex STA_UNSYNC) safs warns, once, however many tokens it mints; when
the clock is synchronised it says nothing. Needs root (adjtimex); the
status found is put back afterwards.
"""
import os
import time

from conftest import unexpected_lines
from helpers_tokens import (AUD, clock_status, read_file, verify,
                            verify_rotating)

WARNING = "not synchronised"


def test_unsynchronised_clock_warned_once(env):
    pub = env.keys.public_pem
    src = env.source()
    with clock_status(unsync=True):
        p = env.mount(src, opts="audience=%s,token_ttl=2,refresh=50" % AUD)
        # Several rotations, each of which looks at the clock again.
        seen = set()
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            tok, _, _ = read_file(os.path.join(p.mnt, "token"))
            verify_rotating(tok, pub)
            seen.add(tok)
            time.sleep(0.1)
        assert len(seen) >= 3, "too few rotations to show 'once'"

        r = env.safs("--token", "-o", "passfile=%s,audience=%s"
                     % (env.passfile, AUD), src)
        assert r.returncode == 0, r.stderr
        err = r.stderr.decode()
        assert len([ln for ln in err.splitlines() if WARNING in ln]) == 1, err
    err = env.stop(p)
    assert p.returncode == 0, err
    lines = [ln for ln in err.splitlines() if WARNING in ln]
    assert len(lines) == 1, err
    assert "warning:" in lines[0]
    assert not unexpected_lines(err), err


def test_synchronised_clock_not_warned(env):
    src = env.source()
    # Keep the window with STA_UNSYNC cleared short: mount, read, stop.
    with clock_status(unsync=False):
        p = env.mount(src, opts="audience=" + AUD)
        tok, _, _ = read_file(os.path.join(p.mnt, "token"))
        verify(tok, env.keys.public_pem)
        err = env.stop(p)
    assert p.returncode == 0, err
    assert WARNING not in err, err
    assert not unexpected_lines(err), err
