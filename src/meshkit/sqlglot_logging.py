"""sqlglot's warnings, silenced where meshkit parses SQL it did not write.

sqlglot logs a warning for what it merely tolerates: a statement it falls back to parsing as a
Command, an unresolved star's "Unknown subquery scope". meshkit turns what matters of those into
its own errors or results, so the warnings would only be noise on the user's terminal.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_sqlglot() -> Iterator[None]:
    """sqlglot's logger at ERROR for the block, as it was after."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
