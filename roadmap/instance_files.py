"""Files that hold secrets (the secret key, the demo moderator's password, the SQLite database):
readable by this user alone from the moment they exist, in a folder only this user can open."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def ensure_private_folder(path: str | os.PathLike) -> None:
    """Create the folder 0700, or narrow an existing one (made by an older version) to 0700."""
    os.makedirs(path, mode=PRIVATE_FOLDER_MODE, exist_ok=True)
    try:
        os.chmod(path, PRIVATE_FOLDER_MODE)
    except PermissionError:  # someone else's folder, handed to us: theirs to guard
        logging.getLogger(__name__).warning("cannot make %s private (0700): not its owner", path)


def secret_key(instance_path: str | os.PathLike) -> str:
    """The key kept in the instance folder, made on first use; processes starting together share one."""
    key_file = Path(instance_path) / "secret_key"
    if not key_file.exists():
        write_private_file(key_file, secrets.token_hex(32), replace=False)
    return key_file.read_text().strip()


def write_private_file(path: str | os.PathLike, text: str, *, replace: bool) -> bool:
    """Write `text` to a file that is 0600 from its first byte and appears whole, never half-written.

    With replace=False an existing file wins: returns False and leaves it, so two processes
    creating it at once both end up reading the same one. Returns True when this call wrote it."""
    path = Path(path)
    # mkstemp creates the file 0600 whatever the umask; the final name is given to it only when written.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)  # atomic, and refuses an existing name
        except FileExistsError:
            return False
        return True
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def create_private_file(path: str | os.PathLike) -> None:
    """Create an empty file 0600 unless one exists (for SQLite, which then makes its own
    -wal and -shm files with the database file's mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        pass
