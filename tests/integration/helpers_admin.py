# SPDX-License-Identifier: MIT
"""Helpers for test_admin.py (issue 5): mount(8) and fstab, systemd units,
the Kubernetes sidecar, the man page and the operator guide.

Nothing here needs a container engine or a running systemd: mount
namespaces come from unshare(1)/nsenter(1), units are checked with
`systemd-analyze verify` (which works offline) and their commands are run
as systemd would run them, and a traced run checks safs against the
unit's sandbox.
"""
import contextlib
import fcntl
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys

import conftest
from conftest import SAFS, SOURCE_DIR, run, wait_for

HELPERS = os.path.join(SOURCE_DIR, "mount-helpers")
MOUNT_SAFS = os.path.join(HELPERS, "mount.safs")
SYSTEMD_DIR = os.path.join(HELPERS, "systemd")
UNIT = os.path.join(SYSTEMD_DIR, "safs@.service")
APP_UNIT = os.path.join(SYSTEMD_DIR, "safs-app@.service")
FSTAB_EXAMPLE = os.path.join(SYSTEMD_DIR, "fstab.example")
CONF_EXAMPLE = os.path.join(SYSTEMD_DIR, "autoql.conf.example")
POD = os.path.join(HELPERS, "kubernetes", "pod.yaml")
DOCKERFILE = os.path.join(HELPERS, "container", "Dockerfile")
MAN = os.path.join(SOURCE_DIR, "docs", "safs.8")
GUIDE = os.path.join(SOURCE_DIR, "docs", "operator-guide.md")

AUD = "acme.chata.io"
CLIENT_EMAIL = conftest.service_account("")["client_email"]
KID = conftest.service_account("")["private_key_id"]

# mount.fuse3's PATH (fuse3 3.14, util/mount.fuse.c) and where libmount
# looks for mount.TYPE helpers (FS_SEARCH_PATH).
MOUNT_FUSE3_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
                   "/sbin:/bin"
HELPER_DIR = "/sbin"
PREFIX = "/usr/local"

# Unit settings that give a unit its own mount namespace (systemd.exec(5):
# PrivateMounts=, MountFlags= and the settings each says are "implemented
# via file system namespacing"; systemd's exec_needs_mount_namespace()).
MOUNT_NS_SETTINGS = [
    "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
    "PrivateMounts", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths",
    "ExecPaths", "NoExecPaths", "BindPaths", "BindReadOnlyPaths",
    "TemporaryFileSystem", "RootDirectory", "RootImage", "MountImages",
    "ExtensionImages", "ExtensionDirectories", "ProtectKernelTunables",
    "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
    "ProtectProc", "ProcSubset", "PrivateIPC", "IPCNamespacePath",
    "PrivateNetwork", "NetworkNamespacePath", "LogNamespace",
    "DynamicUser", "StateDirectory", "CacheDirectory", "LogsDirectory",
    "MountAPIVFS", "PrivateUsers",
]


def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


# --- JWT ---------------------------------------------------------------

def verify_jwt(tok, public_pem, audience=AUD):
    """Header and claims of an RS256 JWT signed by the test key."""
    import jwt
    if isinstance(tok, bytes):
        tok = tok.decode()
    assert tok.count(".") == 2 and tok == tok.strip(), repr(tok[:80])
    head = jwt.get_unverified_header(tok)
    claims = jwt.decode(tok, public_pem, algorithms=["RS256"],
                        audience=audience)
    assert head["alg"] == "RS256" and head["kid"] == KID, head
    assert claims["iss"] == claims["sub"] == CLIENT_EMAIL, claims
    return head, claims


# --- processes, mounts ---------------------------------------------------

def daemon_pids(under):
    """safs daemons (any path of the binary) naming a path under `under`."""
    return conftest.safs_pids(under)


def wait_daemons_gone(under, timeout=10):
    wait_for(lambda: not daemon_pids(under), timeout,
             "safs daemons under %s to exit" % under)


def mount_entry(path, mountinfo="/proc/self/mountinfo"):
    """(mount options, optional fields, fstype, source, super options) of
    the topmost mount at path in a mountinfo file, or None."""
    path = os.path.realpath(path)
    found = None
    with open(mountinfo) as f:
        for line in f:
            left, _, right = line.rstrip("\n").partition(" - ")
            fields = left.split(" ")
            if fields[4].replace("\\040", " ") != path:
                continue
            fstype, source, sopts = right.split(" ", 2)
            found = (fields[5].split(","), fields[6:], fstype, source,
                     sopts.split(","))
    return found


def mounted_in(pid, path):
    """Whether a FUSE file system is mounted at path in pid's namespace."""
    e = mount_entry(path, "/proc/%d/mountinfo" % pid)
    return e is not None and e[2].startswith("fuse")


def peer_tags(path, mountinfo="/proc/self/mountinfo"):
    """The propagation tags (shared:N, master:N) of the mount at path."""
    e = mount_entry(path, mountinfo)
    assert e is not None, "%s is no mountpoint in %s" % (path, mountinfo)
    return [t for t in e[1] if ":" in t]


@contextlib.contextmanager
def shared_dir(path):
    """path bind-mounted onto itself and made shared: what the kubelet
    does for a Bidirectional volume (and what any shared mount is)."""
    os.makedirs(path, exist_ok=True)
    run(["mount", "--bind", path, path], check=True)
    try:
        run(["mount", "--make-shared", path], check=True)
        yield path
    finally:
        # Anything left below first, then the bind itself.
        for _ in range(10):
            below = [m for m in all_mounts()
                     if m.startswith(os.path.realpath(path) + "/")]
            for m in sorted(below, key=len, reverse=True):
                run(["umount", "-l", m])
            if not below:
                break
        run(["umount", "-l", path])


def all_mounts():
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            out.append(line.split(" ")[4].replace("\\040", " "))
    return out


UTAB = "/run/mount/utab"


def utab_entries(under):
    """libmount's userspace mount table lines for targets under `under`."""
    under = os.path.realpath(under)
    try:
        lines = read(UTAB).splitlines()
    except FileNotFoundError:
        return []
    return [l for l in lines if re.search(r"\bTARGET=%s(/|\s|$)" %
                                          re.escape(under), l)]


def clean_utab(under):
    """Drop utab lines of targets under `under` (a test that failed
    before its umount(8)), under libmount's own lock."""
    if not utab_entries(under):
        return
    with open(UTAB + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        keep = [l for l in read(UTAB).splitlines()
                if l not in utab_entries(under)]
        with open(UTAB, "w") as f:
            f.write("".join(l + "\n" for l in keep))


# --- the install ---------------------------------------------------------

class Install:
    """`cmake --install BUILD --prefix /usr/local`, recorded by its
    install_manifest.txt and undone: files it replaced are restored,
    directories it created removed. Also the /sbin/mount.safs link that
    mount(8) needs for a /usr/local install (docs/operator-guide.md)."""

    LOCK = "/run/lock/safs-test-install.lock"

    def __init__(self, build, tmp):
        self.build = build
        self.tmp = tmp
        self.backup = os.path.join(tmp, "backup")
        self.saved = {}
        self.files = []
        self.dirs = []
        self.link = os.path.join(HELPER_DIR, "mount.safs")
        self.manifest = os.path.join(build, "install_manifest.txt")
        self.had_manifest = os.path.exists(self.manifest)
        self.lockf = None

    def _save(self, path):
        if os.path.lexists(path) and path not in self.saved:
            dst = os.path.join(self.backup, path.lstrip("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.move(path, dst)
            self.saved[path] = dst

    def __enter__(self):
        os.makedirs(os.path.dirname(self.LOCK), exist_ok=True)
        self.lockf = open(self.LOCK, "a")
        fcntl.flock(self.lockf, fcntl.LOCK_EX)
        try:
            return self._install()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _install(self):
        # What would be installed: a staged install names every file.
        stage = os.path.join(self.tmp, "stage")
        r = run(["cmake", "--install", self.build, "--prefix", PREFIX],
                env=dict(os.environ, DESTDIR=stage))
        assert r.returncode == 0, text(r.stderr)
        targets = []
        for root, _, names in os.walk(stage):
            for n in names:
                targets.append(os.path.join(root, n)[len(stage):])
        for t in targets:
            d = os.path.dirname(t)
            while not os.path.isdir(d):
                self.dirs.append(d)
                d = os.path.dirname(d)
            self._save(t)
        self._save(self.link)
        r = run(["cmake", "--install", self.build, "--prefix", PREFIX])
        assert r.returncode == 0, text(r.stderr)
        self.files = read(self.manifest).split()
        assert sorted(self.files) == sorted(targets), (self.files, targets)
        os.symlink(os.path.join(PREFIX, "sbin", "mount.safs"), self.link)
        return self

    def __exit__(self, *exc):
        try:
            for f in self.files + [self.link]:
                if os.path.lexists(f):
                    os.unlink(f)
            for d in sorted(set(self.dirs), key=len, reverse=True):
                with contextlib.suppress(OSError):
                    os.rmdir(d)
            for path, dst in self.saved.items():
                shutil.move(dst, path)
            if not self.had_manifest:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.manifest)
        finally:
            fcntl.flock(self.lockf, fcntl.LOCK_UN)
            self.lockf.close()

    def path(self, rel):
        return os.path.join(PREFIX, rel)


# --- systemd -------------------------------------------------------------

def unit_settings(path):
    """A unit file as {section: [(key, value), ...]} (comments dropped,
    order and repeats kept)."""
    out = {}
    sec = None
    for line in read(path).splitlines():
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("[") and s.endswith("]"):
            sec = s[1:-1]
            out.setdefault(sec, [])
            continue
        k, _, v = s.partition("=")
        out[sec].append((k.strip(), v.strip()))
    return out


def setting(unit, key, section="Service"):
    """Every value of key in section, in order."""
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit, key, section="Service"):
    v = setting(unit, key, section)
    assert len(v) == 1, "%s= given %d times" % (key, len(v))
    return v[0]


def systemd_verify(*paths, cwd=None):
    """Run systemd-analyze verify; returns (rc, all output)."""
    r = run(["systemd-analyze", "verify", *paths], cwd=cwd)
    return r.returncode, text(r.stdout) + text(r.stderr)


def syscall_group(name, _cache={}):
    """The system calls of a systemd @group, expanded (nested groups too),
    as `systemd-analyze syscall-filter` lists them."""
    if not _cache:
        r = run(["systemd-analyze", "syscall-filter"], check=True)
        cur = None
        for line in text(r.stdout).splitlines():
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if not line.startswith(" "):
                cur = s
                _cache[cur] = []
            else:
                _cache[cur].append(s.split()[0])

    def expand(n, seen):
        if not n.startswith("@"):
            return {n}
        assert n in _cache, "unknown syscall group %s" % n
        out = set()
        for m in _cache[n]:
            if m not in seen:
                out |= expand(m, seen | {m})
        return out
    return expand(name, {name})


def allowed_syscalls(unit):
    """The allow-list of a unit's SystemCallFilter= lines."""
    allowed = set()
    for v in setting(unit, "SystemCallFilter"):
        deny = v.startswith("~")
        names = set()
        for n in v.lstrip("~").split():
            names |= syscall_group(n)
        if deny:
            allowed -= names
        else:
            allowed |= names
    return allowed


def exec_line(unit, key):
    """An Exec*= line split as systemd splits it: prefix characters
    dropped, ${VAR} kept for the caller to substitute."""
    v = one(unit, key)
    while v and v[0] in "-@:+!":
        v = v[1:]
    return shlex.split(v)


def substitute(argv, environ, mainpid=None):
    """systemd's variable expansion: ${VAR} is one word, $VAR splits on
    spaces, $$ is a literal $ (systemd.service(5), "Command lines")."""
    out = []
    for a in argv:
        if mainpid is not None:
            a = a.replace("$MAINPID", str(mainpid))
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", a)
        if m:
            out += environ.get(m.group(1), "").split()
            continue
        a = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                   lambda m: environ.get(m.group(1), ""), a)
        out.append(a.replace("$$", "$"))
    return out


def environment_file(path):
    """KEY=VALUE lines of an EnvironmentFile= (no quoting used here)."""
    env = {}
    for line in read(path).splitlines():
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        k, _, v = s.partition("=")
        env[k.strip()] = v.strip()
    return env


class NotifySocket:
    """The service manager's end of $NOTIFY_SOCKET: an AF_UNIX datagram
    socket, with the sender's credentials on each message (systemd checks
    NotifyAccess=main against them)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.msgs = []

    def recv(self, timeout=20):
        """(pid, {field: value}) of the next message."""
        self.sock.settimeout(timeout)
        data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = None
        for level, typ, d in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid = int.from_bytes(d[0:4], sys.byteorder)
        fields = dict(l.split("=", 1) for l in text(data).split("\n") if l)
        self.msgs.append((pid, fields))
        return pid, fields

    def close(self):
        self.sock.close()
        if not self.path.startswith("\0"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


# --- strace --------------------------------------------------------------

class Trace:
    """What a process tree did, from `strace -f -o FILE` output. With
    skip_execs=N, the first process's calls count only after its N-th
    successful execve: `strace setpriv CMD` (N=2: setpriv, then CMD) keeps
    setpriv's own calls out, while every other process (CMD's threads and
    children: setpriv forks none) counts whole."""

    LINE = re.compile(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()")
    EXEC = re.compile(r"^\d+\s+(?:<\.\.\. )?execve(?:at)?\b.*\) = 0$")

    def __init__(self, path, skip_execs=0):
        self.calls = set()
        self.lines = []
        first = None
        execs = 0
        for line in read(path).splitlines():
            m = self.LINE.match(line)
            if not m:
                continue
            pid = int(m.group(1))
            if first is None:
                first = pid
            if pid == first and execs < skip_execs:
                if self.EXEC.match(line):
                    execs += 1
                continue
            self.calls.add(m.group(2) or m.group(3))
            self.lines.append(line)
        self.started = execs == skip_execs

    def opened(self, prefix):
        """Paths under prefix the tree opened successfully."""
        out = set()
        for l in self.lines:
            m = re.search(r'\b(?:open|openat|openat2)\((?:AT_FDCWD, )?'
                          r'"([^"]+)".*\) = (\d+)', l)
            if m and m.group(1).startswith(prefix):
                out.add(m.group(1))
        return out

    def matching(self, pattern):
        return [l for l in self.lines if re.search(pattern, l)]


# --- Kubernetes ----------------------------------------------------------

class SecretVolume:
    """A directory laid out as the kubelet projects a Secret: the data in
    a timestamped directory, `..data` a symlink to it, and each key a
    symlink into `..data`; update() swaps `..data` atomically."""

    def __init__(self, path, files):
        self.path = path
        self.gen = 0
        os.makedirs(path, mode=0o755, exist_ok=True)
        self.update(files)
        for name in files:
            os.symlink(os.path.join("..data", name),
                       os.path.join(path, name))

    def update(self, files):
        self.gen += 1
        d = "..2026_12_04_00_00_%02d.%d" % (self.gen, os.getpid())
        full = os.path.join(self.path, d)
        os.mkdir(full, 0o755)
        for name, data in files.items():
            with open(os.path.join(full, name), "wb") as f:
                f.write(data)
            os.chmod(os.path.join(full, name), 0o400)
        tmp = os.path.join(self.path, "..data_tmp")
        os.symlink(d, tmp)
        os.rename(tmp, os.path.join(self.path, "..data"))


# The "application" of the sidecar test: started in its own mount
# namespace before anything is mounted, it answers commands on stdin.
APP = r"""
import os, sys, time
mnt = sys.argv[1]
def say(*a):
    print(*a, flush=True)
say("ns", os.stat("/proc/self/ns/mnt").st_ino, os.getuid())
for cmd in sys.stdin:
    cmd = cmd.split()
    if not cmd:
        continue
    deadline = time.monotonic() + 30
    if cmd[0] == "exists":
        say("exists", os.path.exists(os.path.join(mnt, "token")))
    elif cmd[0] == "wait-token":
        while True:
            try:
                with open(os.path.join(mnt, "token")) as f:
                    tok = f.read()
                if tok:
                    say("token", tok)
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                say("timeout")
                break
            time.sleep(0.02)
    elif cmd[0] == "read":
        try:
            with open(os.path.join(mnt, cmd[1])) as f:
                say("read", f.read())
        except OSError as e:
            say("error", e.errno)
    elif cmd[0] == "wait-gone":
        while os.path.exists(os.path.join(mnt, "token")):
            if time.monotonic() > deadline:
                say("timeout")
                break
            time.sleep(0.02)
        else:
            say("gone")
    elif cmd[0] == "quit":
        break
"""


class App:
    """A process in a new mount namespace whose mounts are all slaves of
    the host's (unshare --propagation slave): a container whose volume is
    mounted with mountPropagation: HostToContainer (rslave)."""

    def __init__(self, cwd, mnt, uid=None, gid=None):
        cmd = ["unshare", "--mount", "--propagation", "slave"]
        if uid is not None:
            cmd += ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid,
                    "--clear-groups", "--inh-caps=-all"]
        cmd += [sys.executable, "-c", APP, mnt]
        self.p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        word, ino, uid_seen = self.reply()
        assert word == "ns", (word, ino)
        self.ns = int(ino)
        self.uid = int(uid_seen)
        self.pid = self.p.pid

    def reply(self):
        line = self.p.stdout.readline()
        if not line:
            raise AssertionError("app exited: %s" % text(self.p.stderr.read()))
        return text(line).rstrip("\n").split(" ", 2)

    def ask(self, *cmd):
        self.p.stdin.write((" ".join(cmd) + "\n").encode())
        self.p.stdin.flush()
        return self.reply()

    def close(self):
        if self.p.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self.p.stdin.write(b"quit\n")
                self.p.stdin.flush()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            f.close()


def mnt_ns(pid="self"):
    return os.stat("/proc/%s/ns/mnt" % pid).st_ino


def nsenter(pid, *cmd, **kw):
    return run(["nsenter", "--target", str(pid), "--mount", "--", *cmd],
               **kw)


def pod():
    import yaml
    with open(POD) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    assert len(docs) == 1, "pod.yaml holds %d documents" % len(docs)
    return docs[0]


# --- documents -----------------------------------------------------------

def help_text():
    r = run([SAFS, "--help"])
    assert r.returncode == 0, r
    return text(r.stdout)


def help_options(h):
    """The options --help lists, by name ("-f", "--check", "passfile",
    "allow_other", ...), in order, repeats kept."""
    names = []
    for line in h.splitlines():
        m = re.match(r"^  (\S.*?)(?:\s{2,}|$)", line)
        if not m:
            continue
        head = m.group(1)
        if head.startswith("("):
            continue
        for part in re.split(r",\s*", head):
            part = part.strip()
            if not re.match(r"[-a-z]", part):
                continue        # "-o OPT,..." continues with "..."
            names.append(re.split(r"[= ]", part)[0])
    return names


def options_c_names():
    """Option names src/options.c accepts, by kind."""
    src = read(os.path.join(SOURCE_DIR, "src", "options.c"))
    own = set(re.findall(r'\b(?:STR|FLAG)\("([a-z_]+)"', src))
    own |= set(re.findall(r'strcmp\(k, "([a-z_]+)"\) == 0', src))

    def array(name):
        m = re.search(r"%s\[\] = \{(.*?)\};" % name, src, re.S)
        assert m, name
        return re.findall(r'"([a-z_]+)"', m.group(1))
    return {
        "own": own,
        "fuse_flags": array("fuse_flags"),
        "fuse_values": array("fuse_values"),
        "ignored": array("ignored"),
        "secret": array("secret_opts"),
    }


def render_man(path=MAN, width=80):
    r = run(["man", "--warnings", "-l", path],
            env=dict(os.environ, MANWIDTH=str(width), MANPAGER="cat",
                     PAGER="cat", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8"))
    return r.returncode, text(r.stdout), text(r.stderr)


def man_sections(rendered):
    """{SECTION NAME: body} of a rendered man page."""
    out = {}
    cur = None
    for line in rendered.splitlines():
        if re.match(r"^[A-Z][A-Z ]+$", line):
            cur = line.strip()
            out[cur] = ""
        elif cur:
            out[cur] += line + "\n"
    return out


def unhyphen(s):
    """Rendered text with its line breaks and padding undone."""
    s = s.replace("\u2010\n", "").replace("-\n", "-")
    return re.sub(r"\s+", " ", s)


def c_messages():
    """The message formats safs can print: err_set() in src/, and the
    fail()/usage_error()/log_error()/log_warn() of fs/ (strings joined
    across lines)."""
    msgs = []
    files = [d + "/" + f for d in ("src", "fs")
             for f in sorted(os.listdir(os.path.join(SOURCE_DIR, d)))
             if f.endswith(".c")]
    call = re.compile(r"\b(err_set|fail|usage_error|log_error|log_warn)"
                      r"\s*\(")
    for path in files:
        src = read(os.path.join(SOURCE_DIR, path))
        for m in call.finditer(src):
            if m.group(1) == "err_set" and "src/err.c" in path:
                continue
            i = m.end()
            depth = 1
            j = i
            while depth and j < len(src):
                depth += {"(": 1, ")": -1}.get(src[j], 0)
                j += 1
            args = src[i:j - 1]
            strs = re.findall(r'"((?:[^"\\]|\\.)*)"', args)
            if not strs:
                continue
            # The format is the first string argument run (adjacent
            # literals concatenate); %s of a "%s" format is a nested call.
            first = re.search(r'"(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*',
                              args)
            fmt = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', first.group(0)))
            # C escapes as printed (\\ is one backslash, \" a quote).
            fmt = re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(
                m.group(1), m.group(1)), fmt)
            if fmt in ("%s",):
                continue
            msgs.append((path, fmt))
    return msgs


def literal_parts(fmt):
    """The constant fragments of a printf format, longest first."""
    parts = re.split(r"%[-#0 +']*[0-9*]*(?:\.[0-9*]+)?"
                     r"(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcsp%]", fmt)
    return sorted((p.strip() for p in parts if p.strip()), key=len,
                  reverse=True)
