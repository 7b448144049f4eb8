# SPDX-License-Identifier: MIT
"""Issue 3 on a real mount: token profiles from config= (inheritance, mount
options overriding the default profile), which entries exist with and
without an audience, invalid configurations refused at mount time, and
`safs --token`.
"""
import copy
import os
import time

import google.auth.jwt
import pytest

from conftest import is_mounted, safs_pids, unexpected_lines
from helpers_tokens import (AUD, BRIEF_CONFIG, CLIENT_EMAIL, KID,
                            check_fresh, mounted_under, read_file, segments,
                            verify, verify_rotating, write_config)


def stop_clean(env, p):
    err = env.stop(p)
    assert p.returncode == 0, err
    assert not unexpected_lines(err), err
    return err


def brief_config(**top):
    cfg = copy.deepcopy(BRIEF_CONFIG)
    cfg.update(top)
    return cfg


def read_token(env, path, audience=AUD):
    tok, now, st = read_file(path)
    header, claims = segments(tok)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": KID}
    assert verify(tok, env.keys.public_pem, audience=audience) == claims
    assert google.auth.jwt.decode(tok, certs=env.keys.public_pem,
                                  audience=audience) == claims
    assert claims["iss"] == claims["sub"] == claims["email"] == CLIENT_EMAIL
    assert st.st_mtime_ns == claims["iat"] * 10**9
    assert st.st_size == len(tok)
    return tok, claims


# 5. Profiles ---------------------------------------------------------------

def test_profiles_from_config(env):
    # The brief's config; a lifetime other than the built-in default so
    # inheritance shows; the account's project differs from the profiles'.
    cfg = write_config(env, brief_config(token_ttl=1800))
    src = env.source(project_id="p-sa")
    p = env.mount(src, opts="config=" + cfg)
    assert sorted(os.listdir(os.path.join(p.mnt, "tokens"))) == \
        ["default", "reporting"]
    assert "token" in os.listdir(p.mnt)

    tok, d = read_token(env, os.path.join(p.mnt, "token"))
    assert d == {
        "iat": d["iat"], "exp": d["iat"] + 1800,
        "iss": CLIENT_EMAIL, "sub": CLIENT_EMAIL, "email": CLIENT_EMAIL,
        "aud": AUD, "project_id": "p-123", "user_id": "svc-etl",
        "resource_access": ["/autoql/api/v1/query/**"],
    }

    rtok, r = read_token(env, os.path.join(p.mnt, "tokens", "reporting"))
    assert r["user_id"] == "svc-bi"
    assert r["display_name"] == "BI"
    assert r["acl_id"] == "42"
    assert r["project_id"] == "p-123"
    assert r["aud"] == AUD                      # inherited
    assert r["exp"] == r["iat"] + 1800          # inherited
    # Profiles inherit the top level, not the default profile.
    assert r.get("resource_access", []) == []
    assert set(r) - {"acl_id"} <= set(d) | {"display_name"}
    assert rtok != tok

    dtok, _ = read_token(env, os.path.join(p.mnt, "tokens", "default"))
    assert dtok == tok
    stop_clean(env, p)


def test_mount_options_override_default_profile_only(env):
    cfg = write_config(env, brief_config(token_ttl=1800))
    src = env.source(project_id="p-sa")
    p = env.mount(src, opts="config=" + cfg + ",user_id=override,"
                  "display_name=Ops,audience=other.chata.io,token_ttl=900,"
                  "resource_access=/a/**:/b/**")
    tok, d = read_token(env, os.path.join(p.mnt, "token"),
                        audience="other.chata.io")
    assert d["user_id"] == "override"
    assert d["display_name"] == "Ops"
    assert d["aud"] == "other.chata.io"
    assert d["exp"] == d["iat"] + 900
    assert d["resource_access"] == ["/a/**", "/b/**"]
    assert d["project_id"] == "p-123"           # the profile's, kept

    _, r = read_token(env, os.path.join(p.mnt, "tokens", "reporting"))
    assert r["user_id"] == "svc-bi"
    assert r["display_name"] == "BI"
    assert r["acl_id"] == "42"
    assert r["aud"] == AUD
    assert r["exp"] == r["iat"] + 1800

    dtok, _ = read_token(env, os.path.join(p.mnt, "tokens", "default"),
                         audience="other.chata.io")
    assert dtok == tok
    stop_clean(env, p)


def test_top_level_lifetime_and_refresh_inherited(env):
    # No default profile: token comes from the top level alone, and the
    # reporting profile rotates on the top level's short schedule.
    ttl, refresh = 4, 50
    cfg = write_config(env, {
        "audience": AUD, "token_ttl": ttl, "refresh": refresh,
        "profiles": {"reporting": {"user_id": "svc-bi"}},
    })
    src = env.source()
    p = env.mount(src, opts="config=" + cfg)
    _, d = read_token(env, os.path.join(p.mnt, "token"))
    assert d["exp"] == d["iat"] + ttl
    assert "user_id" not in d or d["user_id"] != "svc-bi"
    path = os.path.join(p.mnt, "tokens", "reporting")
    seen = []
    deadline = time.monotonic() + 7
    while time.monotonic() < deadline:
        tok, now, _ = read_file(path)
        claims = verify_rotating(tok, env.keys.public_pem)
        assert claims["user_id"] == "svc-bi"
        assert claims["exp"] == claims["iat"] + ttl
        check_fresh(claims, now, ttl, refresh)
        if tok not in seen:
            seen.append(tok)
        time.sleep(0.05)
    assert len(seen) >= 2, "tokens/reporting never rotated"
    stop_clean(env, p)


@pytest.mark.parametrize("with_default", [False, True],
                         ids=["no-default", "default"])
def test_each_profile_rotates_on_its_own_schedule(env, with_default):
    # Every profile keeps its own claims and lifetime through rotations,
    # with and without a default profile in front of them.
    profiles = {
        "fast": {"user_id": "u-fast", "token_ttl": 2, "refresh": 50},
        "slow": {"user_id": "u-slow", "token_ttl": 6, "refresh": 50},
        "still": {"user_id": "u-still", "token_ttl": 3600},
    }
    if with_default:
        profiles = dict({"default": {"user_id": "u-def", "token_ttl": 4,
                                     "refresh": 50}}, **profiles)
    cfg = write_config(env, {"audience": AUD, "profiles": profiles})
    src = env.source()
    p = env.mount(src, opts="config=" + cfg)
    paths = {n: os.path.join(p.mnt, "tokens", n) for n in profiles}
    if with_default:
        paths["token"] = os.path.join(p.mnt, "token")
    seen = {n: set() for n in paths}
    deadline = time.monotonic() + 7
    while time.monotonic() < deadline:
        for n, path in paths.items():
            tok, now, _ = read_file(path)
            c = verify_rotating(tok, env.keys.public_pem)
            prof = profiles["default" if n == "token" else n]
            assert c["user_id"] == prof["user_id"], (n, c)
            assert c["exp"] == c["iat"] + prof["token_ttl"], (n, c)
            check_fresh(c, now, prof["token_ttl"], prof.get("refresh", 80))
            seen[n].add(tok)
        time.sleep(0.05)
    assert len(seen["fast"]) >= 4, len(seen["fast"])
    assert len(seen["slow"]) >= 2, len(seen["slow"])
    assert len(seen["still"]) == 1
    if with_default:
        assert len(seen["default"]) >= 2
        # The same generations, but for a rotation landing between the
        # two reads of the first or of the last round.
        assert len(seen["default"] ^ seen["token"]) <= 2
    stop_clean(env, p)


def test_no_default_profile_and_no_audience(env):
    cfg = write_config(env, {"token_ttl": 600, "profiles": {
        "reporting": {"audience": AUD, "user_id": "svc-bi"}}})
    src = env.source()
    p = env.mount(src, opts="config=" + cfg)
    assert "token" not in os.listdir(p.mnt)
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(p.mnt, "token"))
    with pytest.raises(FileNotFoundError):
        open(os.path.join(p.mnt, "token"))
    assert os.listdir(os.path.join(p.mnt, "tokens")) == ["reporting"]
    _, r = read_token(env, os.path.join(p.mnt, "tokens", "reporting"))
    assert r["user_id"] == "svc-bi"
    assert r["exp"] == r["iat"] + 600
    stop_clean(env, p)


@pytest.mark.parametrize("config", [None, {"token_ttl": 600}],
                         ids=["options", "config"])
def test_no_audience_no_token_entries(env, config):
    src = env.source()
    opts = "config=" + write_config(env, config) if config else ""
    p = env.mount(src, opts=opts)
    names = os.listdir(p.mnt)
    assert "client_email" in names and "jwks.json" in names
    assert "token" not in names and "tokens" not in names
    for n in ("token", "tokens", "tokens/default"):
        with pytest.raises(FileNotFoundError):
            os.stat(os.path.join(p.mnt, n))
    stop_clean(env, p)


def test_profile_claims_any_json_and_escaping(env):
    # Extra claims of any JSON type, and strings that need escaping, come
    # out exactly as configured.
    odd = 'BI "team" \\ caf\u00e9 \u2713 </script>\n\ttab'
    claims = {"acl_id": "42", "level": 3, "ratio": 0.5, "on": True,
              "none": None, "rls": {"region": ["eu", "us"], "tier": 1},
              "tags": []}
    cfg = write_config(env, {"audience": AUD, "profiles": {
        "odd": {"user_id": "svc/bi:1", "display_name": odd,
                "resource_access": ["/autoql/api/v1/query/**",
                                    '/q?a=1&b="2"'],
                "claims": claims}}})
    src = env.source()
    p = env.mount(src, opts="config=" + cfg)
    _, c = read_token(env, os.path.join(p.mnt, "tokens", "odd"))
    assert c["display_name"] == odd
    assert c["user_id"] == "svc/bi:1"
    assert c["resource_access"] == ["/autoql/api/v1/query/**",
                                    '/q?a=1&b="2"']
    for k, v in claims.items():
        assert k in c and c[k] == v, (k, c.get(k))
    stop_clean(env, p)


# 6. Invalid configurations -------------------------------------------------

PROFILE = {"user_id": "svc-bi"}
INVALID_CONFIGS = [
    # (id, config: JSON text or object, what the message must name)
    ("bad-json", '{"audience": "acme.chata.io", "token_ttl": 3600,', "JSON"),
    ("trailing-data", '{"audience": "acme.chata.io"} {}', "config"),
    ("not-an-object", '["audience", "acme.chata.io"]', "config"),
    ("ttl-string", {"audience": AUD, "token_ttl": "3600"}, "token_ttl"),
    ("refresh-float", {"audience": AUD, "refresh": 80.5}, "refresh"),
    ("ra-string", {"audience": AUD,
                   "resource_access": "/autoql/api/v1/query/**"},
     "resource_access"),
    ("ra-not-strings", {"audience": AUD, "profiles": {
        "default": {"resource_access": [1, 2]}}}, "resource_access"),
    ("claims-array", {"audience": AUD, "profiles": {
        "reporting": {"claims": [{"acl_id": "42"}]}}}, "claims"),
    ("unknown-top", {"audience": AUD, "audiences": ["x"]}, "audiences"),
    ("unknown-in-profile", {"audience": AUD, "profiles": {
        "reporting": {"user_id": "svc-bi", "colour": "red"}}}, "colour"),
    ("ttl-zero", {"audience": AUD, "token_ttl": 0}, "token_ttl"),
    ("ttl-negative", {"audience": AUD, "token_ttl": -60}, "token_ttl"),
    ("refresh-zero", {"audience": AUD, "refresh": 0}, "refresh"),
    ("refresh-100", {"audience": AUD, "refresh": 100}, "refresh"),
    ("profile-refresh-100", {"audience": AUD, "profiles": {
        "reporting": {"refresh": 100}}}, "refresh"),
    ("audience-empty", {"audience": ""}, "audience"),
    ("audience-number", {"audience": 42}, "audience"),
    ("profile-audience-empty", {"profiles": {
        "reporting": {"audience": "", "user_id": "svc-bi"}}}, "audience"),
    ("profile-without-audience", {"profiles": {"reporting": PROFILE}},
     "audience"),
    ("default-without-audience", {"profiles": {"default": PROFILE}},
     "audience"),
    ("user-id-number", {"audience": AUD, "profiles": {
        "reporting": {"user_id": 7}}}, "user_id"),
    ("profiles-array", {"audience": AUD, "profiles": [PROFILE]},
     "profiles"),
    ("profile-not-object", {"audience": AUD, "profiles": {
        "reporting": "svc-bi"}}, "reporting"),
    # A profile name is a file name under tokens/.
    ("profile-name-slash", {"audience": AUD, "profiles": {
        "bi/../../etc": PROFILE}}, "bi/../../etc"),
    ("profile-name-dotdot", {"audience": AUD, "profiles": {
        "..": PROFILE}}, "'..'"),
]


def check_refused(env, r, mnt, needle):
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 2, (r.returncode, lines)
    assert len(lines) == 1, lines
    assert needle.lower() in lines[0].lower(), lines
    assert "error" in lines[0]
    assert r.stdout == b""
    assert not is_mounted(mnt)
    assert not mounted_under(env)


@pytest.mark.parametrize("case", INVALID_CONFIGS, ids=lambda c: c[0])
def test_invalid_config_refused_at_mount(env, case):
    _, config, needle = case
    cfg = write_config(env, config)
    src = env.source()
    mnt = env.mountpoint()
    r = env.safs("-o", "passfile=%s,config=%s" % (env.passfile, cfg), src,
                 mnt, timeout=60)
    check_refused(env, r, mnt, needle)
    if "profile-" in case[0] and "reporting" in str(config):
        assert "reporting" in r.stderr.decode()


def test_missing_config_file(env):
    src = env.source()
    mnt = env.mountpoint()
    cfg = env.path("no-such-config.json")
    r = env.safs("-o", "passfile=%s,config=%s" % (env.passfile, cfg), src,
                 mnt, timeout=60)
    check_refused(env, r, mnt, cfg)


@pytest.mark.parametrize("opt,needle", [
    ("refresh=100", "refresh"),
    ("refresh=0", "refresh"),
    ("refresh=50.5", "refresh"),
    ("token_ttl=0", "token_ttl"),
    ("token_ttl=-1", "token_ttl"),
    ("token_ttl=1h", "token_ttl"),
])
def test_invalid_token_options(env, opt, needle):
    src = env.source()
    mnt = env.mountpoint()
    r = env.safs("-o", "passfile=%s,audience=%s,%s" % (env.passfile, AUD,
                                                       opt),
                 src, mnt, timeout=60)
    check_refused(env, r, mnt, needle)


# 7. safs --token -----------------------------------------------------------

def token_run(env, *args):
    t0 = int(time.time())
    r = env.safs("--token", *args, timeout=60)
    t1 = time.time()
    return r, t0, t1


def check_printed(env, r, t0, t1, audience=AUD):
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert not unexpected_lines(err), err
    out = r.stdout.decode()
    assert out.endswith("\n") and out.count("\n") == 1, repr(out)
    tok = out[:-1]
    header, claims = segments(tok)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": KID}
    assert verify(tok, env.keys.public_pem, audience=audience) == claims
    assert google.auth.jwt.decode(tok, certs=env.keys.public_pem,
                                  audience=audience) == claims
    assert t0 <= claims["iat"] <= t1 + 1
    # Nothing mounted, nothing left running.
    assert not mounted_under(env)
    assert not safs_pids(env.tmp)
    return claims


def test_token_command(env):
    src = env.source()
    r, t0, t1 = token_run(env, "-o", "passfile=%s,audience=%s,user_id=svc-"
                          "etl,display_name=BI,resource_access=/q/**:/r/**,"
                          "token_ttl=120" % (env.passfile, AUD), src)
    c = check_printed(env, r, t0, t1)
    assert c["user_id"] == "svc-etl"
    assert c["display_name"] == "BI"
    assert c["resource_access"] == ["/q/**", "/r/**"]
    assert c["project_id"] == "p-123"
    assert c["exp"] == c["iat"] + 120
    # Freshly minted each time: a later run, a later (or equal) iat.
    time.sleep(1.1)
    r2, t0, t1 = token_run(env, "-o", "passfile=%s,audience=%s"
                           % (env.passfile, AUD), src)
    c2 = check_printed(env, r2, t0, t1)
    assert c2["iat"] > c["iat"]
    assert c2["exp"] == c2["iat"] + 3600


def test_token_command_profiles(env):
    cfg = write_config(env, brief_config(token_ttl=1800))
    src = env.source(project_id="p-sa")
    base = "passfile=%s,config=%s" % (env.passfile, cfg)
    r, t0, t1 = token_run(env, "-o", base, src, "reporting")
    c = check_printed(env, r, t0, t1)
    assert c["user_id"] == "svc-bi"
    assert c["display_name"] == "BI"
    assert c["acl_id"] == "42"
    assert c["exp"] == c["iat"] + 1800

    r, t0, t1 = token_run(env, "-o", base, src)
    c = check_printed(env, r, t0, t1)
    assert c["user_id"] == "svc-etl"
    assert c["resource_access"] == ["/autoql/api/v1/query/**"]
    assert "display_name" not in c

    r, t0, t1 = token_run(env, "-o", base, src, "default")
    assert check_printed(env, r, t0, t1)["user_id"] == "svc-etl"

    # Mount options override the default profile only, here too.
    r, t0, t1 = token_run(env, "-o", base + ",user_id=override", src)
    assert check_printed(env, r, t0, t1)["user_id"] == "override"
    r, t0, t1 = token_run(env, "-o", base + ",user_id=override", src,
                          "reporting")
    assert check_printed(env, r, t0, t1)["user_id"] == "svc-bi"


def test_token_command_unknown_profile(env):
    cfg = write_config(env, brief_config())
    src = env.source()
    r, _, _ = token_run(env, "-o", "passfile=%s,config=%s"
                        % (env.passfile, cfg), src, "no-such-profile")
    assert r.returncode == 2, r.stderr
    assert r.stdout == b""
    assert "no-such-profile" in r.stderr.decode()
    assert not mounted_under(env)


def test_token_command_without_audience(env):
    src = env.source()
    r, _, _ = token_run(env, "-o", "passfile=" + env.passfile, src)
    assert r.returncode == 2, r.stderr
    assert r.stdout == b""
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and "audience" in lines[0], lines
    assert not mounted_under(env)


def test_token_command_invalid_config(env):
    cfg = write_config(env, {"audience": AUD, "refresh": 100})
    src = env.source()
    r, _, _ = token_run(env, "-o", "passfile=%s,config=%s"
                        % (env.passfile, cfg), src)
    assert r.returncode == 2, r.stderr
    assert r.stdout == b""
    assert "refresh" in r.stderr.decode()
