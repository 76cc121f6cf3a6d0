"""A file a CLI command writes (`--output`, `--out`): never through a symlink, never half-written.

An export holds incident timelines or audit records; written through a symlink someone planted
it could land anywhere the operator may write. So the target must not be a symlink and its
directory must exist (the command says so and exits 2, before any work), and the content goes to
a temporary file in that directory, renamed over the target only once complete. `os.replace`
renames onto the path itself, so a symlink planted after the check is replaced, not followed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# The exit status of a command whose output path is refused (argparse uses 2 for usage errors).
EXIT_REFUSED = 2


class OutputRefused(Exception):
    """The output path cannot be used; the message says why, for the operator."""


def checked_output(path: str | os.PathLike[str]) -> Path:
    """The path, if a file may be written there; OutputRefused naming the problem if not."""
    target = Path(path)
    if target.is_symlink():
        raise OutputRefused(f"{target} is a symbolic link; give the path of a regular file")
    if target.is_dir():
        raise OutputRefused(f"{target} is a directory; give the path of a file")
    directory = target.parent
    if not directory.is_dir():
        raise OutputRefused(f"the directory {directory} does not exist")
    return target


@contextmanager
def replaced_on_success(
    path: str | os.PathLike[str], *, binary: bool = False, newline: str | None = None
) -> Iterator[IO[Any]]:
    """A temporary file beside `path`, renamed to `path` when the block ends without an error
    and removed if it fails. The file is private to its owner (0600): exports hold records."""
    target = checked_output(path)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        if binary:
            out: IO[Any] = os.fdopen(handle, "wb")
        else:
            out = os.fdopen(handle, "w", encoding="utf-8", newline=newline)
        with out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_output(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` as `replaced_on_success` does."""
    with replaced_on_success(path) as out:
        out.write(text)
