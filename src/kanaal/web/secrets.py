"""The server secret that signs session cookies: from settings, or generated once and kept."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from kanaal.config import Settings

SECRET_FILE = "secret_key"
_MIN_LENGTH = 32


def secret_key(settings: Settings) -> str:
    """`settings.secret_key`, else the key in `data_dir/secret_key` (created 0600 on first use)."""
    if settings.secret_key:
        if len(settings.secret_key) < _MIN_LENGTH:
            raise ValueError(f"KANAAL_SECRET_KEY must be at least {_MIN_LENGTH} characters")
        return settings.secret_key
    return _persisted_key(Path(settings.data_dir) / SECRET_FILE)


def _persisted_key(path: Path) -> str:
    if path.exists():
        return _read_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(48)
    temp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(candidate)
    try:
        # A hard link appears complete or not at all: when two workers start at once,
        # exactly one key wins and both use it.
        os.link(temp, path)
    except FileExistsError:
        return _read_key(path)
    finally:
        temp.unlink()
    return candidate


def _read_key(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        # Someone loosened the permissions: tighten them again rather than leak the key.
        path.chmod(0o600)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < _MIN_LENGTH:
        raise ValueError(f"{path} holds no usable secret key; delete it to generate a new one")
    return key
