"""Writing files so that a reader never sees half of one: the one atomic write of meshkit."""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it, renamed over it.

    A crash leaves the old file or the new one, never a mix; ``durable`` flushes the bytes to
    disk before the rename (so a power cut cannot leave an empty file behind the new name).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a" / "x.txt", "hello")
    >>> (folder / "a" / "x.txt").read_text(), sorted(p.name for p in (folder / "a").iterdir())
    ('hello', ['x.txt'])
    """
    raw = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as out:
            out.write(raw)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` atomically unless ``path`` already holds it; True if it was written."""
    if path.is_file() and path.read_text() == text:
        return False
    atomic_write(path, text)
    return True
