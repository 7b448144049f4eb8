# SPDX-License-Identifier: MIT
"""Faults a careful reviewer found: each test here failed before its fix.

- a private key whose secret numbers are damaged parses, but must fail at
  load instead of signing tokens nobody can verify;
- the extpass program of a reload starts with clean signal state (the
  reload thread blocks every signal; safs ignores SIGPIPE);
- a passphrase typed at the prompt is not asked for again by a reload,
  from a background thread;
- token_ttl=1 rotates once a second, not in a storm;
- SIGHUPs in a burst never crash the daemon (a reload announced twice
  was taken as a NULL result);
- an age file asking for more scrypt work than the limit is refused
  before any work; a FIFO given as config= does not hang the mount.
"""
import os
import select
import signal
import subprocess
import time

from conftest import PASSPHRASE, is_mounted, unexpected_lines, wait_for
from helpers_age import age_encrypt
from helpers_core import Drain, script
from test_passphrase import read_until, start_on_tty

AUD = "acme.chata.io"


# ---------------------------------------------------------------- key

def _der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _der_int(v):
    b = v.to_bytes(v.bit_length() // 8 + 1, "big")
    return b"\x02" + _der_len(len(b)) + b


def _parse_ints(der):
    """The INTEGERs of a PKCS#1 RSAPrivateKey SEQUENCE."""
    assert der[0] == 0x30
    i = 2 + (der[1] & 0x7f if der[1] & 0x80 else 0)
    out = []
    while i < len(der):
        assert der[i] == 0x02
        ln, i = der[i + 1], i + 2
        if ln & 0x80:
            k = ln & 0x7f
            ln, i = int.from_bytes(der[i:i + k], "big"), i + k
        out.append(int.from_bytes(der[i:i + ln], "big"))
        i += ln
    return out


def damaged_pem(env):
    """The fixture key with d, dP and dQ damaged: it still parses."""
    der = subprocess.run(["openssl", "rsa", "-in", env.keys.key,
                          "-traditional", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    v = _parse_ints(der)          # version n e d p q dP dQ qInv
    for k in (3, 6, 7):
        v[k] ^= 1 << 40
    body = b"".join(_der_int(x) for x in v)
    der = b"\x30" + _der_len(len(body)) + body
    import base64
    b64 = base64.b64encode(der).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return ("-----BEGIN RSA PRIVATE " "KEY-----\n" + "\n".join(lines) +
            "\n-----END RSA PRIVATE " "KEY-----\n")


def test_damaged_key_fails_at_load(env):
    src = env.source(private_key=damaged_pem(env))
    for args in (["--check", "-o", "passfile=" + env.passfile, src],
                 ["--token", "-o", "passfile=%s,audience=%s" %
                  (env.passfile, AUD), src],
                 ["-o", "passfile=%s,audience=%s" % (env.passfile, AUD),
                  src, env.mountpoint()]):
        r = env.safs(*args)
        err = r.stderr.decode()
        assert r.returncode == 5, (args, err)
        assert "private_key is damaged" in err, err
        assert len(err.strip().splitlines()) == 1, err
        assert r.stdout == b""
    assert not is_mounted(env.path("mnt"))


# ------------------------------------------------------------ extpass

def test_reload_extpass_starts_with_clean_signals(env):
    src = env.source()
    status = env.path("status")
    # Prints the passphrase, records its signal state, then writes more
    # after safs has closed the pipe: SIGPIPE (default) must end it.
    prog = script(env, "getpass", (
        "echo '%s'\n"
        "grep -E '^(SigBlk|SigIgn):' /proc/self/status >> %s\n"
        "sleep 0.3\n"
        "echo more output\n") % (PASSPHRASE, status))
    p = env.mount(src, passfile=False, opts="extpass=" + prog)
    d = Drain(p.stderr)
    open(status, "w").close()
    os.kill(p.pid, signal.SIGHUP)
    d.wait(lambda ls: any("reloaded" in l for l in ls) or
           any("reload of" in l for l in ls), 30, "the reload")
    lines = d.snapshot()
    assert any("reloaded" in l for l in lines), lines
    state = dict(l.split(":\t") for l in open(status).read().splitlines())
    assert int(state["SigBlk"], 16) == 0, state
    assert not int(state["SigIgn"], 16) & (1 << (signal.SIGPIPE - 1)), state
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    assert p.returncode == 0
    assert not unexpected_lines(d.join())


# ----------------------------------------------------------- tty reload

def test_reload_after_tty_prompt_is_refused_not_prompted(env):
    src = env.source()
    p, master, slave = start_on_tty(env, src)
    try:
        read_until(master, b"assphrase")
        os.write(master, (PASSPHRASE + "\n").encode())
        wait_for(lambda: is_mounted(p.mnt) or p.poll() is not None, 30,
                 "the mount")
        assert p.poll() is None
        d = Drain(p.stderr)
        os.kill(p.pid, signal.SIGHUP)
        d.wait(lambda ls: any("reload of" in l for l in ls), 30,
               "the failed reload")
        assert any("typed at mount" in l for l in d.snapshot())
        # No second prompt on the terminal.
        time.sleep(0.3)
        more = b""
        while select.select([master], [], [], 0.1)[0]:
            more += os.read(master, 4096)
        assert b"assphrase" not in more, more
        # And SIGTERM still unmounts.
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        assert p.returncode == 0 and not is_mounted(p.mnt)
        d.join()
    finally:
        os.close(master)
        os.close(slave)


# ------------------------------------------------------------ ttl=1

def test_one_second_tokens_rotate_once_a_second(env):
    src = env.source()
    p = env.mount(src, opts="audience=%s,token_ttl=1,refresh=80" % AUD,
                  extra=("-d",))
    d = Drain(p.stderr)
    t0 = time.monotonic()
    time.sleep(3.0)
    rotations = [l for l in d.snapshot() if "rotated, iat=" in l]
    elapsed = time.monotonic() - t0
    # One per second at most (plus one for a second boundary).
    assert 1 <= len(rotations) <= elapsed + 2, len(rotations)
    iats = [int(l.rsplit("=", 1)[1]) for l in rotations]
    assert len(set(iats)) == len(iats), iats
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    d.join()


# --------------------------------------------------------- SIGHUP burst

def test_sighup_burst_never_crashes(env):
    src = env.source()
    p = env.mount(src, opts="audience=" + AUD)
    d = Drain(p.stderr)
    for _ in range(60):
        os.kill(p.pid, signal.SIGHUP)
        time.sleep(0.003)
    d.wait(lambda ls: sum("reloaded" in l for l in ls) >= 1, 60,
           "reloads")
    time.sleep(2)
    assert p.poll() is None, d.join()
    assert open(os.path.join(p.mnt, "client_email")).read().startswith(
        "svc-etl@")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    assert p.returncode == 0, d.join()


# ---------------------------------------------------------- age, FIFO

def test_age_work_factor_over_the_limit_is_refused_at_once(env):
    plain, _ = env.sa_json("sa.json")
    src = age_encrypt(plain, env.path("sa.age"), PASSPHRASE)
    data = open(src, "rb").read()
    head, rest = data.split(b" 18\n", 1)
    open(src, "wb").write(head + b" 21\n" + rest)
    t0 = time.monotonic()
    r = env.safs("-o", "passfile=" + env.passfile, src, env.mountpoint())
    err = r.stderr.decode()
    assert r.returncode == 4, err
    assert "work factor 21" in err, err
    # 2 GiB of scrypt was not even started.
    assert time.monotonic() - t0 < 10


def test_config_fifo_does_not_hang(env):
    src = env.source()
    fifo = env.path("config.json")
    os.mkfifo(fifo)
    r = env.safs("-o", "passfile=%s,config=%s" % (env.passfile, fifo),
                 src, env.mountpoint(), timeout=20)
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert "not a regular file" in err, err
