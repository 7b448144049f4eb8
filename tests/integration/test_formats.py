# SPDX-License-Identifier: MIT
"""Issue 2, point 3: every `openssl enc` variant, made at test time with
the real CLI, mounts and serves the exact decrypted JSON; plain JSON only
with allow_plaintext."""
import os

import pytest

from helpers_core import (CLIENT_EMAIL, EXIT_DECRYPT, SECRET,
                          assert_clean_failure, daemon_ok, encrypt_bytes,
                          read, sa_text, stop_ok, write_passfile)

# (openssl enc arguments, safs options needed)
VARIANTS = [
    pytest.param(("-aes-256-cbc", "-pbkdf2"), "", id="pbkdf2-default"),
    pytest.param(("-aes-256-cbc", "-pbkdf2", "-iter", "100000"),
                 "iter=100000", id="pbkdf2-iter100000"),
    pytest.param(("-aes-256-cbc", "-pbkdf2", "-md", "sha512"),
                 "md=sha512", id="pbkdf2-sha512"),
    pytest.param(("-aes-256-cbc", "-md", "sha256"), "",
                 id="legacy-sha256-no-options"),
    pytest.param(("-aes-256-cbc", "-md", "md5"), "",
                 id="legacy-md5-no-options"),
    pytest.param(("-aes-256-cbc", "-pbkdf2", "-a"), "", id="base64"),
    pytest.param(("-aes-256-cbc", "-pbkdf2", "-a", "-A"), "",
                 id="base64-one-line"),
    pytest.param(("-aes-256-cbc", "-md", "md5", "-a"), "",
                 id="base64-legacy-md5"),
    pytest.param(("-aes-128-cbc", "-pbkdf2"), "cipher=aes-128-cbc",
                 id="aes-128-cbc"),
    pytest.param(("-aes-256-ctr", "-pbkdf2"), "cipher=aes-256-ctr",
                 id="aes-256-ctr"),
    pytest.param(("-aes-256-ctr", "-md", "sha256"), "cipher=aes-256-ctr",
                 id="aes-256-ctr-legacy"),
    pytest.param(("-aes-256-cbc", "-pbkdf2"), "kdf=pbkdf2",
                 id="kdf-pbkdf2-explicit"),
    pytest.param(("-aes-256-cbc", "-pbkdf2", "-iter", "100000"),
                 "kdf=pbkdf2,iter=100000", id="kdf-pbkdf2-iter"),
    pytest.param(("-aes-256-cbc", "-md", "sha256"), "kdf=evp",
                 id="kdf-evp-sha256"),
    pytest.param(("-aes-256-cbc", "-md", "md5"), "kdf=evp,md=md5",
                 id="kdf-evp-md5"),
    pytest.param(("-aes-256-cbc", "-pbkdf2", "-nosalt"), "format=openssl",
                 id="nosalt-pbkdf2"),
    pytest.param(("-aes-256-cbc", "-md", "sha256", "-nosalt"),
                 "format=openssl", id="nosalt-legacy"),
    pytest.param(("-aes-256-cbc", "-pbkdf2"), "format=openssl",
                 id="format-openssl-salted"),
]


def mount_secret(env, src, opts):
    pf = write_passfile(env, "secret.pass", SECRET + "\n")
    o = ",".join(x for x in ("passfile=" + pf, opts) if x)
    return env.mount(src, opts=o, passfile=False)


@pytest.mark.parametrize("args,opts", VARIANTS)
def test_variant_mounts(env, args, opts):
    text = sa_text(env)
    src = encrypt_bytes(env, "sa.enc", text, args)
    p = mount_secret(env, src, opts)
    assert read(os.path.join(p.mnt, "credentials.json")) == text
    assert read(os.path.join(p.mnt, "client_email")) == CLIENT_EMAIL.encode()
    assert read(os.path.join(p.mnt, "private_key")) == env.keys.pem.encode()
    stop_ok(env, p)


# The same files must not open under the wrong parameters: the options
# are really used, not ignored.
MISMATCHES = [
    pytest.param(("-aes-256-cbc", "-pbkdf2", "-iter", "100000"), "",
                 id="iter-missing"),
    pytest.param(("-aes-256-cbc", "-pbkdf2", "-md", "sha512"), "",
                 id="md-missing"),
    pytest.param(("-aes-128-cbc", "-pbkdf2"), "", id="cipher-missing"),
    pytest.param(("-aes-256-cbc", "-md", "sha256"), "kdf=pbkdf2",
                 id="legacy-file-kdf-pbkdf2"),
    pytest.param(("-aes-256-cbc", "-pbkdf2"), "kdf=evp",
                 id="pbkdf2-file-kdf-evp"),
    pytest.param(("-aes-256-cbc", "-md", "md5"), "kdf=evp,md=sha256",
                 id="md5-file-md-sha256"),
]


@pytest.mark.parametrize("args,opts", MISMATCHES)
def test_wrong_parameters_refused(env, args, opts):
    src = encrypt_bytes(env, "sa.enc", sa_text(env), args)
    pf = write_passfile(env, "secret.pass", SECRET + "\n")
    mnt = env.mountpoint()
    o = ",".join(x for x in ("passfile=" + pf, opts) if x)
    r = env.safs("-f", "-o", o, src, mnt)
    assert_clean_failure(env, r, EXIT_DECRYPT, ["passphrase"], mnt=mnt)


def test_nosalt_needs_format_openssl(env):
    src = encrypt_bytes(env, "sa.enc", sa_text(env),
                        ("-aes-256-cbc", "-pbkdf2", "-nosalt"))
    pf = write_passfile(env, "secret.pass", SECRET + "\n")
    mnt = env.mountpoint()
    r = env.safs("-f", "-o", "passfile=" + pf, src, mnt)
    assert_clean_failure(env, r, EXIT_DECRYPT, ["format=openssl"], mnt=mnt)


def test_plaintext_with_allow_plaintext(env):
    path, text = env.sa_json("plain.json")
    p = env.mount(path, opts="allow_plaintext")
    assert read(os.path.join(p.mnt, "credentials.json")) == text
    assert read(os.path.join(p.mnt, "client_email")) == CLIENT_EMAIL.encode()
    err = stop_ok(env, p, allowed=[r"is not encrypted \(allow_plaintext\)"])
    warnings = [l for l in err.splitlines() if "warning:" in l and
                "not encrypted" in l]
    assert len(warnings) == 1, err
    assert path in warnings[0], err
    assert "allow_plaintext" in warnings[0], err


def test_plaintext_with_allow_plaintext_daemon_warns(env):
    path, text = env.sa_json("plain.json")
    p = env.mount(path, opts="allow_plaintext", foreground=False)
    daemon_ok(env, p, [r"is not encrypted \(allow_plaintext\)"])
    assert read(os.path.join(p.mnt, "credentials.json")) == text
    # Printed before detaching, so it reaches the invoking terminal.
    assert "not encrypted" in p.stderr_text, p.stderr_text


@pytest.mark.parametrize("foreground", [True, False],
                         ids=["foreground", "daemon"])
def test_plaintext_refused_without_allow_plaintext(env, foreground):
    path, _ = env.sa_json("plain.json")
    mnt = env.mountpoint()
    r = env.safs(*(["-f"] if foreground else []), "-o",
                 "passfile=" + env.passfile, path, mnt)
    assert_clean_failure(env, r, EXIT_DECRYPT, ["allow_plaintext"], mnt=mnt)
