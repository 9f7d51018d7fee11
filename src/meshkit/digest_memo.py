"""Results of a pure computation kept by the digest of its input, in one JSON file of the mesh's
cache folder: what a check run parsed from SQL that has not changed since the last sync.

The key is the caller's digest of everything the result depends on, the code that computed it
included (:func:`~meshkit.code_fingerprint.code_fingerprint`), so a hit is the answer to the very
same question. The file is read once per run; :meth:`DigestMemo.save` (a sync only) rewrites it
with the entries this run used, so those of SQL gone or changed drop out. A file or an entry that
cannot be read only costs time: the result is computed again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

T = TypeVar("T")
# What a kept entry of the wrong shape raises while it is decoded.
_MALFORMED = (ValueError, TypeError, KeyError, IndexError, AttributeError)


class DigestMemo(Generic[T]):
    """``compute()``'s results by key, kept in ``path`` (None: nothing kept) as ``encode`` writes
    them and ``decode`` reads them back (raising on an entry of the wrong shape).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> memo = DigestMemo(folder / "m.json", fmt=1, decode=int, encode=str)
    >>> memo.get("k", lambda: 41 + 1); memo.save()
    42
    >>> again = DigestMemo(folder / "m.json", fmt=1, decode=int, encode=str)
    >>> again.get("k", lambda: 0), again.get("other", lambda: 7)
    (42, 7)
    >>> _ = (folder / "m.json").write_text('{"format": 1, "entries": {"k": "forty-two"}}')
    >>> DigestMemo(folder / "m.json", fmt=1, decode=int, encode=str).get("k", lambda: 42)
    42
    """

    def __init__(self, path: Path | None, *, fmt: int, decode: Callable[[Any], T],
                 encode: Callable[[T], Any]) -> None:
        self.path, self._fmt, self._decode, self._encode = path, fmt, decode, encode
        self._kept: dict[str, Any] = {}
        self._used: dict[str, T] = {}
        if path is None:
            return
        try:
            data = orjson.loads(path.read_bytes())
            if data.get("format") == fmt and isinstance(data.get("entries"), dict):
                self._kept = data["entries"]
        except (OSError, *_MALFORMED):
            self._kept = {}

    def get(self, key: str, compute: Callable[[], T]) -> T:
        if key in self._used:
            return self._used[key]
        found: T
        if key in self._kept:
            try:
                found = self._decode(self._kept[key])
            except _MALFORMED:
                found = compute()
        else:
            found = compute()
        self._used[key] = found
        return found

    def save(self) -> None:
        from meshkit.files import atomic_write

        if self.path is None:
            return
        entries = {k: self._encode(v) for k, v in self._used.items()}
        with contextlib.suppress(OSError):
            atomic_write(self.path, orjson.dumps({"format": self._fmt, "entries": entries}),
                         durable=False)
