"""The embedded default's SECRET_KEY: random, made once per install and kept in VAR_DIR (never in the code).

Web, worker and beat may start at the same moment and must end up with the same key: the key is written to a
private temporary file and hard-linked into place, which fails for all but the first process; the others read
the winner's complete file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

FILE_NAME = "secret_key"


def load_or_create_secret_key(var_dir: Path) -> str:
    path = Path(var_dir) / FILE_NAME
    try:
        key = _read(path)
        if key:
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process of this install was first: use its key
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        key = _read(path)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and no key could be kept in {path} ({exc.strerror}): set SECRET_KEY, "
            "or VAR_DIR to a writable folder."
        ) from None
    if not key:
        raise ImproperlyConfigured(f"{path} is empty: delete it (a new key is made) or set SECRET_KEY.")
    return key


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""
