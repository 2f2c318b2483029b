"""Where synthstruct keeps per-user state (the local secret key, the gate-attempt ledger).

The folder holds ``secret.key``, which signs pickles, model integrity files and bundle manifests, so
it must be private. :func:`state_dir` checks that before anything reads or writes the key:

* a folder owned by another user is refused;
* a folder others can read or write (e.g. ``0777``) is tightened to ``0700`` when it holds no key
  yet; when it already holds ``secret.key``, the run is refused, because someone else could have
  read or replaced the key (delete it to make a new one, after checking who had access);
* a ``secret.key`` owned by another user or readable by others is refused the same way.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from synthstruct.errors import FileAccessError, Problem

__all__ = ["KEY_FILE", "check_key_file", "state_dir"]

log = logging.getLogger(__name__)
KEY_FILE = "secret.key"


def _refuse(path: Path, message: str, fix: str) -> FileAccessError:
    return FileAccessError("unsafe synthstruct state folder", [Problem(str(path), message, fix)])


def check_key_file(path: Path) -> None:
    """Refuse a key file owned by someone else, readable or writable by others, or not a regular file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, "is not a regular file (a symbolic link?)", "delete it; a new key is created")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise _refuse(path, "is owned by another user", "delete it; a new key is created")
    if info.st_mode & 0o077:
        raise _refuse(path, f"can be read or changed by other users (mode {stat.S_IMODE(info.st_mode):04o})",
                      "if only you had access, run chmod 600 on it; otherwise delete it (a new key is created "
                      "and models and bundles signed with the old one must be signed again)")


def state_dir() -> Path:
    """``$SYNTHSTRUCT_HOME`` or ``~/.local/share/synthstruct``, created on first use (mode 0700).

    Raises:
        FileAccessError: the folder is owned by another user, or was open to others while holding a key.
    """
    configured = os.environ.get("SYNTHSTRUCT_HOME")
    path = Path(configured).expanduser() if configured else Path.home() / ".local" / "share" / "synthstruct"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise _refuse(path, "is owned by another user", "set SYNTHSTRUCT_HOME to a folder of your own")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        if (path / KEY_FILE).exists():
            raise _refuse(path, f"holds {KEY_FILE} but other users can open the folder (mode {mode:04o})",
                          f"run chmod 700 on it if only you had access; otherwise delete {KEY_FILE} (a new key is "
                          "created) and sign models and bundles again")
        os.chmod(path, 0o700)
        log.warning("%s was open to other users (mode %04o); set to 0700", path, mode)
    return path
