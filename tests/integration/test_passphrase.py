# SPDX-License-Identifier: MIT
"""Issue 2, point 4: passphrase sources, never argv: passfile=, passfd=,
extpass=, $CREDENTIALS_DIRECTORY/safs.passphrase, a no-echo prompt on
/dev/tty, else a clear error naming passfile=."""
import fcntl
import os
import select
import signal
import subprocess
import termios
import time

import pytest

from conftest import is_mounted, wait_for
from helpers_core import (CLIENT_EMAIL, EXIT_DECRYPT, SECRET,
                          assert_clean_failure, assert_not_in_proc,
                          daemon_ok, encrypt_bytes, env_without_credentials,
                          read, sa_text, script, secret_source, stop_ok,
                          write_passfile)


def check_mounted(p, text):
    assert read(os.path.join(p.mnt, "credentials.json")) == text
    assert read(os.path.join(p.mnt, "client_email")) == CLIENT_EMAIL.encode()
    assert_not_in_proc(p.pid, SECRET)


# passfile=

@pytest.mark.parametrize("content", [
    SECRET + "\n",
    SECRET,
    SECRET + "\r\n",
    SECRET + "\r\nsecond line\n",
    SECRET + "\nsecond line\n",
    SECRET + "\n\n\n",
], ids=["lf", "no-newline", "crlf", "crlf-then-more", "lf-then-more",
        "blank-lines-after"])
def test_passfile_first_line(env, content):
    src, text = secret_source(env)
    pf = write_passfile(env, "p", content)
    p = env.mount(src, opts="passfile=" + pf, passfile=False)
    check_mounted(p, text)
    stop_ok(env, p)


@pytest.mark.parametrize("content", [
    "wrong\n" + SECRET + "\n",      # only the first line counts
    SECRET + " \n",                 # nothing but the line end is stripped
    " " + SECRET + "\n",
], ids=["second-line", "trailing-space", "leading-space"])
def test_passfile_only_first_line_exactly(env, content):
    src, _ = secret_source(env)
    pf = write_passfile(env, "p", content)
    mnt = env.mountpoint()
    r = env.safs("-f", "-o", "passfile=" + pf, src, mnt)
    assert_clean_failure(env, r, EXIT_DECRYPT, ["passphrase"], mnt=mnt)


@pytest.mark.parametrize("content", ["", "\n", "\r\n"],
                         ids=["empty", "lf", "crlf"])
def test_passfile_empty(env, content):
    src, _ = secret_source(env)
    pf = write_passfile(env, "p", content)
    mnt = env.mountpoint()
    r = env.safs("-f", "-o", "passfile=" + pf, src, mnt)
    assert_clean_failure(env, r, EXIT_DECRYPT, ["empty", pf], mnt=mnt)


@pytest.mark.parametrize("n,ok", [(1023, True), (2049, False)],
                         ids=["1023", "2049"])
def test_passphrase_length_cap(env, n, ok):
    # A long passphrase works (1023 bytes: the most `openssl enc -pass
    # file:` reads); past the 2048-byte cap (gocryptfs's) it is refused
    # as a mistake, with a message saying so.
    long_pass = ("Lp" * n)[:n]
    src = encrypt_bytes(env, "sa.enc", sa_text(env), passphrase=long_pass)
    pf = write_passfile(env, "p", long_pass + "\n")
    mnt = env.mountpoint()
    if ok:
        p = env.mount(src, mnt=mnt, opts="passfile=" + pf, passfile=False)
        stop_ok(env, p)
    else:
        r = env.safs("-f", "-o", "passfile=" + pf, src, mnt)
        assert_clean_failure(env, r, EXIT_DECRYPT, ["longer"], [long_pass],
                             mnt=mnt)


def test_passfile_missing(env):
    src, _ = secret_source(env)
    pf = env.path("no-such-passfile")
    mnt = env.mountpoint()
    r = env.safs("-f", "-o", "passfile=" + pf, src, mnt)
    assert_clean_failure(env, r, EXIT_DECRYPT, ["passfile", pf], mnt=mnt)


def test_passfile_relative(env):
    src, text = secret_source(env)
    write_passfile(env, "rel.pass", SECRET + "\n")
    p = env.mount(src, opts="passfile=rel.pass", passfile=False,
                  preexec_fn=lambda: os.chdir(env.tmp))
    check_mounted(p, text)
    stop_ok(env, p)


# passfd=

@pytest.mark.parametrize("content", [SECRET + "\n", SECRET,
                                     SECRET + "\r\nmore\n"],
                         ids=["lf", "eof", "crlf-more"])
def test_passfd_pipe(env, content):
    src, text = secret_source(env)
    r, w = os.pipe()
    os.write(w, content.encode())
    os.close(w)
    try:
        p = env.mount(src, opts="passfd=%d" % r, passfile=False,
                      pass_fds=(r,))
    finally:
        os.close(r)
    check_mounted(p, text)
    stop_ok(env, p)


def test_passfd_pipe_written_after_start(env):
    # The passphrase arrives after safs started: it waits for it, and
    # the running process never has it in argv or environ.
    src, text = secret_source(env)
    r, w = os.pipe()
    p = env.mount(src, opts="passfd=%d" % r, passfile=False, pass_fds=(r,),
                  wait=False)
    os.close(r)
    try:
        assert_not_in_proc(p.pid, SECRET)
        assert not is_mounted(p.mnt)
        os.write(w, (SECRET + "\n").encode())
    finally:
        os.close(w)
    wait_for(lambda: is_mounted(p.mnt) or p.poll() is not None, 30,
             "the mount")
    assert p.poll() is None, p.stderr.read()
    check_mounted(p, text)
    stop_ok(env, p)


def test_passfd_file(env):
    src, text = secret_source(env)
    pf = write_passfile(env, "p", SECRET + "\n")
    fd = os.open(pf, os.O_RDONLY)
    try:
        p = env.mount(src, opts="passfd=%d" % fd, passfile=False,
                      pass_fds=(fd,))
    finally:
        os.close(fd)
    check_mounted(p, text)
    stop_ok(env, p)


def test_passfd_not_open(env):
    src, _ = secret_source(env)
    mnt = env.mountpoint()
    r = env.safs("-f", "-o", "passfd=57", src, mnt)
    assert_clean_failure(env, r, EXIT_DECRYPT, ["passfd=57"], mnt=mnt)


def test_passfd_wrong(env):
    src, _ = secret_source(env)
    r, w = os.pipe()
    os.write(w, b"Wrong-distinctive-9911\n")
    os.close(w)
    mnt = env.mountpoint()
    try:
        res = env.safs("-f", "-o", "passfd=%d" % r, src, mnt, pass_fds=(r,))
    finally:
        os.close(r)
    assert_clean_failure(env, res, EXIT_DECRYPT, ["passphrase"],
                         ["Wrong-distinctive-9911"], mnt=mnt)


# extpass=

def test_extpass_script(env):
    src, text = secret_source(env)
    prog = script(env, "askpass", "printf '%%s\\n' '%s'\n" % SECRET)
    p = env.mount(src, opts="extpass=" + prog, passfile=False)
    check_mounted(p, text)
    stop_ok(env, p)


def test_extpass_first_line_only(env):
    src, text = secret_source(env)
    prog = script(env, "askpass",
                  "printf '%%s\\r\\nsecond line\\n' '%s'\n" % SECRET)
    p = env.mount(src, opts="extpass=" + prog, passfile=False)
    check_mounted(p, text)
    stop_ok(env, p)


def test_extpass_arguments_split_on_spaces_no_shell(env):
    # "PROGRAM ARG ARG": split on spaces, run without a shell, so the
    # shell metacharacters reach the program as they are.
    src, text = secret_source(env)
    pf = write_passfile(env, "p", SECRET + "\n")
    prog = script(env, "askpass",
                  '[ "$1" = "a;b" ] && [ "$2" = \'$HOME\' ] || exit 9\n'
                  'exec cat "$3"\n')
    p = env.mount(src, opts="extpass=%s a;b $HOME %s" % (prog, pf),
                  passfile=False)
    check_mounted(p, text)
    stop_ok(env, p)


def test_extpass_program_fails(env):
    src, _ = secret_source(env)
    prog = script(env, "askpass", "printf '%%s\\n' '%s'\nexit 3\n" % SECRET)
    mnt = env.mountpoint()
    r = env.safs("-f", "-o", "extpass=" + prog, src, mnt)
    line = assert_clean_failure(env, r, EXIT_DECRYPT, ["extpass"], mnt=mnt)
    assert "3" in line


def test_extpass_program_prints_nothing(env):
    src, _ = secret_source(env)
    prog = script(env, "askpass", "exit 0\n")
    mnt = env.mountpoint()
    r = env.safs("-f", "-o", "extpass=" + prog, src, mnt)
    assert_clean_failure(env, r, EXIT_DECRYPT, ["empty"], mnt=mnt)


def test_extpass_program_missing(env):
    src, _ = secret_source(env)
    prog = env.path("no-such-program")
    mnt = env.mountpoint()
    r = env.safs("-f", "-o", "extpass=" + prog, src, mnt)
    assert_clean_failure(env, r, EXIT_DECRYPT, ["extpass", prog], mnt=mnt)


def test_extpass_wrong_passphrase(env):
    src, _ = secret_source(env)
    prog = script(env, "askpass", "echo Wrong-distinctive-5150\n")
    mnt = env.mountpoint()
    r = env.safs("-f", "-o", "extpass=" + prog, src, mnt)
    assert_clean_failure(env, r, EXIT_DECRYPT, ["passphrase"],
                         ["Wrong-distinctive-5150"], mnt=mnt)


# $CREDENTIALS_DIRECTORY/safs.passphrase

def credentials_dir(env, content):
    d = env.path("credentials")
    os.mkdir(d, 0o700)
    env.write(os.path.join(d, "safs.passphrase"), content, 0o400)
    return d


@pytest.mark.parametrize("foreground", [True, False],
                         ids=["foreground", "daemon"])
def test_credentials_directory(env, foreground):
    src, text = secret_source(env)
    d = credentials_dir(env, SECRET + "\n")
    p = env.mount(src, passfile=False, foreground=foreground,
                  env=env_without_credentials(CREDENTIALS_DIRECTORY=d))
    assert read(os.path.join(p.mnt, "credentials.json")) == text
    if foreground:
        assert_not_in_proc(p.pid, SECRET)
        stop_ok(env, p)
    else:
        daemon_ok(env, p)


def test_explicit_source_beats_credentials_directory(env):
    src, text = secret_source(env)
    d = credentials_dir(env, "Wrong-distinctive-2718\n")
    pf = write_passfile(env, "p", SECRET + "\n")
    p = env.mount(src, opts="passfile=" + pf, passfile=False,
                  env=env_without_credentials(CREDENTIALS_DIRECTORY=d))
    check_mounted(p, text)
    stop_ok(env, p)


def test_credentials_directory_wrong(env):
    src, _ = secret_source(env)
    d = credentials_dir(env, "Wrong-distinctive-2718\n")
    mnt = env.mountpoint()
    with open(os.devnull) as devnull:
        r = env.safs("-f", src, mnt, stdin=devnull, start_new_session=True,
                     env=env_without_credentials(CREDENTIALS_DIRECTORY=d))
    assert_clean_failure(env, r, EXIT_DECRYPT, ["passphrase"],
                         ["Wrong-distinctive-2718"], mnt=mnt)


# No source at all, no terminal.

@pytest.mark.parametrize("foreground", [True, False],
                         ids=["foreground", "daemon"])
def test_no_source_no_tty(env, foreground):
    src, _ = secret_source(env)
    mnt = env.mountpoint()
    with open(os.devnull) as devnull:
        r = env.safs(*(["-f"] if foreground else []), src, mnt,
                     stdin=devnull, start_new_session=True,
                     env=env_without_credentials())
    assert_clean_failure(env, r, EXIT_DECRYPT, ["passfile="], mnt=mnt)


def test_credentials_directory_without_the_file_falls_through(env):
    # The variable alone is not a source: with no safs.passphrase in it
    # and no terminal, the error is the no-source one.
    src, _ = secret_source(env)
    d = env.path("credentials")
    os.mkdir(d)
    mnt = env.mountpoint()
    with open(os.devnull) as devnull:
        r = env.safs("-f", src, mnt, stdin=devnull, start_new_session=True,
                     env=env_without_credentials(CREDENTIALS_DIRECTORY=d))
    assert_clean_failure(env, r, EXIT_DECRYPT, ["passfile="], mnt=mnt)


# The no-echo prompt on /dev/tty.

def read_until(fd, needle, timeout=30):
    """Read the pty master until needle shows up; returns all read."""
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out waiting for %r; got %r" %
                                 (needle, buf))
        r, _, _ = select.select([fd], [], [], min(left, 0.5))
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def drain_pty(fd):
    out = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def start_on_tty(env, src):
    """safs -f with a pty as its controlling terminal and no other
    passphrase source. Returns (popen, master fd, slave fd)."""
    master, slave = os.openpty()

    def ctty():
        # start a session, then take the pty as its controlling tty
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    p = env.mount(src, passfile=False, preexec_fn=ctty, wait=False,
                  env=env_without_credentials())
    return p, master, slave


@pytest.mark.parametrize("line_end", ["\n", "\r"], ids=["lf", "cr"])
def test_tty_prompt_no_echo(env, line_end):
    src, text = secret_source(env)
    p, master, slave = start_on_tty(env, src)
    try:
        seen = read_until(master, b"assphrase")
        # Echo is off while the prompt waits.
        lflag = termios.tcgetattr(slave)[3]
        assert not lflag & termios.ECHO
        os.write(master, (SECRET + line_end).encode())
        wait_for(lambda: is_mounted(p.mnt) or p.poll() is not None, 30,
                 "the mount")
        assert p.poll() is None, p.stderr.read().decode()
        seen += drain_pty(master)
        assert SECRET.encode() not in seen, seen
        # The terminal is given back as it was.
        assert termios.tcgetattr(slave)[3] & termios.ECHO
        check_mounted(p, text)
        err = stop_ok(env, p)
        assert SECRET not in err
    finally:
        os.close(master)
        os.close(slave)


def test_tty_prompt_wrong_passphrase(env):
    src, _ = secret_source(env)
    p, master, slave = start_on_tty(env, src)
    wrong = "Wrong-distinctive-1618"
    try:
        seen = read_until(master, b"assphrase")
        os.write(master, (wrong + "\n").encode())
        p.wait(timeout=60)
        seen += drain_pty(master)
        err = p.stderr.read().decode()
        assert p.returncode == EXIT_DECRYPT, err
        assert len(err.splitlines()) == 1 and "passphrase" in err, err
        assert wrong not in err and wrong.encode() not in seen
        assert SECRET not in err
        assert not is_mounted(p.mnt)
        assert termios.tcgetattr(slave)[3] & termios.ECHO
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_tty_prompt_interrupted_restores_terminal(env, how):
    # ^C typed at the prompt (the terminal sends SIGINT), or a SIGTERM:
    # safs stops waiting for the passphrase, nothing is mounted, and the
    # terminal's echo is back on.
    src, _ = secret_source(env)
    p, master, slave = start_on_tty(env, src)
    try:
        read_until(master, b"assphrase")
        if how == "ctrl-c":
            os.write(master, b"\x03")
        else:
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError("safs still waits for the passphrase "
                                 "30 s after %s at the prompt" % how)
        assert p.returncode != 0
        assert not is_mounted(p.mnt)
        assert termios.tcgetattr(slave)[3] & termios.ECHO
    finally:
        os.close(master)
        os.close(slave)
