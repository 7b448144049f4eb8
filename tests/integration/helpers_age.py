# SPDX-License-Identifier: MIT
"""Make age passphrase files with the real `age` CLI, which reads the
passphrase only from a terminal: drive it through a pty."""
import os
import pty


def age_encrypt(src, dst, passphrase, armor=False):
    pid, fd = pty.fork()
    if pid == 0:
        args = ["age", "-p"] + (["-a"] if armor else []) + ["-o", dst, src]
        os.execvp("age", args)
    out, sent = b"", 0
    while True:
        try:
            d = os.read(fd, 1024)
        except OSError:
            break
        if not d:
            break
        out += d
        # "Enter passphrase ...:" then "Confirm passphrase:"
        if out.lower().count(b"passphrase") > sent and sent < 2:
            os.write(fd, passphrase.encode() + b"\n")
            sent += 1
    os.close(fd)
    _, st = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(st) != 0:
        raise AssertionError("age -p failed: %r" % out)
    return dst
