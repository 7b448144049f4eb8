# SPDX-License-Identifier: MIT
"""Issue 3 on a real mount: the claims and signature of `token` (PyJWT and
google-auth), credentials.json in google-auth, the verifier material
(public_key.pem, jwks.json), rotation and freshness, descriptors that keep
their token, and atomic reads under rotation, slow and concurrent.
"""
import json
import os
import threading
import time

import google.auth.jwt
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2 import service_account
from jwt.algorithms import RSAAlgorithm

import conftest
from conftest import unexpected_lines
from helpers_tokens import (AUD, CLIENT_EMAIL, KID, b64url_decode,
                            check_fresh, read_file, segments, start_reader,
                            verify, verify_rotating, verify_signature_only,
                            wait_rotation, write_config)

RA = ["/autoql/api/v1/query/**", "/autoql/api/v1/rls/**"]
FULL_OPTS = ("audience=acme.chata.io,user_id=svc-etl,project_id=p-9,"
             "display_name=BI,resource_access=" + ":".join(RA))


def stop_clean(env, p):
    err = env.stop(p)
    assert p.returncode == 0, err
    assert not unexpected_lines(err), err
    return err


def private_key(env):
    return serialization.load_pem_private_key(env.keys.pem.encode(), None)


# 1. Claims and signature ---------------------------------------------------

def test_claims_and_signature(env):
    plain, text = env.sa_json("sa.json")
    src = env.encrypt(plain, env.path("sa.enc"))
    os.unlink(plain)
    pub = env.keys.public_pem
    t0 = int(time.time())
    p = env.mount(src, opts=FULL_OPTS + ",token_ttl=900")
    path = os.path.join(p.mnt, "token")
    tok, now, st = read_file(path)

    # The compact form: no trailing newline, three unpadded segments.
    assert not tok.endswith("\n") and "\n" not in tok
    assert "=" not in tok
    header, claims = segments(tok)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": KID}
    assert jwt.get_unverified_header(tok) == header

    iat = claims["iat"]
    assert isinstance(iat, int) and isinstance(claims["exp"], int)
    assert t0 <= iat <= now + 1, (t0, iat, now)
    assert claims == {
        "iat": iat,
        "exp": iat + 900,
        "iss": CLIENT_EMAIL,
        "sub": CLIENT_EMAIL,
        "email": CLIENT_EMAIL,
        "aud": AUD,
        "project_id": "p-9",
        "user_id": "svc-etl",
        "resource_access": RA,
        "display_name": "BI",
    }

    # PyJWT, audience checked.
    assert verify(tok, pub) == claims
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(tok, pub, algorithms=["RS256"], audience="evil.chata.io")
    # The signature really is checked: another key, a changed payload.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(tok, other_pem, algorithms=["RS256"], audience=AUD)
    h, _, s = tok.split(".")
    forged = dict(claims, user_id="root")
    forged_b64 = jwt.utils.base64url_encode(
        json.dumps(forged).encode()).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(h + "." + forged_b64 + "." + s, pub,
                   algorithms=["RS256"], audience=AUD)

    # google-auth 1.5.1: decode(token, certs=None, verify=True,
    # audience=None); certs a PEM or a {kid: PEM} mapping.
    assert google.auth.jwt.decode(tok, certs=pub, audience=AUD) == claims
    assert google.auth.jwt.decode(tok, certs={KID: pub},
                                  audience=AUD) == claims
    with pytest.raises(ValueError):
        google.auth.jwt.decode(tok, certs=pub, audience="evil.chata.io")
    with pytest.raises(ValueError):
        google.auth.jwt.decode(tok, certs={"some-other-kid": pub},
                               audience=AUD)
    with pytest.raises(ValueError):
        google.auth.jwt.decode(tok, certs=other_pem, audience=AUD)

    # mtime is iat; the size is the content's.
    assert st.st_mtime_ns == iat * 10**9
    assert st.st_size == len(tok)
    pst = os.stat(path)
    assert pst.st_mtime_ns == iat * 10**9
    assert pst.st_size == len(tok)
    # No rotation due for a long time: the same token again.
    assert read_file(path)[0] == tok

    # credentials.json: byte for byte, and loadable by google-auth.
    cpath = os.path.join(p.mnt, "credentials.json")
    with open(cpath, "rb") as f:
        assert f.read() == text
    creds = service_account.Credentials.from_service_account_file(cpath)
    assert creds.service_account_email == CLIENT_EMAIL
    assert creds.project_id == "p-123"
    stop_clean(env, p)


def test_claims_defaults(env):
    # Only an audience: ttl 3600, project_id from the service account, no
    # display_name, resource_access an (empty) array.
    src = env.source(project_id="p-from-sa",
                     client_email="robot@p-from-sa.iam.gserviceaccount.com",
                     private_key_id="feedface" * 5)
    pub = env.keys.public_pem
    p = env.mount(src, opts="audience=" + AUD)
    tok, now, st = read_file(os.path.join(p.mnt, "token"))
    header, claims = segments(tok)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "feedface" * 5}
    assert verify(tok, pub) == claims
    assert google.auth.jwt.decode(tok, certs=pub, audience=AUD) == claims
    assert claims["exp"] == claims["iat"] + 3600
    assert claims["project_id"] == "p-from-sa"
    assert "display_name" not in claims
    assert claims["resource_access"] == []
    email = "robot@p-from-sa.iam.gserviceaccount.com"
    assert claims["iss"] == claims["sub"] == claims["email"] == email
    assert claims["aud"] == AUD
    assert st.st_mtime_ns == claims["iat"] * 10**9
    assert st.st_size == len(tok)
    stop_clean(env, p)


# 2. Verifier material ------------------------------------------------------

def check_verifier_material(env, mnt, tok):
    priv = private_key(env)
    numbers = priv.public_key().public_numbers()
    spki = priv.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    pem, _, _ = read_file(os.path.join(mnt, "public_key.pem"))
    assert pem == env.keys.public_pem
    assert pem == spki
    verify(tok, pem)

    text, _, _ = read_file(os.path.join(mnt, "jwks.json"))
    jwks = json.loads(text)
    assert list(jwks) == ["keys"] and len(jwks["keys"]) == 1
    k = jwks["keys"][0]
    assert k["kty"] == "RSA"
    assert k["kid"] == KID
    assert k["alg"] == "RS256"
    assert k["use"] == "sig"
    # A public key set: no private members at all.
    for private in ("d", "p", "q", "dp", "dq", "qi", "oth", "k"):
        assert private not in k, "jwks.json holds %r" % private
    n_bytes, e_bytes = b64url_decode(k["n"]), b64url_decode(k["e"])
    n = int.from_bytes(n_bytes, "big")
    e = int.from_bytes(e_bytes, "big")
    assert (n, e) == (numbers.n, numbers.e)
    # RFC 7518 6.3.1: base64urlUInt, minimal octets.
    assert len(n_bytes) == (n.bit_length() + 7) // 8
    assert len(e_bytes) == (e.bit_length() + 7) // 8

    rebuilt = rsa.RSAPublicNumbers(e, n).public_key()
    claims = jwt.decode(tok, rebuilt, algorithms=["RS256"], audience=AUD)
    assert jwt.decode(tok, RSAAlgorithm.from_jwk(json.dumps(k)),
                      algorithms=["RS256"], audience=AUD) == claims
    ks = jwt.PyJWKSet.from_json(text)
    kid = jwt.get_unverified_header(tok)["kid"]
    assert jwt.decode(tok, ks[kid].key, algorithms=["RS256"],
                      audience=AUD) == claims


def test_verifier_material(env):
    src = env.source()
    p = env.mount(src, opts="audience=" + AUD)
    tok, _, _ = read_file(os.path.join(p.mnt, "token"))
    check_verifier_material(env, p.mnt, tok)
    stop_clean(env, p)


def test_verifier_material_with_private_key_hidden(env):
    src = env.source()
    p = env.mount(src, opts="audience=" + AUD + ",hide=private_key")
    names = os.listdir(p.mnt)
    assert "private_key" not in names
    for n in ("public_key.pem", "jwks.json", "token", "credentials.json"):
        assert n in names, names
    with pytest.raises(FileNotFoundError):
        open(os.path.join(p.mnt, "private_key"))
    tok, _, _ = read_file(os.path.join(p.mnt, "token"))
    check_verifier_material(env, p.mnt, tok)
    stop_clean(env, p)


# 3. Rotation and freshness -------------------------------------------------

def test_rotation_keeps_tokens_fresh(env):
    ttl, refresh = 4, 50
    pub = env.keys.public_pem
    src = env.source()
    p = env.mount(src, opts="audience=%s,user_id=svc-etl,token_ttl=%d,"
                  "refresh=%d" % (AUD, ttl, refresh))
    path = os.path.join(p.mnt, "token")
    seen, iats, reads = [], [], 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tok, now, st = read_file(path)
        reads += 1
        claims = verify_rotating(tok, pub)   # at once, after the read
        assert claims["exp"] == claims["iat"] + ttl
        assert claims["user_id"] == "svc-etl"
        check_fresh(claims, now, ttl, refresh)
        assert now <= claims["iat"] + ttl * refresh / 100 + 1
        assert st.st_mtime_ns == claims["iat"] * 10**9
        assert st.st_size == len(tok)
        if not seen or seen[-1] != tok:
            assert tok not in seen, "an older token came back"
            if iats:
                assert claims["iat"] > iats[-1]
            seen.append(tok)
            iats.append(claims["iat"])
        time.sleep(0.05)
    # ~5 rotations in 10 s; "several" leaves room for a slow machine.
    assert len(seen) >= 3, "only %d distinct tokens in %d reads (iats %s)" \
        % (len(seen), reads, iats)
    stop_clean(env, p)


@pytest.mark.parametrize("extra", ["", ",nocache"])
def test_open_descriptor_keeps_its_token(env, extra):
    pub = env.keys.public_pem
    src = env.source()
    p = env.mount(src, opts="audience=%s,token_ttl=4,refresh=50%s"
                  % (AUD, extra))
    path = os.path.join(p.mnt, "token")
    fd = os.open(path, os.O_RDONLY)
    try:
        first = os.read(fd, 65536).decode()
        st = os.fstat(fd)
        a = verify_rotating(first, pub)
        assert st.st_mtime_ns == a["iat"] * 10**9
        # Two rotations of the name while fd stays open.
        b_tok = wait_rotation(path, first)
        c_tok = wait_rotation(path, b_tok)
        os.lseek(fd, 0, os.SEEK_SET)
        again = os.read(fd, 65536).decode()
        assert again == first
        assert os.pread(fd, 10, 7).decode() == first[7:17]
        assert os.pread(fd, 100, len(first) - 3).decode() == first[-3:]
        st2 = os.fstat(fd)
        assert (st2.st_ino, st2.st_size, st2.st_mtime_ns) == \
            (st.st_ino, st.st_size, st.st_mtime_ns)
    finally:
        os.close(fd)
    fresh, _, _ = read_file(path)
    assert fresh != first
    f = verify_rotating(fresh, pub)
    assert f["iat"] > a["iat"]
    assert verify_signature_only(c_tok, pub)["iat"] > a["iat"]
    stop_clean(env, p)


# 4. Atomicity --------------------------------------------------------------

def slow_read(path, seconds):
    """Open, then read one byte at a time so the read lasts `seconds`."""
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        delay = seconds / max(st.st_size, 1)
        out = bytearray()
        while True:
            b = os.read(fd, 1)
            if not b:
                break
            assert len(b) == 1
            out += b
            time.sleep(delay)
        st2 = os.fstat(fd)
    finally:
        os.close(fd)
    return out.decode("latin-1"), st, st2


@pytest.mark.parametrize("extra", ["", ",nocache"])
def test_one_byte_reads_across_rotations(env, extra):
    ttl, refresh = 2, 50
    pub = env.keys.public_pem
    src = env.source()
    p = env.mount(src, opts="audience=%s,token_ttl=%d,refresh=%d,"
                  "display_name=BI%s" % (AUD, ttl, refresh, extra))
    path = os.path.join(p.mnt, "token")
    results, errors = [], []

    def reader(i):
        try:
            time.sleep(0.3 * i)
            tok, st, st2 = slow_read(path, 2.6)   # > two rotations
            after, _, _ = read_file(path)
            results.append((tok, st, st2, after))
        except BaseException as e:   # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a slow reader hung"
    assert not errors, errors
    assert len(results) == 4
    for tok, st, st2, after in results:
        # One whole token, signed: no bytes of another generation.
        claims = verify_signature_only(tok, pub)
        assert claims["exp"] == claims["iat"] + ttl
        assert claims["display_name"] == "BI"
        assert len(tok) == st.st_size
        assert st.st_mtime_ns == claims["iat"] * 10**9
        assert (st2.st_ino, st2.st_size, st2.st_mtime_ns) == \
            (st.st_ino, st.st_size, st.st_mtime_ns)
        # The name rotated while this reader held its token.
        assert after != tok
        assert verify_rotating(after, pub)["iat"] > claims["iat"]
    stop_clean(env, p)


def test_concurrent_readers_during_rotations(env):
    ttl, refresh = 2, 50
    pub = env.keys.public_pem
    pubfile = env.write(env.path("pub.pem"), pub)
    cfg = write_config(env, {
        "audience": AUD, "token_ttl": ttl, "refresh": refresh,
        "profiles": {
            "default": {"user_id": "svc-etl"},
            "reporting": {"user_id": "svc-bi", "display_name": "BI"},
        },
    })
    src = env.source()
    p = env.mount(src, opts="config=" + cfg)
    paths = {"svc-etl": os.path.join(p.mnt, "token"),
             "svc-bi": os.path.join(p.mnt, "tokens", "reporting")}
    sizes = [65536, 1, 7, 64, 512, 4096, 100, 3]
    readers = []
    for i in range(16):
        who = "svc-bi" if i % 4 == 3 else "svc-etl"
        readers.append((who, start_reader(paths[who], sizes[i % len(sizes)],
                                          8.0, pubfile, ttl, refresh)))
    seen = {"svc-etl": set(), "svc-bi": set()}
    total = 0
    for who, r in readers:
        out, err = r.communicate(timeout=120)
        assert r.returncode == 0, err.decode()
        rep = json.loads(out)
        assert rep["reads"] > 0
        assert rep["bad"] == [], rep["bad"][:3]
        assert rep["stale"] == [], rep["stale"]
        total += rep["reads"]
        seen[who].update(rep["tokens"])
    for who, toks in seen.items():
        # Rotations happened under the readers' feet.
        assert len(toks) > 1, "%s: %d distinct tokens in %d reads" % (
            who, len(toks), total)
        for tok in toks:
            claims = verify_signature_only(tok, pub)
            assert claims["user_id"] == who
            assert claims["exp"] == claims["iat"] + ttl
    assert not seen["svc-etl"] & seen["svc-bi"]
    print("16 readers: %d reads, %d + %d distinct tokens" % (
        total, len(seen["svc-etl"]), len(seen["svc-bi"])))
    stop_clean(env, p)


# RSA keys of 2048-4096 bits sign; others are refused at load time.

def make_key(env, bits):
    path = env.path("key%d.pem" % bits)
    conftest.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                  "rsa_keygen_bits:%d" % bits, "-out", path], check=True)
    pub = conftest.run(["openssl", "pkey", "-in", path, "-pubout"],
                       check=True).stdout.decode()
    return open(path).read(), pub


@pytest.mark.parametrize("bits", [3072, 4096])
def test_larger_rsa_keys_sign(env, bits):
    pem, pub = make_key(env, bits)
    src = env.source(private_key=pem)
    p = env.mount(src, opts="audience=" + AUD)
    tok, _, _ = read_file(os.path.join(p.mnt, "token"))
    claims = verify(tok, pub)
    assert google.auth.jwt.decode(tok, certs=pub, audience=AUD) == claims
    sig = b64url_decode(tok.split(".")[2])
    assert len(sig) == bits // 8
    assert read_file(os.path.join(p.mnt, "public_key.pem"))[0] == pub
    jwks = json.loads(read_file(os.path.join(p.mnt, "jwks.json"))[0])
    n = int.from_bytes(b64url_decode(jwks["keys"][0]["n"]), "big")
    assert n.bit_length() == bits
    stop_clean(env, p)


def test_small_rsa_key_refused(env):
    pem, _ = make_key(env, 1024)
    src = env.source(private_key=pem)
    mnt = env.mountpoint()
    r = env.safs("-o", "passfile=%s,audience=%s" % (env.passfile, AUD), src,
                 mnt, timeout=60)
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 5, (r.returncode, lines)   # unusable account
    assert len(lines) == 1 and "1024" in lines[0], lines
    assert not conftest.is_mounted(mnt)
