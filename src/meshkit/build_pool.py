"""Domains that do not read each other, built side by side in worker processes.

dbt's in-process state is global (one invocation at a time per process), so each lane is a
process of its own: the build's own process (lane 0, which runs dbt for the catalog marts after
anyway, so its import of dbt is not an extra one) and ``n - 1`` workers (``python -m
meshkit.build_pool``, started when the build starts: they import dbt while the build writes the
policy). The build's own lane runs in its main thread while the workers' threads wait on them.
A lane keeps a domain from its checks to its build, since the build runs on the manifest its
checks' parse left in that process's memory. Plain subprocesses rather than
:mod:`multiprocessing`: that would import the caller's main script in every worker, and a script
without a ``__main__`` guard would then build again.

The domains go in waves, each wave the domains whose upstream domains (those their dbt-loom
config reads, and those whose database their profile attaches) are all done: first every
domain of the wave is checked (``dbt deps``, ``dbt parse``, the build-stage rules), then every
domain that passed is built. So the rules of one domain never read the artifacts another one is
writing at that moment (``dbt build`` rewrites ``target/manifest.json`` in place): they see each
other domain as last built, as one after the other would. A failure skips only the domains
that read it, as in the serial build.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from meshkit.build import (
    DomainBuild,
    Precheck,
    ProgressHook,
    Status,
    blocked_by,
    build_passed,
    gate_domain,
    upstream_domains,
)
from meshkit.config import Domain, Mesh

# What a lane imports as it starts, before it is asked for anything (the secure views' build
# gate traces each product model's column lineage with sqlglot's optimizer, in the plugin's
# function: imported at the first product model, 0.5 s into a domain's build, otherwise).
PRELOAD = ["dbt.cli.main", "dbt.parser.manifest", "dbt.task.build", "dbt.task.deps",
           "meshkit.checks", "meshkit.artifacts", "meshkit.governance.derived",
           "sqlglot.optimizer.qualify", "sqlglot.optimizer.scope"]

# A function run in a lane, with its arguments.
Call = tuple[Callable[..., Any], tuple[Any, ...]]

# In a lane: the checks that passed, by domain, until the domain's build (its parsed manifest).
_PASSED: dict[str, Precheck] = {}


def waves(mesh: Mesh, order: Sequence[Domain]) -> list[list[Domain]]:
    """``order`` in waves: each domain after every selected domain it reads, through its dbt-loom
    config or a database its profile attaches (:func:`attached_domains`)."""
    names = {d.name for d in order}
    deps = {d.name: [u for u in {*upstream_domains(mesh, d), *attached_domains(mesh, d)}
                     if u in names] for d in order}
    done: set[str] = set()
    pending = list(order)
    out: list[list[Domain]] = []
    while pending:
        # Domains attaching each other's databases cannot be built side by side in any order:
        # one at a time then, in the build order.
        wave = [d for d in pending if all(u in done for u in deps[d.name])] or pending[:1]
        out.append(wave)
        done |= {d.name for d in wave}
        pending = [d for d in pending if d.name not in done]
    return out


def attached_domains(mesh: Mesh, domain: Domain) -> list[str]:
    """Other domains whose database file (``<name>.duckdb``) the domain's profiles.yml names.

    A profile may attach a producer's database without a dbt-loom entry for it; dbt then opens
    that file as the build starts, and DuckDB refuses to open a file another process is writing:
    such domains are never built beside each other. Read from the text, not the YAML (the paths
    are templates): a mention in a comment only costs building them one after the other.
    """
    project = mesh.domain_path(domain)
    try:
        text = (project / "profiles.yml").read_text() if project is not None else ""
    except (OSError, UnicodeDecodeError):
        return []
    return sorted(d.name for d in mesh.config.domains if d.name != domain.name
                  and re.search(rf"(?<![A-Za-z0-9_]){re.escape(d.name)}\.duckdb\b", text))


def lanes_for(groups: Sequence[Sequence[Domain]], jobs: int) -> int:
    """How many lanes a build of these :func:`waves` can use with ``jobs`` processes at most."""
    return min(jobs, max((len(w) for w in groups), default=0))


def _adopt(environ: dict[str, str], cwd: str) -> None:
    """The caller's environment and folder, as they are now (the server forked at its start)."""
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)


def _silent(domain: str, message: str) -> None:
    pass


def _check(mesh: Mesh, name: str, target_name: str, base_env: dict[str, str]
           ) -> DomainBuild | Precheck:
    gated = gate_domain(mesh, mesh.config.domain(name), target_name, base_env, _silent)
    if isinstance(gated, DomainBuild):
        return gated
    _PASSED[name] = gated
    return replace(gated, manifest=None)  # dbt's manifest stays here, for the build


def _build(mesh: Mesh, name: str, target_name: str, base_env: dict[str, str]) -> DomainBuild:
    return build_passed(mesh, mesh.config.domain(name), target_name, base_env,
                        _PASSED.pop(name), _silent)


class _Lane:
    """One worker process, asked one thing at a time through its stdin and stdout (pickles)."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        # The worker's stderr is the caller's: a crash of the worker is seen.
        self.proc = subprocess.Popen([sys.executable, "-m", "meshkit.build_pool"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in the worker, with this process's environment and folder; a
        :class:`LaneDied` if the worker ends without an answer (it is then restarted)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            pickle.dump((fn.__name__, args, dict(os.environ), str(Path.cwd())), self.proc.stdin)
            self.proc.stdin.flush()
            ok, value = pickle.load(self.proc.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            self.close()
            self._start()
            raise LaneDied from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        self.release()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def release(self) -> None:
        """Tell the worker to end (it ends when its stdin closes)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            # A dead worker's pipe is broken: closing flushes what it never read.
            with contextlib.suppress(OSError):
                self.proc.stdin.close()


class LaneDied(Exception):
    """A worker process ended without answering (killed, out of memory)."""


class Lanes:
    """``n`` lanes: this process (lane 0) and ``n - 1`` workers, each asked from a thread of
    this process (the threads only wait)."""

    def __init__(self, n: int) -> None:
        self._lanes = [_Lane() for _ in range(n - 1)]
        self._threads = ThreadPoolExecutor(max_workers=max(1, n - 1))

    def __len__(self) -> int:
        return len(self._lanes) + 1

    def run(self, calls: Sequence[Call | None]) -> list[Any]:
        """``calls[i]`` in lane ``i`` (None: nothing), side by side: the workers' first, then this
        process's in its main thread while they run. Returns each call's result, or the
        :class:`LaneDied` of a worker that ended without one; an exception raised by a call is
        raised here (once the calls of this process are done)."""
        futures = [None if call is None else self._threads.submit(lane.call, call[0], *call[1])
                   for lane, call in zip(self._lanes, calls[1:], strict=False)]
        out: list[Any] = [None if not calls or calls[0] is None else calls[0][0](*calls[0][1])]
        for future in futures:
            try:
                out.append(None if future is None else future.result())
            except LaneDied as exc:
                out.append(exc)
        return out

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        for lane in self._lanes:  # all end together
            lane.release()
        for lane in self._lanes:
            lane.close()

    def __enter__(self) -> Lanes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _died(name: str, seconds: float = 0.0) -> DomainBuild:
    return DomainBuild(name, Status.failed, seconds,
                       reason="its build process died (out of memory? killed?)",
                       errors=["the worker process building the domain ended without a result; "
                               "its logs/dbt.log has what dbt did"])


def build_side_by_side(mesh: Mesh, groups: Sequence[Sequence[Domain]], target_name: str,
                       base_env: dict[str, str], pool: Lanes,
                       notify: ProgressHook) -> dict[str, DomainBuild]:
    """Build the :func:`waves` one after the other, as many domains of a wave at a time as
    ``pool`` has lanes."""
    results: dict[str, DomainBuild] = {}
    for wave in groups:
        runnable = []
        for domain in wave:
            skipped = blocked_by(mesh, domain, results)
            if skipped is not None:
                results[domain.name] = skipped
                notify(domain.name, "skipped")
            else:
                runnable.append(domain)
        for start in range(0, len(runnable), len(pool)):
            _run_group(mesh, runnable[start:start + len(pool)], target_name, base_env, pool,
                       notify, results)
    return results


def _run_group(mesh: Mesh, group: list[Domain], target_name: str, base_env: dict[str, str],
               pool: Lanes, notify: ProgressHook, results: dict[str, DomainBuild]) -> None:
    """Check every domain of ``group`` (one per lane), then build those that passed."""
    args = (target_name, base_env)
    for domain in group:
        notify(domain.name, "dbt deps, parse + checks")
    checked = pool.run([(_check, (mesh, d.name, *args)) for d in group])
    passed: dict[str, tuple[int, Precheck]] = {}
    for lane, (domain, gated) in enumerate(zip(group, checked, strict=True)):
        if isinstance(gated, LaneDied):
            gated = _died(domain.name)
        if isinstance(gated, DomainBuild):
            results[domain.name] = gated
            notify(domain.name, gated.status.value)
        else:
            passed[domain.name] = (lane, gated)
    # A domain keeps its lane: its build runs on the manifest its checks parsed there.
    calls: list[Call | None] = [None] * len(group)
    for name, (lane, _) in passed.items():
        notify(name, "dbt build")
        calls[lane] = (_build, (mesh, name, *args))
    built = pool.run(calls) if passed else []
    for name, (lane, gate) in passed.items():
        done = built[lane]
        if isinstance(done, LaneDied):
            done = _died(name, gate.seconds)
        results[name] = done
        notify(name, done.status.value)


_CALLS: dict[str, Callable[..., Any]] = {"_check": _check, "_build": _build}


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """A lane: answer each request until the caller closes the pipe."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    while True:
        try:
            fn, args, environ, cwd = pickle.load(requests)
        except EOFError:
            return
        _adopt(environ, cwd)
        try:
            answer: tuple[bool, Any] = (True, _CALLS[fn](*args))
        except Exception as exc:  # raised again in the caller (a MeshError: exit 2 there)
            answer = (False, exc)
        pickle.dump(answer, answers)
        answers.flush()


if __name__ == "__main__":
    from meshkit.shutdown import leave

    # Answers on a copy of stdout; whatever else writes to stdout goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _serve(sys.stdin.buffer, out)
    # Every answer is written and dbt closed its files after each call: tearing down the
    # interpreter (dbt's modules, the lane's heap) would only keep the build waiting, ~1 s.
    leave(0)
