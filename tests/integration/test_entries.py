# SPDX-License-Identifier: MIT
"""Issue 2, point 5: the entries of a mount. Every top-level string member
with a safe name is a file holding exactly its value; credentials.json is
the decrypted JSON byte for byte; exact st_size; 0400/0500 owned by the
mounting user; uid=, gid=, mode=, hide=; statfs; mtime = source's."""
import errno
import json
import os
import re
import stat

import pytest

from conftest import run, service_account
from helpers_core import (EXIT_USAGE, SECRET, assert_clean_failure,
                          encrypt_bytes, json_text, read, stop_ok,
                          write_passfile)

# Entries safs generates besides the members (no audience: no token).
GENERATED = {"credentials.json", "public_key.pem", "jwks.json"}
RESERVED = GENERATED | {"token", "tokens"}
SAFE = re.compile(r"[A-Za-z0-9_.-]{1,255}")

NAME_255 = "n" * 255


def rich_members(pem):
    """[(name, value, ensure_ascii)]: the usual members and every kind
    of value and name a JSON object can hold."""
    base = [(k, v, True) for k, v in service_account(pem).items()]
    return base + [
        ("display_name", "Zo\u00eb \u00c5ngstr\u00f6m \u2013 \u65e5\u672c"
         "\u8a9e \U0001F600", False),                 # raw UTF-8
        ("escaped", "quote\" backslash\\ slash/ nl\n tab\t cr\r bs\b ff\f "
         "e-acute\u00e9 emoji\U0001F600 ctrl\u0001", True),  # \uXXXX
        ("empty", "", True),
        ("trailing_newline", "line\n", True),
        ("spaces", "  padded  ", True),
        (".dotfile", "dot", True),
        ("-dash_Under.score9", "mixed", True),
        ("...", "three dots", True),
        (NAME_255, "long name", True),
        # not strings: no entry
        ("number", 42, True),
        ("float", 1.5, True),
        ("true", True, True),
        ("false", False, True),
        ("null", None, True),
        ("object", {"inner": "value"}, True),
        ("array", ["value"], True),
        # unsafe names: no entry
        ("bad name", "x", True),
        ("a/b", "x", True),
        ("..", "x", True),
        (".", "x", True),
        ("", "x", True),
        ("\u00fcml", "x", False),
        ("a:b", "x", True),
        ("tab\tname", "x", True),
        ("star*", "x", True),
        ("n" * 256, "x", True),
        # a reserved name: credentials.json stays the whole file
        ("credentials.json", "not the whole file", True),
        ("jwks.json", "not the key set", True),
    ]


def with_raw(text, raw):
    """Append raw member text (escapes json.dumps never writes)."""
    assert text.endswith(b"\n}\n")
    return text[:-3] + b",\n  " + raw + b"\n}\n"


# Escapes spelled the way json.dumps does not: \/ , upper-case hex, an
# explicit surrogate pair.
RAW = (rb'"raw_escapes": "\/ \u00E9 \uD83D\uDE00 \u0041\u00e9"',
       "/ \u00e9 \U0001F600 A\u00e9")


def expected_entries(text):
    doc = json.loads(text)
    return {k: v.encode("utf-8") for k, v in doc.items()
            if isinstance(v, str) and SAFE.fullmatch(k) and
            k not in (".", "..") and k not in RESERVED}


def mount_text(env, text, opts="", **kw):
    src = encrypt_bytes(env, "sa.enc", text)
    pf = write_passfile(env, "secret.pass", SECRET + "\n")
    o = ",".join(x for x in ("passfile=" + pf, opts) if x)
    return src, env.mount(src, opts=o, passfile=False, **kw)


@pytest.fixture
def rich(env):
    text = with_raw(json_text(rich_members(env.keys.pem)), RAW[0])
    src, p = mount_text(env, text)
    yield text, src, p
    stop_ok(env, p)


def test_listing_is_members_plus_generated(rich):
    text, _, p = rich
    want = set(expected_entries(text)) | GENERATED
    assert "raw_escapes" in want and NAME_255 in want
    assert set(os.listdir(p.mnt)) == want


def test_each_member_exact_bytes(rich):
    text, _, p = rich
    exp = expected_entries(text)
    assert exp["raw_escapes"] == RAW[1].encode()
    assert exp["escaped"].endswith(b"ctrl\x01")
    for name, value in exp.items():
        assert read(os.path.join(p.mnt, name)) == value, name


def test_credentials_json_is_the_plaintext(rich):
    text, _, p = rich
    assert read(os.path.join(p.mnt, "credentials.json")) == text


def test_non_string_and_unsafe_members_do_not_resolve(rich):
    _, _, p = rich
    for name in ["number", "float", "true", "false", "null", "object",
                 "array", "bad name", "\u00fcml", "a:b", "tab\tname",
                 "star*", "n" * 256]:
        with pytest.raises(OSError) as ei:
            os.stat(os.path.join(p.mnt, name))
        assert ei.value.errno == errno.ENOENT, name


def test_st_size_exact(rich):
    _, _, p = rich
    for name in os.listdir(p.mnt):
        path = os.path.join(p.mnt, name)
        data = read(path)
        assert os.stat(path).st_size == len(data), name
        assert os.lstat(path).st_size == len(data), name
        with open(path, "rb") as f:
            assert os.fstat(f.fileno()).st_size == len(data), name


def test_reads_at_offsets(rich):
    # pread at every offset class: start, middle, end, past the end.
    text, _, p = rich
    fd = os.open(os.path.join(p.mnt, "credentials.json"), os.O_RDONLY)
    try:
        n = len(text)
        assert os.pread(fd, 10, 0) == text[:10]
        assert os.pread(fd, 100, n // 2) == text[n // 2:n // 2 + 100]
        assert os.pread(fd, 100, n - 5) == text[n - 5:]
        assert os.pread(fd, 100, n) == b""
        assert os.pread(fd, 100, n + 4096) == b""
        got = b"".join(os.pread(fd, 7, o) for o in range(0, n, 7))
        assert got == text
    finally:
        os.close(fd)


def test_public_key_pem(rich):
    _, _, p = rich
    got = read(os.path.join(p.mnt, "public_key.pem")).decode()
    want = run(["openssl", "pkey", "-pubin", "-in",
                os.path.join(p.mnt, "public_key.pem"), "-pubout"],
               check=True).stdout.decode()
    assert got == want


def test_nul_escape_refused_not_cut_short(env):
    # cJSON cannot hold "a\u0000b" (it would come out as "a"): safs must
    # refuse the file with a clear line rather than serve a wrong value.
    text = with_raw(json_text([(k, v, True) for k, v in
                               service_account(env.keys.pem).items()]),
                    rb'"with_nul": "a\u0000b"')
    src = env.encrypt(env.write(env.path("nul.json"), text, 0o600))
    r = env.safs("-o", "passfile=" + env.passfile, src, env.mountpoint())
    err = r.stderr.decode()
    assert r.returncode == 5, err
    assert "NUL" in err
    assert len(err.strip().splitlines()) == 1


def test_escaped_backslash_before_u0000_is_not_a_nul(env):
    # "\\u0000" is a backslash and the text u0000: six bytes, served.
    text = with_raw(json_text([(k, v, True) for k, v in
                               service_account(env.keys.pem).items()]),
                    rb'"not_nul": "a\\u0000b"')
    _, p = mount_text(env, text)
    try:
        assert read(os.path.join(p.mnt, "not_nul")) == b"a\\u0000b"
    finally:
        stop_ok(env, p)


# Ownership and modes.

def modes_of(mnt):
    out = {"/": os.stat(mnt)}
    for name in os.listdir(mnt):
        out[name] = os.stat(os.path.join(mnt, name))
    return out


@pytest.mark.parametrize("opts,uid,gid,fmode,dmode", [
    ("", None, None, 0o400, 0o500),
    ("mode=0440", None, None, 0o440, 0o550),
    ("mode=0444", None, None, 0o444, 0o555),
    ("mode=440", None, None, 0o440, 0o550),
    ("uid=12345,gid=23456", 12345, 23456, 0o400, 0o500),
    ("uid=12345,gid=23456,mode=0440", 12345, 23456, 0o440, 0o550),
    ("uid=0,gid=65534,mode=0444", 0, 65534, 0o444, 0o555),
], ids=["default", "0440", "0444", "440", "uid-gid", "uid-gid-0440",
        "gid-only-differs"])
def test_owner_and_mode(env, opts, uid, gid, fmode, dmode):
    uid = os.getuid() if uid is None else uid
    gid = os.getgid() if gid is None else gid
    src = env.source()
    p = env.mount(src, opts=opts + ",audience=acme.chata.io" if opts else
                  "audience=acme.chata.io")
    sts = modes_of(p.mnt)
    sts["tokens/default"] = os.stat(os.path.join(p.mnt, "tokens",
                                                 "default"))
    assert "tokens" in sts and "token" in sts
    for name, st in sts.items():
        assert (st.st_uid, st.st_gid) == (uid, gid), name
        if stat.S_ISDIR(st.st_mode):
            assert stat.S_IMODE(st.st_mode) == dmode, (name, oct(st.st_mode))
        else:
            assert stat.S_ISREG(st.st_mode), name
            assert stat.S_IMODE(st.st_mode) == fmode, (name,
                                                       oct(st.st_mode))
    assert stat.S_ISDIR(sts["/"].st_mode) and stat.S_ISDIR(
        sts["tokens"].st_mode)
    stop_ok(env, p)


@pytest.mark.parametrize("mode", ["0600", "0755", "0", "0400x", "9"])
def test_mode_with_more_than_read_bits_refused(env, mode):
    src = env.source()
    mnt = env.mountpoint()
    r = env.safs("-f", "-o", "passfile=%s,mode=%s" % (env.passfile, mode),
                 src, mnt)
    assert_clean_failure(env, r, EXIT_USAGE, ["mode="], mnt=mnt)


# hide=

@pytest.mark.parametrize("hide", ["private_key:credentials.json",
                                  "credentials.json:private_key"])
def test_hide(env, hide):
    src = env.source()
    p = env.mount(src, opts="hide=" + hide)
    names = os.listdir(p.mnt)
    assert "private_key" not in names and "credentials.json" not in names
    for name in ("private_key", "credentials.json"):
        path = os.path.join(p.mnt, name)
        for call in (os.stat, os.lstat, lambda q: open(q, "rb")):
            with pytest.raises(OSError) as ei:
                call(path)
            assert ei.value.errno == errno.ENOENT, (name, call)
        assert not os.path.exists(path)
    # The rest is still there.
    assert {"client_email", "private_key_id", "public_key.pem",
            "jwks.json"} <= set(names)
    assert read(os.path.join(p.mnt, "client_email")) == \
        b"svc-etl@p-123.iam.gserviceaccount.com"
    stop_ok(env, p)


# statfs

def test_statfs_and_df(env):
    p = env.mount(env.source())
    sv = os.statvfs(p.mnt)
    assert sv.f_bsize > 0 and sv.f_namemax >= 255
    assert sv.f_flag & os.ST_RDONLY
    r = run(["df", p.mnt])
    assert r.returncode == 0, r.stderr
    last = r.stdout.decode().splitlines()[-1]
    assert last.split()[-1] == os.path.realpath(p.mnt), r.stdout
    r = run(["df", "-i", p.mnt])
    assert r.returncode == 0, r.stderr
    stop_ok(env, p)


# mtime

def test_static_entries_mtime_is_source_mtime(env):
    src = env.source()
    ns = 1_234_567_890 * 10**9 + 123_456_789
    os.utime(src, ns=(ns, ns))
    p = env.mount(src)
    names = os.listdir(p.mnt)
    assert "credentials.json" in names and "client_email" in names
    for name in names:
        st = os.stat(os.path.join(p.mnt, name))
        assert st.st_mtime_ns == ns, (name, st.st_mtime_ns)
    stop_ok(env, p)
