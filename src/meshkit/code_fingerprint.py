"""What a cached result was computed by: meshkit's version, the source of the modules that
computed it and the version of the libraries they call. A cache keyed by it misses after an
upgrade or an edit of the code, instead of answering with what the old code computed."""

from __future__ import annotations

import functools
import hashlib
import importlib
from pathlib import Path


@functools.cache
def code_fingerprint(modules: tuple[str, ...], libraries: tuple[str, ...] = ()) -> bytes:
    """A digest over meshkit's version, each of ``modules``' source file and each of
    ``libraries``' ``__version__``.

    >>> code_fingerprint(("meshkit.files",)) == code_fingerprint(("meshkit.files",))
    True
    >>> code_fingerprint(("meshkit.files",)) == code_fingerprint(("meshkit.files",), ("sqlglot",))
    False
    """
    import meshkit

    h = hashlib.sha256(meshkit.__version__.encode())
    for name in modules:
        try:
            source = Path(str(importlib.import_module(name).__file__)).read_bytes()
        except OSError:  # no source beside it (a frozen or zipped install): its name then
            source = name.encode()
        h.update(b"\0" + source)
    for name in libraries:
        h.update(b"\0" + name.encode() + b"=" +
                 str(getattr(importlib.import_module(name), "__version__", "")).encode())
    return h.digest()
