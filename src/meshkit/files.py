"""Writing files so that a reader never sees half of one (the one atomic write of meshkit), and
reading the text files people write (the one place a file that is not UTF-8 is reported)."""

from __future__ import annotations

import os
from pathlib import Path

from meshkit.errors import ConfigError, UsageError


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


def holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` holds exactly ``data`` (False if it cannot be read)."""
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` atomically unless ``path`` already holds its bytes; True if it was
    written."""
    if holds(path, text.encode()):
        return False
    atomic_write(path, text)
    return True


def write_output(path: Path, text: str) -> None:
    """Write a file a command was asked for (``--junit``, ``-o``): a path it cannot write (a
    folder that does not exist, no permission) is a :class:`UsageError` naming it.

    >>> write_output(Path("/nonexistent-folder/report.xml"), "<x/>")
    Traceback (most recent call last):
    meshkit.errors.UsageError: /nonexistent-folder/report.xml: cannot write: No such file or directory
      fix: give a path in a folder that exists and you may write to
    """
    fix = "give a path in a folder that exists and you may write to"
    if not path.parent.is_dir():  # (atomic_write would create it: a typo would go unnoticed)
        raise UsageError("cannot write: No such file or directory", file=path, fix=fix)
    try:
        atomic_write(path, text, durable=False)
    except OSError as exc:
        raise UsageError(f"cannot write: {exc.strerror or exc}", file=path, fix=fix) from None


def read_text(path: Path) -> str:
    """A text file people write (YAML above all), as UTF-8: :func:`decode_text` of its bytes."""
    return decode_text(path.read_bytes(), path)


def decode_text(data: bytes, path: Path) -> str:
    """``data``, the bytes of ``path``, as UTF-8; bytes that are not UTF-8 are a
    :class:`ConfigError` at their line and column, not a traceback.

    >>> decode_text(b"name: m\\nowner: Ren\\xe9\\n", Path("mesh.yml"))
    Traceback (most recent call last):
    meshkit.errors.ConfigError: mesh.yml:2:11: not UTF-8 text: byte 0xe9 cannot start or continue ...
      fix: save the file as UTF-8 (most editors: "Save with encoding")
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot start or continue a "
                    "character", file=path, location=f"{line}:{column}",
                    fix='save the file as UTF-8 (most editors: "Save with encoding")') from None
