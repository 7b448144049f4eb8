# SPDX-License-Identifier: MIT
"""Issue 5: what administrators and containers use, run for real.

- mount(8): `mount -t fuse.safs` (fuse3's mount.fuse3) and `mount -t safs`
  (mount-helpers/mount.safs), fstab lines through `mount --fstab`, fake
  mode, -N, `umount`; the freshly built tree installed into /usr/local
  for the module (mount.fuse3 and mount(8) look only there and in /sbin)
  and removed afterwards.
- the CLI: --check, --info, --help, --version, the error form and the
  exit codes.
- systemd: `systemd-analyze verify` on every shipped unit (and on the
  units systemd-fstab-generator makes from the fstab example), the units'
  own command lines run as systemd runs them under the unit's sandbox
  (capabilities, no_new_privs, rlimits, umask) and traced to check its
  system call filter, device, address-family and W^X settings; readiness
  through a $NOTIFY_SOCKET the test binds; the mount-namespace fact that
  decides which sandboxing the unit can have.
- Kubernetes: pod.yaml's structure, and its sidecar reproduced with mount
  namespaces (no container engine): an application namespace with slave
  propagation, started first, sees the token once the sidecar mounts into
  a shared directory, follows a Secret rotation, and loses it on preStop.
  The Dockerfile's stages, packages and build recipe.
- safs(8) and docs/operator-guide.md: rendering, completeness, and that
  their examples are the files the tests use.
"""
import errno
import filecmp
import json
import os
import re
import resource
import shutil
import signal
import subprocess

import pytest

import conftest
from conftest import (PASSPHRASE, SAFS, SOURCE_DIR, BUILD_DIR, is_mounted,
                      run, unexpected_lines, wait_for)
import helpers_admin as H
from helpers_admin import AUD, CLIENT_EMAIL, KID, text


# --- fixtures --------------------------------------------------------------

@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The build installed into /usr/local (where mount.fuse3's PATH and,
    through /sbin/mount.safs, mount(8) find it), undone afterwards."""
    inst = H.Install(BUILD_DIR, str(tmp_path_factory.mktemp("install")))
    with inst:
        assert filecmp.cmp(SAFS, inst.path("bin/safs"), shallow=False), \
            "SAFS_BIN %s is not the binary of SAFS_BUILD_DIR %s" % (
                SAFS, BUILD_DIR)
        yield inst
    for f in inst.files + [inst.link]:
        assert not os.path.lexists(f) or f in inst.saved, f


@pytest.fixture
def utab(env):
    """mount(8) keeps userspace options (x-*, ...) in /run/mount/utab
    until umount(8); a test must leave none of its targets there."""
    yield
    left = H.utab_entries(env.tmp)
    H.clean_utab(env.tmp)
    assert not left, "utab entries left behind: %s" % left


def opts(env, *more):
    return ",".join(["passfile=" + env.passfile, "audience=" + AUD,
                     *more])


def daemon(env):
    """The one safs daemon serving this test's mounts: (pid, argv, exe)."""
    pids = H.daemon_pids(env.tmp)
    assert len(pids) == 1, pids
    pid = pids.pop()
    argv = H.read("/proc/%d/cmdline" % pid, "rb").decode().split("\0")[:-1]
    return pid, argv, os.path.realpath("/proc/%d/exe" % pid)


def assert_token(env, mnt):
    tok = H.read(os.path.join(mnt, "token"))
    H.verify_jwt(tok, env.keys.public_pem)
    return tok


def assert_safs_mount(mnt):
    e = H.mount_entry(mnt)
    assert e is not None, "%s not mounted" % mnt
    mopts, _, fstype, _, _ = e
    assert fstype == "fuse.safs", e
    for f in ("ro", "nosuid", "nodev", "noexec"):
        assert f in mopts, (f, e)


def umount(mnt):
    r = run(["umount", mnt])
    assert r.returncode == 0, text(r.stderr)
    assert not is_mounted(mnt)


def no_unexpected(stderr):
    bad = unexpected_lines(text(stderr))
    assert not bad, text(stderr)


# --- install -----------------------------------------------------------------

def test_install_layout(installed, tmp_path):
    """cmake --install puts safs in bin/, mount.safs (executable) in sbin/
    and safs.8 in share/man/man8, under any prefix; man finds the page."""
    stage = str(tmp_path / "stage")
    r = run(["cmake", "--install", BUILD_DIR, "--prefix", "/usr"],
            env=dict(os.environ, DESTDIR=stage))
    assert r.returncode == 0, text(r.stderr)
    for rel, mode in (("usr/bin/safs", 0o755), ("usr/sbin/mount.safs", 0o755),
                      ("usr/share/man/man8/safs.8", 0o644)):
        st = os.stat(os.path.join(stage, rel))
        assert st.st_mode & 0o777 == mode, (rel, oct(st.st_mode))
    assert filecmp.cmp(os.path.join(stage, "usr/sbin/mount.safs"),
                       H.MOUNT_SAFS, shallow=False)
    assert filecmp.cmp(installed.path("share/man/man8/safs.8"), H.MAN,
                       shallow=False)
    assert os.access(installed.path("sbin/mount.safs"), os.X_OK)
    assert os.path.realpath("/sbin/mount.safs") == \
        installed.path("sbin/mount.safs")
    e = dict(os.environ)
    e.pop("MANPATH", None)
    r = run(["man", "-w", "safs"], env=e)
    assert os.path.realpath(text(r.stdout).strip()) == installed.path(
        "share/man/man8/safs.8"), text(r.stdout) + text(r.stderr)


# --- mount(8) -----------------------------------------------------------------

def test_mount_type_fuse_safs(env, installed, utab):
    """mount -t fuse.safs runs fuse3's mount.fuse3, which runs the safs on
    its fixed PATH with -o rw,...,dev,suid; the mount is ro,nosuid,nodev,
    noexec anyway, serves a valid token, and umount(8) ends it."""
    src, mnt = env.source(), env.mountpoint()
    r = run(["mount", "-t", "fuse.safs", src, mnt, "-o", opts(env)])
    assert r.returncode == 0, text(r.stderr)
    no_unexpected(r.stderr)
    assert_safs_mount(mnt)
    pid, argv, exe = daemon(env)
    assert exe == installed.path("bin/safs"), exe
    o = argv[argv.index("-o") + 1].split(",")
    assert o[0] == "rw" and o[-2:] == ["dev", "suid"], argv
    assert_token(env, mnt)
    umount(mnt)
    H.wait_daemons_gone(env.tmp)


def test_mount_type_safs(env, installed, utab):
    """mount -t safs runs /sbin/mount.safs, which execs the safs beside it
    with the options safs needs: nofail and _netdev dropped (noauto,
    comment= and x-* mount(8) keeps to itself)."""
    src, mnt = env.source(), env.mountpoint()
    r = run(["mount", "-t", "safs", src, mnt, "-o",
             opts(env, "nofail", "_netdev", "x-systemd.automount",
                  "comment=autoql", "noauto")])
    assert r.returncode == 0, text(r.stderr)
    no_unexpected(r.stderr)
    assert_safs_mount(mnt)
    pid, argv, exe = daemon(env)
    assert argv == [installed.path("bin/safs"), "-o", "rw," + opts(env),
                    "--", src, mnt], argv
    assert_token(env, mnt)
    umount(mnt)
    H.wait_daemons_gone(env.tmp)


def test_mount_type_safs_reports_safs_errors(env, installed, utab):
    """A failing mount through mount(8) is safs's one line and exit code
    (4: wrong passphrase), and leaves nothing mounted or running."""
    src, mnt = env.source(), env.mountpoint()
    bad = env.write(env.path("wrong"), "not the passphrase\n", 0o600)
    for t in ("safs", "fuse.safs"):
        r = run(["mount", "-t", t, src, mnt, "-o",
                 "passfile=%s,audience=%s" % (bad, AUD)])
        assert r.returncode == 4, (t, r)
        lines = text(r.stderr).splitlines()
        assert [l for l in lines if l.startswith("safs: error: ")] == \
            [l for l in lines if "error" in l], lines
        assert any(l.startswith("safs: error: wrong passphrase")
                   for l in lines), lines
        assert not is_mounted(mnt)
        assert not H.daemon_pids(env.tmp)


def test_fstab_example(env, installed, utab):
    """The fstab line of mount-helpers/systemd/fstab.example (the one the
    guide shows) through `mount --fstab`: `mount -a` leaves it alone
    (noauto) while mounting an auto line of type fuse.safs; naming its
    mountpoint mounts it, x-systemd.automount reaching utab as systemd
    reads it; umount(8) undoes both."""
    line = [l for l in H.read(H.FSTAB_EXAMPLE).splitlines()
            if l and not l.startswith("#")]
    assert len(line) == 1, line
    src, m1, m2 = env.source(), env.mountpoint("m1"), env.mountpoint("m2")
    ours = line[0].replace("/etc/autoql/sa.enc", src).replace(
        "/run/autoql", m1).replace("/etc/autoql/pass", env.passfile)
    what, where, typ, options, freq, passno = ours.split()
    assert (typ, freq, passno) == ("safs", "0", "0")
    assert options.split(",")[:3] == ["noauto", "nofail",
                                      "x-systemd.automount"]
    auto = "%s %s fuse.safs nofail,%s 0 0" % (src, m2, opts(env))
    fstab = env.write(env.path("fstab"), ours + "\n" + auto + "\n")

    r = run(["mount", "-a", "--fstab", fstab])
    assert r.returncode == 0, text(r.stderr)
    assert is_mounted(m2) and not is_mounted(m1)
    r = run(["mount", "--fstab", fstab, m1])
    assert r.returncode == 0, text(r.stderr)
    no_unexpected(r.stderr)
    assert_safs_mount(m1)
    assert_token(env, m1)
    assert_token(env, m2)
    assert any("x-systemd.automount" in l and "TARGET=%s " % m1 in l
               for l in H.utab_entries(env.tmp)), H.utab_entries(env.tmp)
    umount(m1)
    umount(m2)
    H.wait_daemons_gone(env.tmp)


def test_mount_fake(env, installed, utab):
    """mount -f (fake): mount.safs does nothing and succeeds; safs is not
    even run (a passfile that does not exist would fail it)."""
    src, mnt = env.source(), env.mountpoint()
    before = H.utab_entries(env.tmp)
    r = run(["mount", "-f", "-t", "safs", src, mnt, "-o",
             "passfile=" + env.path("no-such-passfile")])
    assert r.returncode == 0, text(r.stderr)
    assert text(r.stderr) == ""
    assert not is_mounted(mnt)
    assert not H.daemon_pids(env.tmp)
    assert H.utab_entries(env.tmp) == before


def test_mount_in_namespace(env, installed, utab):
    """mount -N NS: mount(8) hands -N to the helper, which mounts inside
    that mount namespace through nsenter; the host does not see it."""
    d = env.path("ns")
    os.makedirs(d)
    run(["mount", "--bind", d, d], check=True)
    try:
        run(["mount", "--make-private", d], check=True)
        nsfile = env.write(os.path.join(d, "mnt"), "")
        r = run(["unshare", "--mount=" + nsfile, "--propagation", "private",
                 "true"])
        assert r.returncode == 0, text(r.stderr)
        src, mnt = env.source(), env.mountpoint()
        try:
            r = run(["mount", "-N", nsfile, "-t", "safs", src, mnt, "-o",
                     opts(env)])
            assert r.returncode == 0, text(r.stderr)
            assert not is_mounted(mnt)
            pid, _, _ = daemon(env)
            assert H.mounted_in(pid, mnt)
            r = run(["nsenter", "--mount=" + nsfile, "cat",
                     os.path.join(mnt, "token")])
            H.verify_jwt(r.stdout, env.keys.public_pem)
            r = run(["nsenter", "--mount=" + nsfile, "umount", mnt])
            assert r.returncode == 0, text(r.stderr)
            H.wait_daemons_gone(env.tmp)
        finally:
            run(["nsenter", "--mount=" + nsfile, "umount", "-l", mnt])
            run(["umount", nsfile])
    finally:
        run(["umount", "-l", d])


STUB = r"""#!/bin/sh
{ printf '%s\n' "$0" "$@"; printf 'PATH=%s\n' "$PATH";
  printf 'NS=%s\n' "$(readlink /proc/self/ns/mnt)"; } > "$(dirname "$0")/argv"
"""


def helper_run(env, *args, ns=None):
    """Run a copy of mount.safs beside a stub safs that records its argv:
    (exit status, stderr, recorded lines or None when not run)."""
    d = env.path("helper")
    os.makedirs(d, exist_ok=True)
    shutil.copy(H.MOUNT_SAFS, os.path.join(d, "mount.safs"))
    env.write(os.path.join(d, "safs"), STUB, 0o755)
    out = os.path.join(d, "argv")
    if os.path.exists(out):
        os.unlink(out)
    r = run([os.path.join(d, "mount.safs"), *args],
            env=dict(os.environ, PATH="/nonexistent"))
    rec = H.read(out).splitlines() if os.path.exists(out) else None
    return r.returncode, text(r.stderr), rec


def test_mount_helper_arguments(env):
    """mount.safs's contract with mount(8) and safs: the helper flags, the
    options it drops and keeps (escaped and quoted commas included), the
    fixed PATH, and the errors."""
    d = env.path("helper")
    stub = os.path.join(d, "safs")
    rc, err, rec = helper_run(
        env, "SRC", "MNT", "-s", "-n", "-o",
        "rw,noexec,nosuid,nodev,passfile=/p,nofail,_netdev,user,users,"
        "owner,group,auto,defaults,uhelper=udisks2,silent,audience=a",
        "-t", "safs")
    assert (rc, err) == (0, ""), err
    assert rec[:6] == [stub, "-o", "rw,noexec,nosuid,nodev,passfile=/p,"
                       "audience=a", "--", "SRC", "MNT"], rec
    assert rec[6] == "PATH=" + H.MOUNT_FUSE3_PATH, rec
    # Escaped commas stay escaped; a quoted value's commas get escaped.
    rc, err, rec = helper_run(env, "S", "M", "-o",
                              'passfile=/a\\,b,config="/c,d",x-y=1')
    assert rc == 0, err
    assert rec[2] == "passfile=/a\\,b,config=/c\\,d", rec
    # No options at all; -oOPTS in one word; -v shows the command.
    rc, err, rec = helper_run(env, "S", "M", "-v")
    assert rc == 0 and rec[1:4] == ["--", "S", "M"], rec
    assert err == "mount.safs: %s -- S M\n" % stub, err
    rc, err, rec = helper_run(env, "S", "M", "-oaudience=a")
    assert rec[1:3] == ["-o", "audience=a"], rec
    # -f: nothing runs.
    rc, err, rec = helper_run(env, "S", "M", "-f", "-o", "audience=a")
    assert (rc, rec) == (0, None), err
    # Errors: usage, one line, exit 2, nothing run.
    for args, needle in (((), "expected SOURCE and MOUNTPOINT"),
                         (("S",), "expected SOURCE and MOUNTPOINT"),
                         (("S", "M", "X"), "too many arguments"),
                         (("S", "M", "-x"), "unknown flag -x"),
                         (("S", "M", "-o"), "-o needs options"),
                         (("S", "M", "-o", "remount,audience=a"),
                          "remount is not supported")):
        rc, err, rec = helper_run(env, *args)
        assert rc == 2 and rec is None, (args, rc, err)
        assert err.startswith("mount.safs: error: ") and needle in err, err
        assert err.count("\n") == 1, err


def test_mount_helper_is_posix_sh():
    """mount.safs is plain POSIX sh (it runs under dash here): shellcheck
    in sh mode finds nothing, and dash parses it."""
    r = run(["shellcheck", "-s", "sh", H.MOUNT_SAFS])
    assert r.returncode == 0, text(r.stdout) + text(r.stderr)
    assert H.read(H.MOUNT_SAFS).startswith("#!/bin/sh\n")
    r = run(["dash", "-n", H.MOUNT_SAFS])
    assert r.returncode == 0, text(r.stderr)


def test_mount_helper_namespace_flag(env):
    """-N NS runs safs inside NS (nsenter --mount), as mount -N asks."""
    d = env.path("nsd")
    os.makedirs(d)
    run(["mount", "--bind", d, d], check=True)
    try:
        run(["mount", "--make-private", d], check=True)
        nsfile = env.write(os.path.join(d, "mnt"), "")
        run(["unshare", "--mount=" + nsfile, "true"], check=True)
        try:
            rc, err, rec = helper_run(env, "S", "M", "-N", nsfile)
            assert rc == 0, err
            ns = "mnt:[%d]" % os.stat(nsfile).st_ino
            assert rec[-1] == "NS=" + ns, (rec, ns)
            assert ns != os.readlink("/proc/self/ns/mnt")
        finally:
            run(["umount", nsfile])
    finally:
        run(["umount", "-l", d])


# --- the CLI -------------------------------------------------------------

def summary(out):
    d = {}
    for line in text(out).splitlines():
        k, sep, v = line.partition(": ")
        assert sep, line
        d[k] = v
    return d


def assert_no_secret(env, *outputs):
    body = [l for l in env.keys.pem.splitlines() if not l.startswith("---")]
    for o in outputs:
        o = text(o)
        assert PASSPHRASE not in o
        assert "PRIVATE KEY" not in o
        for l in body:
            assert l not in o, "private key material in output"


@pytest.mark.parametrize("args,fmt,cipher,kdf", [
    (("-aes-256-cbc", "-pbkdf2"), "openssl", "aes-256-cbc",
     "pbkdf2 (sha256, 10000 iterations)"),
    (("-aes-256-cbc", "-md", "md5"), "openssl", "aes-256-cbc",
     "evp (legacy EVP_BytesToKey, md5)"),
    (("-aes-128-cbc", "-pbkdf2", "-iter", "2000", "-a"), "openssl (base64)",
     "aes-128-cbc", "pbkdf2 (sha256, 2000 iterations)"),
])
def test_check_summary(env, args, fmt, cipher, kdf):
    """--check decrypts and validates and prints format, the cipher and
    KDF that worked, client_email, project_id, private_key_id, key type and
    size, entries and token profiles; never the key or the passphrase."""
    src = env.source(args=args)
    extra = []
    if cipher != "aes-256-cbc":
        extra = ["cipher=" + cipher, "iter=2000"]
    r = env.safs("--check", "-o", opts(env, *extra), src)
    assert r.returncode == 0, text(r.stderr)
    no_unexpected(r.stderr)
    s = summary(r.stdout)
    assert s["source"] == src
    assert s["format"] == fmt
    assert s["cipher"] == cipher
    assert s["kdf"] == kdf
    assert s["client_email"] == CLIENT_EMAIL
    assert s["project_id"] == "p-123"
    assert s["private_key_id"] == KID
    assert s["key"] == "RSA 2048 bits"
    assert set(s["entries"].split()) >= {
        "client_email", "client_id", "private_key", "private_key_id",
        "project_id", "type", "token_uri", "credentials.json",
        "public_key.pem", "jwks.json"}, s["entries"]
    assert s["token default"] == "aud=%s ttl=3600 refresh=80%%" % AUD
    assert_no_secret(env, r.stdout, r.stderr)


def tty_child():
    """preexec_fn: a new session whose controlling terminal is a pty."""
    import fcntl
    import termios
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_info_needs_no_passphrase(env):
    """--info reads what the file records without any passphrase source:
    no passfile, no credential, stdin /dev/null, no terminal; and with a
    terminal it still prints nothing to it and does not wait for input."""
    src = env.source()
    raw = H.read(src, "rb")
    e = dict(os.environ)
    e.pop("CREDENTIALS_DIRECTORY", None)
    r = env.safs("--info", src, stdin=subprocess.DEVNULL,
                 start_new_session=True, env=e)
    assert r.returncode == 0, text(r.stderr)
    assert text(r.stderr) == ""
    s = summary(r.stdout)
    assert s["source"] == src
    assert s["size"] == "%d bytes" % len(raw)
    assert s["format"] == "openssl"
    assert s["encoding"] == "binary"
    assert raw[:8] == b"Salted__" and s["salt"] == raw[8:16].hex()
    assert s["ciphertext"] == "%d bytes" % (len(raw) - 16)
    assert "pbkdf2" in s["note"]

    master, slave = os.openpty()
    try:
        p = subprocess.Popen([SAFS, "--info", src], stdin=slave,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=e, preexec_fn=tty_child)
        os.close(slave)
        slave = -1
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert summary(out) == s
        os.set_blocking(master, False)
        try:
            on_tty = os.read(master, 4096)
        except (BlockingIOError, OSError):
            on_tty = b""
        assert on_tty == b"", on_tty
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


def test_check_without_passphrase_source(env):
    """--check with no passphrase source at all fails clearly (exit 4)
    instead of waiting on a terminal it does not have."""
    src = env.source()
    e = dict(os.environ)
    e.pop("CREDENTIALS_DIRECTORY", None)
    r = env.safs("--check", src, stdin=subprocess.DEVNULL,
                 start_new_session=True, env=e)
    assert r.returncode == 4, r
    assert text(r.stderr).startswith("safs: error: no passphrase source")
    assert text(r.stderr).count("\n") == 1 and text(r.stdout) == ""


def test_help_lists_every_option_once():
    """--help: each option on one line, once; every option safs itself
    parses (src/options.c) is among them."""
    h = H.help_text()
    names = H.help_options(h)
    dups = sorted({n for n in names if names.count(n) > 1})
    assert not dups, dups
    for flag in ("-f", "-d", "-o", "--check", "--info", "--token", "-h",
                 "--help", "-V", "--version"):
        assert flag in names, flag
    o = H.options_c_names()
    own = o["own"] - set(o["ignored"]) - {"comment"}
    missing = sorted(own - set(names))
    assert not missing, "options safs parses but --help omits: %s" % missing
    for n in names:
        if not n.startswith("-"):
            assert n in o["own"] | set(o["fuse_flags"]) | \
                set(o["fuse_values"]), "--help lists unknown option %s" % n


def test_version():
    r = run([SAFS, "--version"])
    assert r.returncode == 0 and text(r.stderr) == ""
    m = re.fullmatch(r"safs (\d+\.\d+\.\d+) \(libfuse \d+, OpenSSL [^)]+\)\n",
                     text(r.stdout))
    assert m, text(r.stdout)
    cmake = H.read(os.path.join(SOURCE_DIR, "CMakeLists.txt"))
    assert "project(safs VERSION %s " % m.group(1) in cmake
    assert '.TH SAFS 8 ' in H.read(H.MAN) and \
        '"safs %s"' % m.group(1) in H.read(H.MAN)
    r = run([SAFS, "-V"])
    assert r.returncode == 0 and text(r.stdout).startswith("safs ")


def error_cases(env):
    src = env.source()
    mnt = env.mountpoint()
    nomail = env.source("nomail.enc", client_email=None)
    wrong = env.write(env.path("wrong"), "wrong\n", 0o600)
    notdir = env.write(env.path("file"), "")
    pf = "passfile=" + env.passfile
    return [
        ((), 2, "expected SOURCE and MOUNTPOINT"),
        (("--bogus",), 2, "unknown argument --bogus"),
        (("-x", src, mnt), 2, "unknown flag -x"),
        (("-o", "password=hunter2", src, mnt), 2, "passfile="),
        (("-o", pf + ",nosuchopt", src, mnt), 2, "unknown option 'nosuchopt'"),
        (("-o", pf + ",refresh=0", src, mnt), 2, "refresh=0"),
        (("--check", "-o", pf, env.path("missing.enc")), 3,
         "cannot open source"),
        (("--check", "-o", "passfile=" + wrong, src), 4, "wrong passphrase"),
        (("--check", "-o", pf, nomail), 5, "client_email"),
        (("-f", "-o", pf, src, env.path("nodir")), 6, "mountpoint"),
        (("-f", "-o", pf, src, notdir), 6, "not a directory"),
    ]


def test_error_form_and_exit_codes(env):
    """Every failure is one line `safs: error: ...`, the documented exit
    code, nothing on stdout, nothing mounted, no secret echoed."""
    for args, code, needle in error_cases(env):
        r = env.safs(*args, stdin=subprocess.DEVNULL)
        err = text(r.stderr)
        assert r.returncode == code, (args, r.returncode, err)
        assert re.fullmatch(r"safs: error: [^\n]+\n", err), (args, err)
        assert needle in err, (args, err)
        assert text(r.stdout) == "", (args, r.stdout)
        assert "hunter2" not in err
        assert not [m for m in conftest.mounts() if m.startswith(env.tmp)]


def test_exit_code_internal(env):
    """Exit 1: with require_mlock and no way to lock memory (no
    CAP_IPC_LOCK, RLIMIT_MEMLOCK 0)."""
    src = env.source()

    def nolock():
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))
    r = run(["setpriv", "--bounding-set=-ipc_lock", "--inh-caps=-ipc_lock",
             SAFS, "--check", "-o", opts(env, "require_mlock"), src],
            preexec_fn=nolock)
    err = text(r.stderr)
    assert r.returncode == 1, err
    assert re.fullmatch(r"safs: error: cannot lock memory[^\n]*\n", err), err


def test_exit_codes_documented():
    """The codes --help lists are those of fs/main.c and of safs(8)'s
    EXIT STATUS; the tests above observe each of 1-6."""
    h = H.help_text()
    m = re.search(r"Exit codes: (.*?)\.\n", h, re.S)
    assert m, h
    listed = dict((int(n), w.strip()) for n, w in
                  re.findall(r"(\d) ([^,]+)", m.group(1).replace("\n", " ")))
    assert sorted(listed) == list(range(7)), listed
    enum = re.findall(r"EXIT_[A-Z]+ = (\d),",
                      H.read(os.path.join(SOURCE_DIR, "fs", "main.c")))
    assert sorted(map(int, enum)) == list(range(7)), enum
    rc, page, err = H.render_man()
    status = H.man_sections(page)["EXIT STATUS"]
    assert re.findall(r"^       (\d)\s", status, re.M) == \
        [str(i) for i in range(7)], status


# --- systemd --------------------------------------------------------------

def test_units_verify(installed, tmp_path):
    """systemd-analyze verify passes, silently, on every unit shipped (as
    templates and as instances), on the LoadCredentialEncrypted= variant
    the unit documents, and on the .mount/.automount units the fstab
    example generates."""
    d = str(tmp_path)
    paths = []
    for unit in (H.UNIT, H.APP_UNIT):
        base = os.path.basename(unit)
        for name in (base, base.replace("@.", "@autoql.")):
            shutil.copy(unit, os.path.join(d, name))
            paths.append("./" + name)
    body = H.read(H.UNIT)
    enc = re.search(r"^#   (LoadCredentialEncrypted=.*)$", body, re.M)
    assert enc, "the unit shows no LoadCredentialEncrypted= line"
    assert re.search(r"^#   LoadCredential=$", body, re.M)
    variant = re.sub(r"^LoadCredential=.*$", enc.group(1), body, flags=re.M)
    assert variant != body
    with open(os.path.join(d, "safs@enc.service"), "w") as f:
        f.write(variant)
    paths.append("./safs@enc.service")
    for p in paths:
        rc, out = H.systemd_verify(p, cwd=d)
        assert (rc, out) == (0, ""), (p, out)

    gen = os.path.join(d, "gen")
    for sub in ("normal", "early", "late"):
        os.makedirs(os.path.join(gen, sub))
    gen_bin = "/lib/systemd/system-generators/systemd-fstab-generator"
    r = run([gen_bin, *(os.path.join(gen, s) for s in
                        ("normal", "early", "late"))],
            env=dict(os.environ, SYSTEMD_FSTAB=H.FSTAB_EXAMPLE,
                     SYSTEMD_LOG_LEVEL="err"))
    assert r.returncode == 0, text(r.stderr)
    normal = os.path.join(gen, "normal")
    mount = H.unit_settings(os.path.join(normal, "run-autoql.mount"))
    assert H.one(mount, "What", "Mount") == "/etc/autoql/sa.enc"
    assert H.one(mount, "Where", "Mount") == "/run/autoql"
    assert H.one(mount, "Type", "Mount") == "safs"
    assert "passfile=/etc/autoql/pass" in H.one(mount, "Options", "Mount")
    assert os.path.exists(os.path.join(normal, "run-autoql.automount"))
    # noauto + x-systemd.automount: the automount is wanted, the mount
    # itself is not; nofail: wanted, not required.
    wants = os.listdir(os.path.join(normal, "local-fs.target.wants"))
    assert "run-autoql.automount" in wants and \
        "run-autoql.mount" not in wants, wants
    assert not os.path.exists(os.path.join(normal,
                                           "local-fs.target.requires"))
    for u in ("run-autoql.mount", "run-autoql.automount"):
        rc, out = H.systemd_verify("./" + u, cwd=normal)
        assert (rc, out) == (0, ""), (u, out)


def test_unit_settings():
    """safs@.service: the readiness, reload, restart, credential and
    limit settings the issue asks for, and none of the settings that give
    a unit its own mount namespace (test_systemd_namespace_hides_mount
    shows why); what systemd-analyze security still marks is exactly what
    the unit's comments explain."""
    u = H.unit_settings(H.UNIT)
    assert H.one(u, "Type") == "notify"
    assert H.one(u, "NotifyAccess") == "main"
    assert H.one(u, "EnvironmentFile") == "/etc/safs/%i.conf"
    assert H.one(u, "LoadCredential") == \
        "safs.passphrase:/etc/safs/%i.passphrase"
    start = H.exec_line(u, "ExecStart")
    assert start[:4] == ["/usr/local/bin/safs", "-f", "-o",
                         "${SAFS_OPTIONS}"], start
    assert start[4:] == ["--", "${SAFS_SOURCE}", "${SAFS_MOUNTPOINT}"]
    assert H.one(u, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert not H.setting(u, "ExecStop")
    assert H.one(u, "Restart") == "on-failure"
    assert H.one(u, "LimitCORE") == "0"
    assert H.one(u, "LimitMEMLOCK") == "16M"
    assert H.one(u, "CapabilityBoundingSet") == "CAP_SYS_ADMIN"
    for k in ("NoNewPrivileges", "MemoryDenyWriteExecute", "LockPersonality",
              "RestrictRealtime", "RestrictSUIDSGID", "RestrictNamespaces",
              "ProtectHostname"):
        assert H.one(u, k) == "yes", k
    assert H.one(u, "DevicePolicy") == "closed"
    assert H.one(u, "DeviceAllow") == "/dev/fuse rw"
    assert H.one(u, "RestrictAddressFamilies") == "AF_UNIX"
    assert H.one(u, "IPAddressDeny") == "any"
    assert H.one(u, "SystemCallArchitectures") == "native"
    assert H.one(u, "UMask") == "0077"
    assert H.one(u, "KeyringMode") == "private"
    present = [k for k, _ in u["Service"] if k in H.MOUNT_NS_SETTINGS]
    assert not present, "mount-namespace settings in safs@.service: %s" % \
        present
    mf = H.setting(u, "MountFlags")
    assert mf in ([], ["shared"]), mf

    app = H.unit_settings(H.APP_UNIT)
    for k in ("ProtectSystem", "PrivateTmp", "ProtectHome"):
        assert H.setting(app, k), k
    assert H.one(app, "ProtectSystem") == "strict"

    explained = {
        # A mount namespace (see the unit's header comment).
        "PrivateDevices=", "ProtectKernelLogs=", "ProtectControlGroups=",
        "ProtectKernelModules=", "PrivateMounts=", "ProtectKernelTunables=",
        "ProtectSystem=", "ProtectProc=", "ProcSubset=", "ProtectHome=",
        "PrivateTmp=", "PrivateNetwork=", "RootDirectory=/RootImage=",
        # A user namespace would leave CAP_SYS_ADMIN useless on the host.
        "PrivateUsers=",
        # mount(2) into the host namespace.
        "User=/DynamicUser=", "CapabilityBoundingSet=~CAP_SYS_ADMIN",
        "SystemCallFilter=~@mount", "DeviceAllow=",
        # The clock-sync read; NOTIFY_SOCKET and syslog.
        "ProtectClock=", "SystemCallFilter=~@clock",
        # ... which is in @privileged, the rest of which the unit removes.
        "SystemCallFilter=~@privileged",
        "RestrictAddressFamilies=~AF_UNIX",
    }
    d = json.loads(text(security_json(H.UNIT)))
    marked = {x["name"] for x in d if x.get("set") is False}
    assert marked <= explained, sorted(marked - explained)
    # The score the guide quotes is the one systemd gives.
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d+)",
                      text(security_json(H.UNIT, json_out=False))).group(1)
    assert "rates the unit %s" % level in H.read(H.GUIDE), level


def security_json(unit, json_out=True):
    """systemd-analyze security --offline of an instance of unit."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        inst = os.path.join(d, os.path.basename(unit).replace("@.", "@x."))
        shutil.copy(unit, inst)
        r = run(["systemd-analyze", "security", "--offline=yes",
                 "--json=short" if json_out else "--json=off", inst])
        assert r.returncode == 0, text(r.stderr)
        return r.stdout


def test_systemd_namespace_hides_mount(env):
    """The fact behind safs@.service's sandboxing. A unit with any mount-
    namespace setting runs in a new namespace in which systemd first makes
    every mount a slave and then shared again (systemd.exec(5),
    PrivateMounts=): a safs mounted there, even under a shared directory,
    is seen inside only, never by the host. A unit without such settings
    runs in the host's namespace, where the mount is everyone's; so is a
    namespace that kept the shared peer group (what Kubernetes does for a
    Bidirectional volume)."""
    src = env.source()
    shared = env.path("shared")
    with H.shared_dir(shared):
        host_tag = [t for t in H.peer_tags(shared)
                    if t.startswith("shared:")]
        assert host_tag, H.peer_tags(shared)
        # 1. What systemd does for ProtectSystem=, PrivateTmp=, ...
        mnt = os.path.join(shared, "unit")
        os.makedirs(mnt)
        cmd = ["unshare", "--mount", "--propagation", "slave", "sh", "-c",
               'mount --make-rshared / && exec "$@"', "sh",
               SAFS, "-f", "-o", opts(env), src, mnt]
        q = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        env.procs.append(q)
        try:
            wait_for(lambda: q.poll() is None and H.mounted_in(q.pid, mnt),
                     20, "the namespaced mount")
            inside = "/proc/%d/mountinfo" % q.pid
            tags = H.peer_tags(shared, inside)
            # A peer group of its own, a slave of the host's.
            assert any(t.startswith("master:") and
                       t.split(":")[1] == host_tag[0].split(":")[1]
                       for t in tags), (tags, host_tag)
            assert not set(tags) & set(host_tag), (tags, host_tag)
            # Inside, the token is there; the host sees no mount at all.
            r = H.nsenter(q.pid, "cat", os.path.join(mnt, "token"))
            H.verify_jwt(r.stdout, env.keys.public_pem)
            assert not is_mounted(mnt)
            assert not os.path.exists(os.path.join(mnt, "token"))
        finally:
            env.stop(q)
        assert q.returncode == 0, q.stderr_text
        # 2. A namespace that kept the shared peer group: propagates.
        mnt2 = os.path.join(shared, "bidirectional")
        os.makedirs(mnt2)
        q = subprocess.Popen(["unshare", "--mount", "--propagation",
                              "unchanged", SAFS, "-f", "-o", opts(env),
                              src, mnt2], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        env.procs.append(q)
        env.mnts.append(mnt2)
        wait_for(lambda: is_mounted(mnt2), 20, "the propagated mount")
        assert q.poll() is None and H.mnt_ns(q.pid) != H.mnt_ns()
        assert_token(env, mnt2)
        env.stop(q)
        assert q.returncode == 0 and not is_mounted(mnt2)
        # 3. No namespace (a unit without namespacing settings).
        mnt3 = os.path.join(shared, "host")
        os.makedirs(mnt3)
        p = env.mount(src, mnt3, opts="audience=" + AUD)
        assert H.mnt_ns(p.pid) == H.mnt_ns()
        assert_token(env, mnt3)
        env.stop(p)
        assert p.returncode == 0


def sandbox(unit):
    """How to run a command as the unit would, without systemd: the
    capability bounding set and no_new_privs through setpriv, the rlimits
    and umask in the child."""
    caps = H.one(unit, "CapabilityBoundingSet").split()
    bset = ",".join(["-all"] + ["+" + c[4:].lower() for c in caps])
    prefix = ["setpriv", "--bounding-set=" + bset, "--inh-caps=-all"]
    if H.setting(unit, "NoNewPrivileges") == ["yes"]:
        prefix.append("--no-new-privs")
    mem = H.one(unit, "LimitMEMLOCK")
    assert mem.endswith("M")
    memlock = int(mem[:-1]) << 20
    core = int(H.one(unit, "LimitCORE"))
    umask = int(H.one(unit, "UMask"), 8)

    # Without CAP_SYS_RESOURCE (as on these machines) the hard limit
    # cannot be raised: take what there is, if it still holds the secure
    # heap (4 MiB) the unit's value is there for.
    hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]
    if hard != resource.RLIM_INFINITY:
        memlock = min(memlock, hard)
    assert memlock >= 1 << 20, memlock

    def child():
        resource.setrlimit(resource.RLIMIT_CORE, (core, core))
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (memlock, memlock))
        os.umask(umask)
    return prefix + ["--"], child


# /dev nodes DevicePolicy=closed always allows (systemd.resource-control(5)).
CLOSED_DEVICES = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                  "/dev/urandom", "/dev/tty", "/dev/ptmx"}


def test_unit_lifecycle_under_its_sandbox(env, installed):
    """safs@.service's own command lines, expanded from the example
    /etc/safs/NAME.conf, run as systemd runs them (credentials directory,
    $NOTIFY_SOCKET, $MAINPID) under the unit's capability bounding set,
    no_new_privs, LimitCORE=, LimitMEMLOCK= and UMask=: ExecStartPre=
    makes the mountpoint, ExecStart= mounts and reports READY=1 from the
    main PID, ExecReload= reloads, SIGTERM stops it; after a SIGKILL,
    ExecStopPost= clears the dead mount so Restart= can mount again.
    Everything is traced, and every system call, /dev node, socket family
    and mapping is one the unit's filters allow."""
    u = H.unit_settings(H.UNIT)
    conf = H.environment_file(H.CONF_EXAMPLE)
    src = env.source()
    mnt = env.path("run", "autoql")
    conf["SAFS_SOURCE"] = conf["SAFS_SOURCE"].replace(
        "/etc/autoql/sa.enc", src)
    conf["SAFS_MOUNTPOINT"] = conf["SAFS_MOUNTPOINT"].replace(
        "/run/autoql", mnt)
    creds = env.path("credentials", "safs@autoql.service")
    os.makedirs(creds, 0o700)
    name, path = H.one(u, "LoadCredential").split(":", 1)
    env.write(os.path.join(creds, name), PASSPHRASE + "\n", 0o400)
    sock = H.NotifySocket(env.path("notify"))
    environ = dict(os.environ, **conf, CREDENTIALS_DIRECTORY=creds,
                   NOTIFY_SOCKET=sock.path)
    if os.environ.get("SAFS_TEST_SANITIZE") == "1":
        # LeakSanitizer cannot run under strace's ptrace.
        environ["ASAN_OPTIONS"] = (environ.get("ASAN_OPTIONS", "") +
                                   ":detect_leaks=0").lstrip(":")
    prefix, child = sandbox(u)
    traces = []

    def traced(argv, **kw):
        t = env.path("trace.%d" % len(traces))
        traces.append(t)
        return ["strace", "-f", "-qq", "-o", t, *prefix, *argv]

    def run_exec(key, mainpid=None):
        argv = H.substitute(H.exec_line(u, key), environ, mainpid)
        r = run(traced(argv), env=environ, preexec_fn=child)
        return r

    def start():
        argv = H.substitute(H.exec_line(u, "ExecStart"), environ)
        assert argv[0] == installed.path("bin/safs")
        p = subprocess.Popen(traced(argv), env=environ, preexec_fn=child,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        env.procs.append(p)
        if mnt not in env.mnts:
            env.mnts.append(mnt)
        pid, msg = sock.recv()
        assert msg.get("READY") == "1", msg
        assert is_mounted(mnt), "READY=1 before the mount"
        assert os.path.realpath("/proc/%d/exe" % pid) == argv[0]
        return p, pid

    try:
        r = run_exec("ExecStartPre")
        assert r.returncode == 0, text(r.stderr)
        assert os.stat(mnt).st_mode & 0o777 == 0o700   # UMask=0077

        p, pid = start()
        assert_safs_mount(mnt)
        assert_token(env, mnt)
        assert "allow_other" in H.mount_entry(mnt)[4]
        r = run_exec("ExecReload", mainpid=pid)
        assert r.returncode == 0, text(r.stderr)
        seen = [sock.recv(), sock.recv()]
        assert [m for _, m in seen][0].get("RELOADING") == "1", seen
        assert seen[1][1].get("READY") == "1", seen
        assert all(s == pid for s, _ in seen), seen
        assert_token(env, mnt)
        os.kill(pid, signal.SIGTERM)
        sender, msg = sock.recv()
        assert (sender, msg.get("STOPPING")) == (pid, "1"), msg
        p.wait(timeout=20)
        assert p.returncode == 0, text(p.stderr.read())
        assert not is_mounted(mnt)
        r = run_exec("ExecStopPost")       # nothing to do: fails quietly
        assert text(r.stderr) == "", text(r.stderr)

        # A crash leaves a dead mount; ExecStopPost= clears it.
        p, pid = start()
        os.kill(pid, signal.SIGKILL)
        p.wait(timeout=20)
        assert is_mounted(mnt)
        with pytest.raises(OSError) as dead:
            os.listdir(mnt)
        assert dead.value.errno == errno.ENOTCONN
        r = run_exec("ExecStopPost")
        assert r.returncode == 0, text(r.stderr)
        assert not is_mounted(mnt)
        p, pid = start()
        os.kill(pid, signal.SIGTERM)
        p.wait(timeout=20)
        assert p.returncode == 0
    finally:
        sock.close()

    allowed = H.allowed_syscalls(u)
    used = set()
    devs = set()
    for t in traces:
        tr = H.Trace(t, skip_execs=2)
        assert tr.started, t
        used |= tr.calls
        devs |= tr.opened("/dev/")
        fams = set(re.findall(r"\bsocket\((AF_\w+)", " ".join(tr.lines)))
        assert fams <= {"AF_UNIX"}, fams
        assert not tr.matching(r"PROT_WRITE\|PROT_EXEC|PROT_EXEC\|"
                               r"PROT_WRITE"), "W+X mapping"
        assert not tr.matching(r"\bmprotect\(.*PROT_EXEC"), "mprotect +x"
        assert not tr.matching(r"\b(unshare|setns)\(|CLONE_NEW"), \
            "namespaces"
        assert not tr.matching(r"\bpersonality\(0x[0-9a-f]*[1-9a-f]"), \
            "personality change"
    missing = sorted(used - allowed)
    assert not missing, "system calls outside SystemCallFilter=: %s" % \
        missing
    allowed_devs = CLOSED_DEVICES | {H.one(u, "DeviceAllow").split()[0]}
    assert devs <= allowed_devs, sorted(devs - allowed_devs)
    assert "/dev/fuse" in devs


def test_readiness_notification(env):
    """$NOTIFY_SOCKET, a datagram socket the test binds: READY=1 comes
    once the mount is in /proc/self/mountinfo (checked as it arrives, and
    nothing comes before), each message from safs's own PID (what
    NotifyAccess=main accepts); SIGHUP gives RELOADING=1 then READY=1,
    also when the reload fails; SIGTERM gives STOPPING=1. The same over an
    abstract socket name."""
    src = env.source()
    for name in ("notify", "@safs-test-%d" % os.getpid()):
        path = env.path(name) if not name.startswith("@") else name
        sock = H.NotifySocket(path if not path.startswith("@")
                              else "\0" + path[1:])
        mnt = env.mountpoint("m-" + name.lstrip("@"))
        try:
            p = env.mount(src, mnt, opts="audience=" + AUD, wait=False,
                          env=dict(os.environ, NOTIFY_SOCKET=path))
            pid, msg = sock.recv()
            mounted_when_ready = is_mounted(mnt)
            assert msg.get("READY") == "1", msg
            assert mounted_when_ready, "READY=1 before the mount"
            assert pid == p.pid
            assert_token(env, mnt)

            os.kill(p.pid, signal.SIGHUP)
            a, b = sock.recv(), sock.recv()
            assert a == (p.pid, {"RELOADING": "1"}) or \
                (a[0] == p.pid and a[1].get("RELOADING") == "1"), a
            assert b[0] == p.pid and b[1].get("READY") == "1", b

            # A reload that fails still ends the reload: READY=1.
            good = H.read(src, "rb")
            env.write(src, b"garbage, not a service account")
            os.kill(p.pid, signal.SIGHUP)
            a, b = sock.recv(), sock.recv()
            assert a[1].get("RELOADING") == "1", a
            assert b[1].get("READY") == "1", b
            assert "fail" in b[1].get("STATUS", ""), b
            assert_token(env, mnt)
            env.write(src, good)

            os.kill(p.pid, signal.SIGTERM)
            pid, msg = sock.recv()
            assert (pid, msg.get("STOPPING")) == (p.pid, "1"), msg
            err = env.stop(p)
            assert p.returncode == 0, err
            assert not unexpected_lines(err, [r"reload of .* failed"]), err
        finally:
            sock.close()
        # Nothing claimed readiness before the mount, nothing came twice.
        kinds = [next(iter(k for k in ("READY", "RELOADING", "STOPPING")
                           if k in m)) for _, m in sock.msgs]
        assert kinds == ["READY", "RELOADING", "READY", "RELOADING",
                         "READY", "STOPPING"], sock.msgs


def test_app_unit_keeps_the_mount_private(env, installed):
    """safs-app@.service's ExecStart=, run as systemd would run it in the
    unit's namespace (a new one, slave then shared, / read-only as
    ProtectSystem=strict, a private tmpfs as PrivateTmp=): the mount is
    made, the application it execs as SAFS_USER (no credentials directory
    in its environment) reads a valid token through it, and the host never
    sees the mount."""
    u = H.unit_settings(H.APP_UNIT)
    src = env.source()
    privtmp = env.path("privtmp")
    os.makedirs(privtmp)
    creds = env.path("credentials")
    os.makedirs(creds, 0o700)
    env.write(os.path.join(creds, "safs.passphrase"), PASSPHRASE + "\n",
              0o400)
    conf = {
        "SAFS_SOURCE": src,
        "SAFS_MOUNTPOINT": os.path.join(privtmp, "autoql"),
        "SAFS_OPTIONS": "audience=%s,allow_other,uid=nobody,gid=nogroup" %
                        AUD,
        "SAFS_USER": "nobody",
        "SAFS_GROUP": "nogroup",
        # Relative to the working directory, which nobody can reach.
        "SAFS_EXEC": "/bin/cat autoql/token /proc/self/status "
                     "/proc/self/environ",
    }
    environ = dict(os.environ, **conf, CREDENTIALS_DIRECTORY=creds)
    argv = H.substitute(H.exec_line(u, "ExecStart"), environ)
    assert argv[:2] == ["/bin/sh", "-ec"], argv
    setup = ('mount --make-rshared / && mount -t tmpfs -o mode=0755 tmpfs '
             '"$1" && mount -o remount,bind,ro / && cd "$1" && shift && '
             'exec "$@"')
    r = run(["unshare", "--mount", "--propagation", "slave", "sh", "-c",
             setup, "sh", privtmp, *argv], env=environ)
    try:
        assert r.returncode == 0, text(r.stderr)
        out = text(r.stdout)
        tok, _, rest = out.partition("Name:")
        H.verify_jwt(tok, env.keys.public_pem)
        uid = re.search(r"^Uid:\s+(\d+)", rest, re.M).group(1)
        assert int(uid) == 65534, rest
        assert "CREDENTIALS_DIRECTORY" not in rest
        assert not [m for m in H.all_mounts() if m.startswith(env.tmp)]
        pid, _, _ = daemon(env)
        assert H.mounted_in(pid, conf["SAFS_MOUNTPOINT"])
    finally:
        for pid in H.daemon_pids(env.tmp):
            os.kill(pid, signal.SIGTERM)
        H.wait_daemons_gone(env.tmp)


# --- Kubernetes -----------------------------------------------------------

def test_pod_example_structure():
    """pod.yaml: a native sidecar (initContainers, restartPolicy: Always)
    running safs -f (the image's entrypoint) privileged, with /dev/fuse,
    mounting into an emptyDir with Bidirectional propagation, probes that
    read the token, a preStop unmount; the app reads the same volume with
    HostToContainer; the passphrase is a file of a Secret volume."""
    pod = H.pod()
    assert pod["apiVersion"] == "v1" and pod["kind"] == "Pod"
    spec = pod["spec"]
    vols = {v["name"]: v for v in spec["volumes"]}
    side, = spec["initContainers"]
    app, = spec["containers"]
    assert side["restartPolicy"] == "Always"
    sc = side["securityContext"]
    assert sc["privileged"] is True and sc.get("runAsUser") == 0
    assert "SYS_ADMIN" in sc["capabilities"]["add"]
    assert "allowPrivilegeEscalation" not in sc   # invalid with privileged

    args = side["args"]
    assert args[0] == "-o" and len(args) == 4, args
    o = args[1].split(",")
    mounts = {m["mountPath"]: m for m in side["volumeMounts"]}
    target = args[3]
    bid = mounts[target]
    assert bid["mountPropagation"] == "Bidirectional"
    assert "emptyDir" in vols[bid["name"]]
    pf = [x for x in o if x.startswith("passfile=")]
    assert len(pf) == 1
    pdir = os.path.dirname(pf[0][len("passfile="):])
    assert "secret" in vols[mounts[pdir]["name"]], mounts[pdir]
    assert mounts[pdir].get("readOnly") is True
    sdir = os.path.dirname(args[2])
    assert "secret" in vols[mounts[sdir]["name"]]
    assert "watch" in o and "auto_unmount" in o and "allow_other" in o
    fuse = mounts["/dev/fuse"]
    assert vols[fuse["name"]]["hostPath"] == {"path": "/dev/fuse",
                                             "type": "CharDevice"}
    token = os.path.join(target, "token")
    for probe in ("startupProbe", "readinessProbe"):
        cmd = side[probe]["exec"]["command"]
        assert cmd[-1] == token, (probe, cmd)
    pre = side["lifecycle"]["preStop"]["exec"]["command"]
    # Lazy: a reader that is still busy in the volume cannot fail the
    # unmount (EBUSY); it keeps its open files until it closes them.
    assert pre in (["fusermount3", "-u", "-z", target],
                   ["umount", "-l", target]), pre

    am = {m["mountPath"]: m for m in app["volumeMounts"]}
    assert am["/var/run/autoql"]["name"] == bid["name"]
    assert am["/var/run/autoql"]["mountPropagation"] == "HostToContainer"
    assert target == "/var/run/autoql"
    asc = app["securityContext"]
    assert asc["runAsNonRoot"] is True and asc["allowPrivilegeEscalation"] \
        is False and not asc.get("privileged")
    assert "uid=%d" % asc["runAsUser"] in o
    assert "gid=%d" % asc["runAsGroup"] in o
    docker = H.read(H.DOCKERFILE)
    assert 'ENTRYPOINT ["safs", "-f"]' in docker
    assert side["image"].startswith("safs:")


def test_sidecar_mount_propagation(env):
    """The Pod reproduced with mount namespaces. The node's emptyDir is a
    shared mount; the application (uid 1000, the app container's user) is
    started first in its own namespace whose mounts are slaves
    (HostToContainer), and sees no token. The sidecar, in another namespace
    that keeps the shared peer group (Bidirectional), runs safs -f with
    pod.yaml's arguments, passphrase and source being Secret-volume
    symlinks into ..data. Its startup and readiness probes pass once
    mounted; the application then reads a valid JWT. A Secret update
    (..data swap) reaches the application (watch); the preStop command
    unmounts, and the application no longer sees the token."""
    pod = H.pod()
    side = pod["spec"]["initContainers"][0]
    appc = pod["spec"]["containers"][0]
    target = side["args"][3]

    node = env.path("node")
    os.makedirs(node, 0o755)
    os.chmod(node, 0o755)
    vol = os.path.join(node, "autoql")
    pass_vol = H.SecretVolume(env.path("secret-pass"),
                              {"passphrase": (PASSPHRASE + "\n").encode()})
    src_plain, _ = env.sa_json("sa1.json")
    sa1 = H.read(env.encrypt(src_plain, env.path("sa1.enc")), "rb")
    src_vol = H.SecretVolume(env.path("secret-source"), {"sa.enc": sa1})

    def place(a):
        return a.replace("/etc/safs-pass", pass_vol.path).replace(
            "/etc/safs-source", src_vol.path).replace(target, vol)
    args = [place(a) for a in side["args"]]
    assert os.path.islink(args[2])

    with H.shared_dir(vol):
        os.chmod(vol, 0o755)
        app = H.App(node, "autoql", appc["securityContext"]["runAsUser"],
                    appc["securityContext"]["runAsGroup"])
        sidecar = None
        try:
            assert app.uid == 1000 and app.ns != H.mnt_ns()
            assert any(t.startswith("master:") for t in
                       H.peer_tags(vol, "/proc/%d/mountinfo" % app.pid))
            assert app.ask("exists") == ["exists", "False"]

            sidecar = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "unchanged",
                 SAFS, "-f", *args], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
            env.procs.append(sidecar)
            env.mnts.append(vol)

            def probe(name):
                cmd = [place(c) for c in side[name]["exec"]["command"]]
                return H.nsenter(sidecar.pid, *cmd).returncode == 0
            wait_for(lambda: sidecar.poll() is None and
                     probe("startupProbe"), 30, "the startup probe")
            assert probe("readinessProbe")
            assert H.mnt_ns(sidecar.pid) not in (H.mnt_ns(), app.ns)
            assert is_mounted(vol)

            word, tok = app.ask("wait-token")
            assert word == "token", (word, tok)
            H.verify_jwt(tok, env.keys.public_pem)
            assert app.ask("read", "client_id") == \
                ["read", conftest.service_account("")["client_id"]]

            new_plain, _ = env.sa_json("sa2.json",
                                       client_id="424242424242424242")
            sa2 = H.read(env.encrypt(new_plain, env.path("sa2.enc")), "rb")
            src_vol.update({"sa.enc": sa2})
            wait_for(lambda: app.ask("read", "client_id") ==
                     ["read", "424242424242424242"], 30,
                     "the rotated Secret to reach the application")

            pre = [place(c) for c in
                   side["lifecycle"]["preStop"]["exec"]["command"]]
            r = H.nsenter(sidecar.pid, *pre)
            assert r.returncode == 0, text(r.stderr)
            assert app.ask("wait-gone") == ["gone"]
            assert not is_mounted(vol)
            sidecar.wait(timeout=20)
            assert sidecar.returncode == 0
            err = text(sidecar.stderr.read())
            assert not unexpected_lines(err), err
        finally:
            app.close()
            if sidecar is not None and sidecar.poll() is None:
                sidecar.terminate()
                sidecar.wait(timeout=20)


def dockerfile_stages():
    stages = []
    for line in re.sub(r"\\\n", " ", H.read(H.DOCKERFILE)).splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        word, _, rest = s.partition(" ")
        if word == "FROM":
            stages.append({"from": rest, "lines": []})
        else:
            stages[-1]["lines"].append((word, rest))
    return stages


def apt_packages(run_line):
    m = re.search(r"apt-get install (.*?)(?:&&|$)", run_line)
    assert m, run_line
    return [w for w in m.group(1).split() if not w.startswith("-")]


def test_dockerfile(tmp_path):
    """The image: two stages on debian:bookworm-slim; every package they
    install exists in Debian (this machine's bookworm archive); the runtime
    stage provides every shared library safs links against and fusermount3;
    the files the build stage copies exist; its cmake commands build and
    stage-install safs, mount.safs and safs.8 (run here for real)."""
    build, rt = dockerfile_stages()
    assert build["from"] == "debian:bookworm-slim AS build"
    assert rt["from"] == "debian:bookworm-slim"
    pk = {}
    for name, st in (("build", build), ("runtime", rt)):
        runs = [r for w, r in st["lines"] if w == "RUN" and "apt-get" in r]
        assert len(runs) == 1, runs
        pk[name] = apt_packages(runs[0])
    for p in pk["build"] + pk["runtime"]:
        r = run(["apt-cache", "show", "--no-all-versions", p])
        assert r.returncode == 0 and \
            re.search(r"^Package: %s$" % re.escape(p), text(r.stdout),
                      re.M), "no Debian package %s" % p
    for need in ("cmake", "gcc", "pkg-config", "libfuse3-dev", "libssl-dev",
                 "libcjson-dev"):
        assert need in pk["build"], need
    assert "fuse3" in pk["runtime"]
    copies = [r for w, r in rt["lines"] if w == "COPY"]
    assert copies == ["--from=build /staging/usr/local/ /usr/local/"]
    assert ("ENTRYPOINT", '["safs", "-f"]') in rt["lines"]
    assert ("USER", "root") in rt["lines"]
    for w, r in build["lines"]:
        if w == "COPY":
            srcs = r.split()[:-1]
            for s in srcs:
                assert os.path.exists(os.path.join(SOURCE_DIR, s)), s

    cmds = [r for w, r in build["lines"] if w == "RUN" and "cmake -S" in r]
    assert len(cmds) == 1
    src, bld, stage = (SOURCE_DIR, str(tmp_path / "build"),
                       str(tmp_path / "staging"))
    script = cmds[0].replace("-S /src", "-S " + src).replace(
        "/build", bld).replace("/staging", stage)
    r = run(["sh", "-ec", script], timeout=600)
    assert r.returncode == 0, text(r.stderr)[-3000:]
    for rel in ("usr/local/bin/safs", "usr/local/sbin/mount.safs",
                "usr/local/share/man/man8/safs.8"):
        assert os.path.isfile(os.path.join(stage, rel)), rel
    r = run([os.path.join(stage, "usr/local/bin/safs"), "--version"])
    assert r.returncode == 0
    # Runtime: the packages of the libraries safs needs, and fusermount3.
    r = run(["ldd", os.path.join(stage, "usr/local/bin/safs")],
            check=True)
    libs = re.findall(r"=> (/\S+)", text(r.stdout))
    for lib in libs:
        real = os.path.realpath(lib)
        q = run(["dpkg", "-S", real])
        if q.returncode != 0:
            q = run(["dpkg", "-S", lib])
        assert q.returncode == 0, lib
        pkg = text(q.stdout).split(":")[0]
        assert pkg in pk["runtime"] or pkg == "libc6", (lib, pkg)


# --- the man page and the guide ---------------------------------------------

def test_man_page_renders_cleanly():
    """man -l renders safs(8) at 80 columns with no warning (man
    --warnings and groff -ww), every section the issue lists present, no
    line wider than the page."""
    rc, page, err = H.render_man()
    assert rc == 0 and err == "", err
    r = run(["groff", "-man", "-ww", "-z", H.MAN])
    assert r.returncode == 0 and text(r.stderr) == "", text(r.stderr)
    sections = H.man_sections(page)
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENTRIES",
              "CONFIGURATION FILE", "TOKENS", "SIGNALS", "EXIT STATUS",
              "ENVIRONMENT", "FILES", "EXAMPLES", "SECURITY", "SEE ALSO"):
        assert s in sections, s
    wide = [l for l in page.splitlines() if len(l) > 80]
    assert not wide, wide
    assert "safs - mount an encrypted service-account file" in page
    env_ = sections["ENVIRONMENT"]
    assert "CREDENTIALS_DIRECTORY" in env_ and "NOTIFY_SOCKET" in env_
    for word in ("READY=1", "RELOADING=1", "STOPPING=1"):
        assert word in env_, word
    # The brief's configuration example.
    conf = sections["CONFIGURATION FILE"]
    assert '"reporting": {"user_id": "svc-bi"' in conf
    assert '"claims": {"acl_id": "42"}' in conf


def test_man_page_documents_every_option():
    """Every option of safs --help, and every option src/options.c
    accepts (its own, FUSE's, the ignored mount(8) vocabulary, the refused
    secret ones), appears in safs(8)'s OPTIONS."""
    rc, page, _ = H.render_man()
    options = H.unhyphen(H.man_sections(page)["OPTIONS"])
    for n in H.help_options(H.help_text()):
        assert re.search(r"(^|[\s,(\[|])%s([=\s,.:)\]|]|$)" % re.escape(n),
                         options), n
    o = H.options_c_names()
    for kind in ("own", "fuse_flags", "fuse_values", "ignored", "secret"):
        for n in o[kind]:
            assert re.search(r"(^|[\s,(])%s([=\s,.:)]|$)" % re.escape(n),
                             options), (kind, n)
    assert "x-name" in options and "comment=" in options


def test_guide_examples_are_the_tested_files():
    """docs/operator-guide.md shows the fstab line and the unit settings
    file these tests use, byte for byte; every mount-helpers/ file it
    names exists; the exit codes it lists are safs's."""
    g = H.read(H.GUIDE)
    line = [l for l in H.read(H.FSTAB_EXAMPLE).splitlines()
            if l and not l.startswith("#")][0]
    assert line in g
    conf = [l for l in H.read(H.CONF_EXAMPLE).splitlines()
            if l and not l.startswith("#")]
    assert "\n".join(conf) in g
    for ref in set(re.findall(r"mount-helpers/[\w./@-]+\w", g)):
        assert os.path.exists(os.path.join(SOURCE_DIR, ref)), ref
    for ref in ("mount-helpers/systemd/safs@.service",
                "mount-helpers/systemd/safs-app@.service",
                "mount-helpers/kubernetes/pod.yaml",
                "mount-helpers/container/Dockerfile",
                "mount-helpers/systemd/fstab.example"):
        assert ref in g, ref
    for code in range(7):
        assert re.search(r"^\| %d \|" % code, g, re.M), code


def test_guide_troubleshooting_lists_every_message():
    """Each message safs can print (the err_set() formats of src/, the
    fail()/usage_error()/log_error()/log_warn() of fs/) has a row in the
    guide's troubleshooting table, found by its longest constant part."""
    g = H.read(H.GUIDE)
    table = g[g.index("## Troubleshooting"):]
    table = table.replace("\\|", "|")
    missing = []
    for path, fmt in H.c_messages():
        parts = [p for p in H.literal_parts(fmt.replace("\\\"", "\""))
                 if len(p) >= 6]
        if not parts:
            continue
        if parts[0] not in table:
            missing.append("%s: %s" % (path, fmt))
    assert not missing, "messages without a troubleshooting row:\n" + \
        "\n".join(sorted(set(missing)))
