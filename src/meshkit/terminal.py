"""Text from outside meshkit shown in a terminal through rich: dbt's artifacts and messages,
mesh.yml, warehouse data, paths.

Rich reads ``[word]`` in a printed string as markup. A description starting "[deprecated]" lost
the word, a SQL error quoting ``'[a-z]+'`` lost the pattern, and a ``[/]`` anywhere ended the
command with a traceback after its work was done. A control character such as ESC would reach
the terminal as an escape sequence. Whatever meshkit prints that it did not write itself goes
through :func:`literal` (inside markup) or :func:`literal_text`.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(value: Any, *, lines: bool = False) -> str:
    r"""``str(value)`` with its control characters shown escaped; with ``lines``, newlines and
    tabs kept (a multi-line message from dbt).

    >>> visible("a\x1b[2Jb\tc")
    'a\\x1b[2Jb\\tc'
    >>> visible("a\nb", lines=True)
    'a\nb'
    """
    pattern = _CONTROL_BUT_LINES if lines else _CONTROL
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode(), str(value))


def literal(value: Any, *, lines: bool = False) -> str:
    r"""``value`` for a rich markup string: shown as written, control characters escaped.

    >>> literal("[deprecated] use v2 [/]")
    '\\[deprecated] use v2 \\[/]'
    """
    from rich.markup import escape

    return escape(visible(value, lines=lines))


def literal_text(value: Any, *, style: str = "") -> Any:
    """``value`` as a rich ``Text``: no markup read, control characters escaped."""
    from rich.text import Text

    return Text(visible(value), style=style)
