"""Ending a meshkit process without tearing down its interpreter.

A build or a sync ends with dbt, its manifests and the catalog in memory, and Python's own
shutdown then frees them object by object: 0.9 s after a demo build, during which the command
has nothing left to do but the user waits for the prompt. :func:`leave` ends the process the
way Python would (the exit handlers run: :mod:`logging` flushes and closes its files,
:mod:`multiprocessing` unlinks dbt's named semaphores; stdout and stderr are flushed) and then
lets the operating system reclaim the memory at once. meshkit writes its own files through
context managers, so nothing of its output waits for a finalizer.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn


def exit_code(code: str | int | None) -> int:
    """What ``sys.exit(code)`` would exit with (a message is printed to stderr, as it would)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def leave(code: str | int | None) -> NoReturn:
    """End the process with ``code`` (as ``sys.exit`` takes it), skipping the interpreter's
    teardown; with a thread of the program still running, exit as usual, which waits for it."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):
        sys.exit(code)
    status = exit_code(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`), a closed file
            stream.flush()
    os._exit(status)
