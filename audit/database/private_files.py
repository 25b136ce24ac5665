"""Files that hold the ledger's data are created for their owner only: 0600 in 0700 folders.

Why: the SQLite store, its WAL, exported bundles and evidence hold confidential figures
(sales, exports, profit, IP spending) and actor identities; created under the default umask
they were world-readable (0644; issue #15). The key files have their own writer
(``audit.offline.keys``). SQLite gives a database's ``-wal`` and ``-shm`` files the permissions of
the
database file itself, so creating that file 0600 first covers them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

FILE_MODE: Final = 0o600
FOLDER_MODE: Final = 0o700


def private_folder(path: Path) -> Path:
    """Create ``path`` (and missing parents) 0700; a folder that exists is left as it is
    (it may be shared on purpose, e.g. ``/tmp``), only one we create is ours alone."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        folder.chmod(FOLDER_MODE)  # mkdir's mode is filtered by the umask
    return path


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 if it does not exist (an existing file is untouched).

    A missing folder is left missing: the caller's own open then fails, naming it (a typo in
    a configured path must not create folders somewhere)."""
    if not path.parent.is_dir():
        return
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)


def open_private_text(path: Path) -> int:
    """A new (truncated) file at ``path``, 0600, opened for writing: its descriptor."""
    private_folder(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)  # an existing file keeps its mode through O_CREAT
    return descriptor
