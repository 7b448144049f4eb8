# SPDX-License-Identifier: MIT
"""age passphrase files (`age -p`, binary and armoured): they mount, and
because age authenticates every byte, a wrong passphrase and a damaged
file get different, certain answers."""
import os
import subprocess

from conftest import PASSPHRASE, unexpected_lines
from helpers_age import age_encrypt


def make(env, armor=False):
    plain, text = env.sa_json("sa.json")
    out = age_encrypt(plain, env.path("sa.age"), PASSPHRASE, armor)
    os.unlink(plain)
    return out, text


def test_binary_age_file_mounts(env):
    src, text = make(env)
    p = env.mount(src)
    assert open(os.path.join(p.mnt, "credentials.json"), "rb").read() == \
        text
    assert open(os.path.join(p.mnt, "client_email")).read() == \
        "svc-etl@p-123.iam.gserviceaccount.com"
    assert not unexpected_lines(env.stop(p))


def test_armoured_age_file_mounts(env):
    src, text = make(env, armor=True)
    assert open(src, "rb").read().startswith(
        b"-----BEGIN AGE ENCRYPTED FILE-----")
    p = env.mount(src)
    assert open(os.path.join(p.mnt, "credentials.json"), "rb").read() == \
        text
    env.stop(p)


def test_check_reports_age(env):
    src, _ = make(env)
    r = env.safs("--check", "-o", "passfile=" + env.passfile, src)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "format: age" in out
    assert "cipher: chacha20-poly1305" in out
    assert "kdf: scrypt" in out


def test_info_needs_no_passphrase(env):
    src, _ = make(env)
    r = env.safs("--info", src, stdin=open(os.devnull), start_new_session=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "format: age" in out
    assert "scrypt" in out


def test_wrong_passphrase(env):
    src, _ = make(env)
    wrong = env.write(env.path("wrong"), "not it\n", 0o600)
    r = env.safs("-o", "passfile=" + wrong, src, env.mountpoint())
    err = r.stderr.decode()
    assert r.returncode == 4
    assert "wrong passphrase" in err
    assert len(err.strip().splitlines()) == 1
    assert "not it" not in err


def test_damaged_payload_is_not_a_wrong_passphrase(env):
    src, _ = make(env)
    data = bytearray(open(src, "rb").read())
    data[-40] ^= 0x01
    open(src, "wb").write(bytes(data))
    r = env.safs("-o", "passfile=" + env.passfile, src, env.mountpoint())
    err = r.stderr.decode()
    assert r.returncode == 4
    assert "damaged" in err
    assert "passphrase" not in err


def test_truncated_age_file(env):
    src, _ = make(env)
    data = open(src, "rb").read()
    open(src, "wb").write(data[:len(data) - 20])
    r = env.safs("-o", "passfile=" + env.passfile, src, env.mountpoint())
    assert r.returncode == 4
    assert "truncated" in r.stderr.decode()


def test_recipient_key_file_is_refused_clearly(env):
    plain, _ = env.sa_json("sa.json")
    key = env.path("id.txt")
    subprocess.run(["age-keygen", "-o", key], check=True,
                   capture_output=True)
    recipient = [l.split(": ")[1] for l in open(key).read().splitlines()
                 if l.startswith("# public key: ")][0]
    out = env.path("sa.age")
    subprocess.run(["age", "-r", recipient, "-o", out, plain], check=True)
    r = env.safs("-o", "passfile=" + env.passfile, out, env.mountpoint())
    assert r.returncode == 4
    assert "recipient key" in r.stderr.decode()
