# SPDX-License-Identifier: MIT
"""The main job in one test: mount, read, unmount."""
import os

from conftest import unexpected_lines


def test_mount_read_unmount(env):
    src = env.source()
    p = env.mount(src, opts="audience=acme.chata.io")
    assert open(os.path.join(p.mnt, "client_email")).read() == \
        "svc-etl@p-123.iam.gserviceaccount.com"
    err = env.stop(p)
    assert p.returncode == 0
    assert not unexpected_lines(err), err
