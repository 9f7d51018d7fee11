"""Deterministic fault injection: the crash-consistency tests kill a sync at a named write step.

``MESHKIT_FAULT=<point>`` in the environment makes the process SIGKILL itself when it reaches
that point, exactly as a machine losing power or an OOM kill would stop it there: no ``finally``,
no ``atexit``, no flush. Unset (always, outside the tests), :func:`point` is one dict lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "MESHKIT_FAULT"

# Every write step of a sync, in the order a sync that rewrites the catalog reaches them
# (``history:*`` only in a sync whose catalog is unchanged, ``recover:*`` only when recovering).
POINTS: tuple[str, ...] = (
    "sync:locked",                # the lock is held, nothing written yet
    "sync:spooled",               # a state file written into the spool, nothing staged yet
    "stage:catalog",              # catalog.json written into the temporary folder
    "stage:products",             # the product descriptors written
    "stage:states",               # the state files written
    "stage:done",                 # the temporary folder complete (history included), synced
    "warehouse:snapshot",         # the snapshot tables rewritten, not committed
    "warehouse:run",              # the sync_runs row inserted, not committed
    "warehouse:committed",        # THE COMMIT POINT passed: the warehouse holds the new sync
    "swap:old-moved",             # catalog/ renamed aside, the new folder not yet in place
    "swap:new-in",                # the new folder in place, the old one not yet removed
    "sync:done",                  # everything written
    "history:staged",             # unchanged catalog: the new history.jsonl beside the old one
    "history:committed",          # unchanged catalog: warehouse committed, history not replaced
    "recover:old-moved",          # a roll-forward halfway: catalog/ aside, the new one not in
)


def point(name: str) -> None:
    """Die here (SIGKILL) if ``MESHKIT_FAULT`` names this point."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
