"""``make bench``: every performance figure of meshkit as a ratio to a baseline of the same run.

Each figure runs its subject and its baseline the same way (each in a fresh Python process, timed
from the parent, so interpreter start, imports and garbage collection count on both sides), for
several rounds, and reports the median with the spread. Nothing here asserts a time: the figures
are written to ``bench/RESULTS.md`` with the machine, the versions and the date, each against its
target, and ``--check`` turns an unmet target into exit 1.

    python bench/run.py                  # every figure, full size (tens of minutes the first time:
                                         # the real-artifact meshes are compiled by dbt and cached)
    python bench/run.py --only sync_cold --rounds 5
    python bench/run.py --smoke          # tiny sizes, one round: what `make test` runs

Sizes: MESH_BENCH_DOMAINS x MESH_BENCH_MODELS (synthetic, default 50 x 200),
MESH_BENCH_REAL (real compiled meshes, default "15x2000"), MESH_BENCH_SCALE (demo data scale for
the secure-view aggregation, default 150: 3.7 M rows of card_transactions_monthly, the size its target
was set at). The synthetic mesh is cloned from the
real artifacts of the public jaffle_shop project: MESH_BENCH_ARTIFACTS names their folder (the
synthetic figures are skipped without it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import realmesh  # noqa: E402
import synthetic_mesh  # noqa: E402

PY = sys.executable
BIN = Path(PY).parent


@dataclass
class Figure:
    name: str
    what: str
    target: str  # e.g. "<= 2.0"
    ratio: float | None = None
    spread: tuple[float, float] | None = None
    subject_s: float | None = None
    baseline_s: float | None = None
    unit: str = "s"  # of subject_s and baseline_s
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.ratio is None:
            return None
        op, bound = self.target.split()
        return self.ratio <= float(bound) if op == "<=" else self.ratio >= float(bound)


# ---------------------------------------------------------------------------------------------
# measuring


def _run(code: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
         allow: tuple[int, ...] = (0,)) -> tuple[float, str, str]:
    """Wall time of ``python -c code args`` in a fresh process, its stdout and stderr."""
    t0 = time.perf_counter()
    proc = subprocess.run([PY, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=3600)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in allow:
        raise RuntimeError(f"benchmark subject failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return elapsed, proc.stdout, proc.stderr


def _cmd(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=3600)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return elapsed


def _rounds(n: int, subject: Callable[[], float], baseline: Callable[[], float]
            ) -> tuple[float, tuple[float, float], float, float]:
    """Alternates subject and baseline ``n`` times; median ratio, its spread, median times."""
    ratios, subs, bases = [], [], []
    for _ in range(n):
        b = baseline()
        s = subject()
        subs.append(s)
        bases.append(b)
        ratios.append(s / b)
    return (statistics.median(ratios), (min(ratios), max(ratios)),
            statistics.median(subs), statistics.median(bases))


_FLOOR = """
import sys, orjson
from pathlib import Path
for line in Path(sys.argv[1]).read_text().splitlines():
    orjson.loads(Path(line).read_bytes())
"""

_PARSER = """
import sys, orjson
from pathlib import Path
from dbt_artifacts_parser.parser import parse_catalog, parse_manifest, parse_run_results
parsers = {"manifest.json": parse_manifest, "run_results.json": parse_run_results,
           "catalog.json": parse_catalog}
for line in Path(sys.argv[1]).read_text().splitlines():
    path = Path(line)
    parse = parsers.get(path.name)
    if parse is not None:
        parse(orjson.loads(path.read_bytes()))
"""

_SYNC = """
import sys
from meshkit.cli.main import mesh_sync
sys.argv = ["mesh-sync", "--mesh", sys.argv[1], "--json"]
mesh_sync()  # ends the process as the script does
"""

# The peak, reported by an exit handler: the script ends its process once the sync is done. The
# lineage workers are processes of their own: the largest one's peak is reported beside it.
_RSS = """
import atexit, resource, sys
def report():
    with open("/proc/self/status") as status:
        rss_kb = next(int(x.split()[1]) for x in status if x.startswith("VmHWM:"))
    workers_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stderr.write("RSS_KB %d %d\\n" % (rss_kb, workers_kb))
atexit.register(report)
""" + _SYNC


def _artifact_list(root: Path, tmp: Path) -> Path:
    names = ("manifest.json", "run_results.json", "catalog.json", "sources.json")
    files = sorted(p for p in root.rglob("*.json") if (p.name in names and "target" in p.parts)
                   or (p.name in names and p.parent.name.startswith("dom_")))
    out = tmp / f"files_{root.name}.txt"
    out.write_text("\n".join(str(f) for f in files))
    return out


def _clean_catalog(root: Path) -> None:
    for folder in ("catalog",):
        shutil.rmtree(root / folder, ignore_errors=True)
    for f in (root / "warehouse").glob("mesh_catalog.duckdb*"):
        f.unlink()
    for f in root.glob(".catalog*"):
        if f.is_dir():
            shutil.rmtree(f, ignore_errors=True)
        else:
            f.unlink()


def _sync_cold(root: Path) -> float:
    _clean_catalog(root)
    return _run(_SYNC, str(root / "mesh.yml"), cwd=root, allow=(0, 1))[0]


def _rss(root: Path) -> tuple[int, int]:
    """The peak RSS of a cold sync's process and of its largest lineage worker, in KB."""
    _clean_catalog(root)
    _, _, err = _run(_RSS, str(root / "mesh.yml"), cwd=root, allow=(0, 1))
    _, sync_kb, workers_kb = next(x for x in err.splitlines() if x.startswith("RSS_KB")).split()
    return int(sync_kb), int(workers_kb)


# ---------------------------------------------------------------------------------------------
# the figures


@dataclass
class Sizes:
    domains: int
    models: int
    real: tuple[int, int]
    scale: int
    rounds: int


class Skipped(Exception):
    """A figure whose input is not available here."""


def synthetic(tmp: Path, sizes: Sizes) -> Path:
    if synthetic_mesh.real_artifacts() is None:
        raise Skipped(f"the synthetic mesh is cloned from real jaffle_shop artifacts: set "
                      f"{synthetic_mesh.ARTIFACTS_ENV} to their folder")
    root = tmp / f"synthetic_{sizes.domains}x{sizes.models}"
    if not (root / "mesh.yml").exists():
        synthetic_mesh.generate(root, sizes.domains, sizes.models)
    return root


def _cold_figures(root: Path, files: Path, rounds: int, cold: tuple[str, str],
                  parser: tuple[str, str]) -> list[Figure]:
    """Cold sync ÷ the parse floor and dbt-artifacts-parser ÷ cold sync, from the same rounds."""
    floors, syncs, parses = [], [], []
    for _ in range(rounds):
        floors.append(_run(_FLOOR, str(files))[0])
        syncs.append(_sync_cold(root))
        parses.append(_run(_PARSER, str(files))[0])
    over_floor = [s / f for s, f in zip(syncs, floors, strict=True)]
    over_sync = [p / s for p, s in zip(parses, syncs, strict=True)]
    med = statistics.median
    return [
        Figure(cold[0], cold[1], "<= 2.0", med(over_floor), (min(over_floor), max(over_floor)),
               med(syncs), med(floors)),
        Figure(parser[0], parser[1], ">= 5.0", med(over_sync), (min(over_sync), max(over_sync)),
               med(parses), med(syncs)),
    ]


def fig_sync_cold(tmp: Path, sizes: Sizes) -> list[Figure]:
    root = synthetic(tmp, sizes)
    return _cold_figures(
        root, _artifact_list(root, tmp), sizes.rounds,
        ("sync_cold", f"cold `mesh-sync`, {sizes.domains} x {sizes.models} synthetic mesh "
                      "÷ `orjson.loads` of the same files"),
        ("parser_vs_sync", "same mesh, `dbt-artifacts-parser` ÷ `mesh-sync`"))


def fig_real(tmp: Path, sizes: Sizes) -> list[Figure]:
    d, m = sizes.real
    root = realmesh.generate(realmesh.Shape(d, m))
    return _cold_figures(
        root, _artifact_list(root, tmp), sizes.rounds,
        ("real_cold", f"{d} real {m}-model manifests from `dbt compile` (column lineage runs) "
                      "÷ floor"),
        ("real_parser_vs_sync", "same, `dbt-artifacts-parser` ÷ `mesh-sync`"))


def fig_one_changed(tmp: Path, sizes: Sizes) -> list[Figure]:
    root = synthetic(tmp, sizes)
    mesh = str(root / "mesh.yml")
    ratios, subs, bases, idle = [], [], [], []
    for k in range(sizes.rounds):
        full = _sync_cold(root)
        synthetic_mesh.rebuild_domain(root, sizes.domains, sizes.models, sizes.domains // 2,
                                      f"round{k}")
        one = _run(_SYNC, mesh, cwd=root, allow=(0, 1))[0]
        # Then again with nothing changed: what every sync pays whatever changed.
        idle.append(_run(_SYNC, mesh, cwd=root, allow=(0, 1))[0] / full)
        ratios.append(one / full)
        subs.append(one)
        bases.append(full)
    return [Figure("one_changed", f"one of {sizes.domains} domains changed ÷ full sync", "<= 0.10",
                   statistics.median(ratios), (min(ratios), max(ratios)),
                   statistics.median(subs), statistics.median(bases),
                   note=_idle_note(idle), extra={"nothing_changed": statistics.median(idle)})]


def _idle_note(idle: list[float]) -> str:
    return (f"a sync right after it, with nothing changed, takes {statistics.median(idle):.2f} "
            f"({min(idle):.2f}-{max(idle):.2f}) of the full sync: the part of every sync that "
            "does not depend on what changed.")


def fig_rss(tmp: Path, sizes: Sizes) -> list[Figure]:
    small_n = max(1, sizes.domains // 10)
    big = synthetic(tmp, sizes)
    small = tmp / f"synthetic_{small_n}x{sizes.models}"
    if not (small / "mesh.yml").exists():
        synthetic_mesh.generate(small, small_n, sizes.models)
    ratios, bigs, smalls, workers = [], [], [], []
    for _ in range(max(1, sizes.rounds // 2)):
        (b, wb), (s, ws) = _rss(big), _rss(small)
        ratios.append(b / s)
        bigs.append(b / 1024)
        smalls.append(s / 1024)
        workers += [wb / 1024, ws / 1024]
    return [Figure("rss", f"peak RSS at {sizes.domains} domains ÷ at {small_n} domains", "<= 1.5",
                   statistics.median(ratios), (min(ratios), max(ratios)),
                   statistics.median(bigs), statistics.median(smalls), unit="MB",
                   note=_workers_note(workers))]


def _workers_note(workers_mb: list[float]) -> str:
    what = "the peak RSS of the sync's own process"
    if not any(workers_mb):
        return what + "; no column-lineage worker ran."
    return (f"{what}. Its column-lineage workers, processes of their own, are not counted in the "
            f"ratio: the largest peaked at {min(workers_mb):.0f}-{max(workers_mb):.0f} MB at "
            "either size (`getrusage(RUSAGE_CHILDREN)`).")


def demo_mesh(tmp: Path, scale: int) -> Path:
    """A copy of the repository's demo mesh with its data generated at ``scale``, not built."""
    root = tmp / f"demo_{scale}"
    if root.exists():
        return root
    ignore = shutil.ignore_patterns(".venv", ".git", "target", "dbt_packages", "warehouse", "catalog",
                                    "data", ".bench-cache", "logs", "*.duckdb")
    shutil.copytree(REPO, root, ignore=ignore)
    (root / "warehouse").mkdir(exist_ok=True)
    _cmd([str(BIN / "mesh"), "demo-data", "--mesh", str(root / "mesh.yml"), "--scale", str(scale)],
         cwd=root)
    return root


def _demo_clean(root: Path) -> None:
    for sub in ("warehouse", "catalog"):
        shutil.rmtree(root / sub, ignore_errors=True)
    (root / "warehouse").mkdir()
    for d in (root / "domains").iterdir():
        for sub in ("target", "dbt_packages", "logs"):
            shutil.rmtree(d / sub, ignore_errors=True)


def _domains_in_order(root: Path) -> list[str]:
    import yaml

    return [d["name"] for d in yaml.safe_load((root / "mesh.yml").read_text())["domains"]]


def _hand_env(root: Path) -> dict[str, str]:
    """What a domain engineer's shell has after ``eval "$(mesh env)"``."""
    proc = subprocess.run([str(BIN / "mesh"), "env", "--mesh", str(root / "mesh.yml")], cwd=root,
                          capture_output=True, text=True, check=True)
    env = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    return env


def fig_build(tmp: Path, sizes: Sizes) -> list[Figure]:
    root = demo_mesh(tmp, 1)
    mesh = str(root / "mesh.yml")

    def by_hand() -> float:
        # The domain engineer's loop in every domain, after the one-off `mesh generate` that
        # writes the mesh's policy package and clearances (not timed: mesh build does it too).
        _demo_clean(root)
        _cmd([str(BIN / "mesh"), "generate", "--mesh", mesh], cwd=root)
        env = _hand_env(root)
        total = 0.0
        for dom in _domains_in_order(root):
            proj = root / "domains" / dom
            total += _cmd([str(BIN / "dbt"), "deps", "--quiet"], cwd=proj, env=env)
            total += _cmd([str(BIN / "dbt"), "build", "--quiet"], cwd=proj, env=env)
        return total

    def mesh_build() -> float:
        _demo_clean(root)
        return _cmd([str(BIN / "mesh"), "build", "--mesh", mesh], cwd=root)

    ratio, spread, s, b = _rounds(sizes.rounds, mesh_build, by_hand)
    return [Figure("build", "`mesh build` of the demo (with its sync, checks and catalog marts) "
                   "÷ `dbt deps && dbt build` by hand in each domain, cold", "<= 0.5",
                   ratio, spread, s, b)]


_QUERY_SQL = ("select count(*) as n, count(distinct region) as regions from "
              "consumer_banking.consumer_demographics.consumer_demographics")

_DUCKDB_QUERY = """
import sys, duckdb
from pathlib import Path
con = duckdb.connect()
for f in sorted(Path(sys.argv[1]).glob("*.duckdb")):
    if f.stem != "mesh_catalog":
        con.execute(f"attach '{f}' as {f.stem} (read_only)")
con.execute("set variable mesh_roles = ['analyst']")
print(con.execute(sys.argv[2]).fetchone())
"""


def fig_query(tmp: Path, sizes: Sizes) -> list[Figure]:
    root = demo_mesh(tmp, 1)
    if not (root / "warehouse" / "risk.duckdb").exists():
        _cmd([str(BIN / "mesh"), "build", "--mesh", str(root / "mesh.yml")], cwd=root)
    mesh = str(root / "mesh.yml")
    ratio, spread, s, b = _rounds(
        max(sizes.rounds, 3),
        lambda: _cmd([str(BIN / "mesh"), "query", "--mesh", mesh, "--role", "analyst", _QUERY_SQL],
                     cwd=root),
        lambda: _run(_DUCKDB_QUERY, str(root / "warehouse"), _QUERY_SQL)[0])
    return [Figure("query", "`mesh query` time to first row ÷ python duckdb doing the same",
                   "<= 1.5", ratio, spread, s, b)]


_AGG = """
import sys, time
from meshkit.backends.duckdb.query import connect
from meshkit.config import load_mesh
# The analysts' own session (domains and clearances attached, roles set), unlocked so the
# internal table can be read for the baseline.
con = connect(load_mesh(sys.argv[1]), ["compliance_officer"], locked=False)
sql = sys.argv[2]
con.execute(sql).fetchall()  # warm
# Fifteen runs, about 0.5 s: three (0.1 s) spread the round ratios from 0.75 to 1.32 on a
# shared 2-core machine.
t0 = time.perf_counter()
for _ in range(15):
    con.execute(sql).fetchall()
print(time.perf_counter() - t0)
"""


def fig_secure_view(tmp: Path, sizes: Sizes) -> list[Figure]:
    root = demo_mesh(tmp, sizes.scale)
    db = root / "warehouse" / "consumer_banking.duckdb"
    if not db.exists():
        # --no-sync: the other domains are not built here, so a sync would mark them stale (exit 1)
        _cmd([str(BIN / "mesh"), "build", "--mesh", str(root / "mesh.yml"), "--domain",
              "consumer_banking", "--no-sync"], cwd=root)
    view = "consumer_banking.consumer_credit_card_profile.card_transactions_monthly"
    table = "consumer_banking.internal.consumer_credit_card_profile__card_transactions_monthly"
    agg = ("select region, count(*), sum(spend_amount), avg(transaction_count) from {} group by region")
    ratio, spread, s, b = _rounds(
        sizes.rounds,
        lambda: float(_run(_AGG, str(root / "mesh.yml"), agg.format(view))[1]),
        lambda: float(_run(_AGG, str(root / "mesh.yml"), agg.format(table))[1]))
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(f"select count(*) from {table}").fetchone()
    return [Figure("secure_view", f"aggregation over a secure view ÷ over its internal table "
                   f"({rows[0] if rows else 0:,} rows)", "<= 1.15", ratio, spread, s, b)]


# In this order, the demo figures share one built copy of the demo (build leaves it built).
FIGURES: dict[str, Callable[[Path, Sizes], list[Figure]]] = {
    "sync_cold": fig_sync_cold,
    "real_cold": fig_real,
    "one_changed": fig_one_changed,
    "rss": fig_rss,
    "build": fig_build,
    "query": fig_query,
    "secure_view": fig_secure_view,
}


# ---------------------------------------------------------------------------------------------
# report


def _versions() -> str:
    names = ("meshkit", "dbt-core", "dbt-duckdb", "duckdb", "sqlglot", "orjson", "pydantic",
             "dbt-artifacts-parser")
    out = []
    for n in names:
        try:
            out.append(f"{n} {metadata.version(n)}")
        except metadata.PackageNotFoundError:
            out.append(f"{n} (not installed)")
    return ", ".join(out)


_DIGITS = {"s": 2, "MB": 0}  # decimals of a subject or baseline, by unit


def render(figures: list[Figure], sizes: Sizes, seconds: float) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in
                     Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        model = cpu
    lines = [
        "# meshkit benchmark results",
        "",
        f"Written by `make bench` (`python bench/run.py`) on {dt.date.today().isoformat()}; "
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}; {_versions()}.",
        f"Each figure is the median of {sizes.rounds} rounds (spread: min-max of the round ratios); "
        "subject and baseline each run in a fresh process, alternately, timed from outside; "
        "meshkit's modules byte-compiled first, as an install from a wheel has them (the baseline "
        f"libraries' are). The whole run took {seconds:.0f} s.",
        "",
        "| figure | target | measured (median) | spread | subject | baseline | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        met = {True: "yes", False: "**no**", None: "-"}[f.met]
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
        spread = "-" if f.spread is None else f"{f.spread[0]:.2f}-{f.spread[1]:.2f}"
        subj = "-" if f.subject_s is None else f"{f.subject_s:.{_DIGITS[f.unit]}f} {f.unit}"
        base = "-" if f.baseline_s is None else f"{f.baseline_s:.{_DIGITS[f.unit]}f} {f.unit}"
        lines.append(f"| {f.what} | {f.target} | {ratio} | {spread} | {subj} | {base} | {met} |")
    notes = [f for f in figures if f.note]
    if notes:
        lines += ["", "## Notes", ""] + [f"- **{f.name}**: {f.note}" for f in notes]
    return "\n".join(lines) + "\n"


def _compile_meshkit() -> None:
    """Byte-compile meshkit's modules, as pip does when it installs a wheel (and did for every
    library the baselines import). An editable install run with ``PYTHONDONTWRITEBYTECODE`` set
    would otherwise compile every meshkit module it imports in every subject process, a cost
    (about 30 ms for `mesh query`, more for a sync) no installed meshkit pays."""
    import compileall

    import meshkit

    compileall.compile_dir(str(Path(meshkit.__file__).parent), quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=sorted(FIGURES))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is not met")
    parser.add_argument("--include", action="append", type=Path, default=[],
                        help="results.json of an earlier run whose figures this run does not "
                             "measure again (reported with the others, marked as such)")
    args = parser.parse_args(argv)
    real = os.environ.get("MESH_BENCH_REAL", "15x2000").split("x")
    sizes = Sizes(int(os.environ.get("MESH_BENCH_DOMAINS", "50")),
                  int(os.environ.get("MESH_BENCH_MODELS", "200")),
                  (int(real[0]), int(real[1])), int(os.environ.get("MESH_BENCH_SCALE", "150")),
                  args.rounds)
    if args.smoke:
        sizes = Sizes(3, 40, (2, 10), 1, 1)
    import tempfile

    _compile_meshkit()
    work = args.work or Path(tempfile.mkdtemp(prefix="meshkit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    figures: list[Figure] = []
    for name in args.only or list(FIGURES):
        print(f"== {name}", flush=True)
        try:
            got = FIGURES[name](work, sizes)
        except Skipped as exc:
            got = [Figure(name, name, "<= 0", note=f"skipped: {exc}")]
        except Exception as exc:  # a failing figure is reported, the others still run
            got = [Figure(name, name, "<= 0", note=f"failed: {textwrap.shorten(str(exc), 400)}")]
            if args.smoke:
                raise
        for f in got:
            print(f"   {f.what}: {f.ratio if f.ratio is None else round(f.ratio, 3)} "
                  f"(target {f.target})", flush=True)
        figures.extend(got)
    measured = {f.name for f in figures}
    for earlier in args.include:
        for row in json.loads(earlier.read_text()):
            if row["name"] in measured:
                continue
            row["spread"] = tuple(row["spread"]) if row.get("spread") else None
            f = Figure(**row)
            if "measured by an earlier run" not in (f.note or ""):  # else it names its own run
                f.note = (f.note + " " if f.note else "") + \
                    f"measured by an earlier run ({earlier.parent.name})."
            figures.append(f)
            measured.add(f.name)
    order = ["sync_cold", "parser_vs_sync", "real_cold", "real_parser_vs_sync", *list(FIGURES)[2:]]
    figures.sort(key=lambda f: order.index(f.name) if f.name in order else len(order))
    report = render(figures, sizes, time.perf_counter() - t0)
    if not args.smoke:
        args.out.write_text(report)
        print(f"\nwritten to {args.out}")
    (work / "results.json").write_text(json.dumps([f.__dict__ for f in figures], default=str, indent=2))
    print(report)
    if args.check and any(f.met is False for f in figures):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
