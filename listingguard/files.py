"""Reading a file the user named, safely: regular files only, size checked first, never blocking.

A path on the command line or in a sheet may be a named pipe (reading it waits forever), a
device (``/dev/zero`` never ends) or a file larger than memory; each is refused with a reason.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class FileRefused(ValueError):
    """The path is not a regular file, or is larger than allowed; the message says which."""


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def read_regular(path: Path | str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; FileRefused or OSError otherwise.

    The descriptor is opened without blocking and measured with fstat, so a named pipe cannot
    hang the read and a file swapped after the check is still the one measured.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused("not a regular file (a pipe, socket, device or folder)")
        if info.st_size > max_bytes:
            raise FileRefused(f"file is {_mb(info.st_size)}, above the {_mb(max_bytes)} limit")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileRefused(f"file grew above the {_mb(max_bytes)} limit while it was read")
    return data


def is_regular_or_missing(path: Path) -> bool:
    """True when ``path`` does not exist or is a regular file (not a link, pipe or folder)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return True
    return stat.S_ISREG(mode)
