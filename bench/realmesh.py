"""A mesh of REAL dbt artifacts for the benchmarks: projects written out, compiled by dbt itself.

``synthetic_mesh`` (tests/python/bench) clones the real jaffle_shop artifacts node by node; this
module instead writes N small-but-realistic dbt projects (staging -> intermediate -> marts, groups
with owners and SLAs, public contracted models with classified columns, versioned products,
generic tests, cross-domain refs through dbt-loom) and runs ``dbt compile`` in each, so every byte
of ``manifest.json`` and ``run_results.json`` is dbt's own, compiled SQL included.

Compiling is slow (seconds per domain), so a generated mesh is cached by its shape and the
generator version under ``.bench-cache/`` (or ``$MESH_BENCH_CACHE``) and reused by later runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

GENERATOR_VERSION = "1"
REPO = Path(__file__).resolve().parents[1]
CLASSIFICATIONS = ("public", "internal", "confidential", "pii")
# Realistic proportions of a mature dbt project: a staging layer over sources, a wider layer of
# intermediate models, and marts of which about one in five is a public product output.
STAGING_SHARE = 0.2
MART_SHARE = 0.3
PUBLIC_EVERY = 5  # every 5th mart model is a public product dataset
GROUP_SIZE = 8  # marts per product (dbt group)
UPSTREAMS = 2  # domains of the previous layer each domain reads through dbt-loom
LAYER = 5  # domains per dependency layer: a layer reads only the one before it
CROSS_REFS = 4  # staging models per domain that read an upstream product instead of a source

COLUMNS = (
    ("id", "integer", "internal"),
    ("customer_name", "varchar", "pii"),
    ("email", "varchar", "pii"),
    ("amount", "decimal(18,2)", "confidential"),
    ("region", "varchar", "public"),
    ("created_at", "timestamp", "internal"),
)


@dataclass(frozen=True)
class Shape:
    domains: int
    models: int

    @property
    def key(self) -> str:
        raw = f"{GENERATOR_VERSION}:{self.domains}x{self.models}"
        return f"real_{self.domains}x{self.models}_{hashlib.sha256(raw.encode()).hexdigest()[:8]}"


def domain_name(i: int) -> str:
    return f"rdom_{i:03d}"


def _layers(m: int) -> tuple[int, int, int]:
    staging = max(2, int(m * STAGING_SHARE))
    marts = max(1, int(m * MART_SHARE))
    return staging, m - staging - marts, marts


def _upstreams(i: int) -> list[int]:
    layer = i // LAYER
    if layer == 0:
        return []
    base = (layer - 1) * LAYER
    return sorted({base + (i + k) % LAYER for k in range(UPSTREAMS)})


def _public_marts(m: int) -> list[str]:
    _, _, marts = _layers(m)
    return [f"mart_{k:04d}" for k in range(marts) if k % PUBLIC_EVERY == 0]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _cols(classified: bool, tests: bool) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for name, dtype, cls in COLUMNS:
        col: dict[str, object] = {"name": name, "data_type": dtype,
                                  "description": f"The {name.replace('_', ' ')}."}
        if classified:
            col["meta"] = {"classification": cls}
            if cls == "pii":
                col["meta"] = {"classification": cls, "regulations": ["gdpr"]}
        if tests and name == "id":
            col["data_tests"] = ["unique", "not_null"]
        out.append(col)
    return out


def write_domain(root: Path, i: int, m: int) -> Path:
    """Writes domain ``i`` of a mesh of ``m`` models per domain as a dbt project under ``root``."""
    dom = domain_name(i)
    proj = root / "domains" / dom
    staging, inter, marts = _layers(m)
    _write(proj / "dbt_project.yml", yaml.safe_dump({
        "name": dom, "version": "1.0.0", "config-version": 2, "profile": dom,
        "model-paths": ["models"], "flags": {"send_anonymous_usage_stats": False},
        "models": {dom: {"staging": {"+materialized": "view"},
                         "intermediate": {"+materialized": "view"},
                         "marts": {"+materialized": "table"}}},
    }, sort_keys=False))
    _write(proj / "profiles.yml", yaml.safe_dump({dom: {"target": "dev", "outputs": {"dev": {
        "type": "duckdb", "path": f"{root}/warehouse/{dom}.duckdb", "threads": 2}}}}))
    ups = _upstreams(i)
    if ups:
        _write(proj / "dbt_loom.config.yml", yaml.safe_dump({"enable_telemetry": False, "manifests": [
            {"name": domain_name(u), "type": "file",
             "config": {"path": str(root / "domains" / domain_name(u) / "target" / "manifest.json")}}
            for u in ups]}))
    cols_sql = ", ".join(c[0] for c in COLUMNS)
    _write(proj / "models" / "staging" / "_sources.yml", yaml.safe_dump({"version": 2, "sources": [{
        "name": "raw", "schema": "raw", "tables": [
            {"name": f"raw_{k:04d}", "description": f"Landed file {k}.",
             "columns": [{"name": c[0], "data_type": c[1]} for c in COLUMNS]}
            for k in range(staging)]}]}))
    up_products = [(domain_name(u), p) for u in ups for p in _public_marts(m)[:CROSS_REFS]]
    stg_yml = []
    for k in range(staging):
        name = f"stg_{k:04d}"
        if k < len(up_products):
            udom, uprod = up_products[k]
            src = f"{{{{ ref('{udom}', '{uprod}') }}}}"
        else:
            src = f"{{{{ source('raw', 'raw_{k:04d}') }}}}"
        _write(proj / "models" / "staging" / f"{name}.sql",
               f"with source as (\n    select * from {src}\n),\n\nrenamed as (\n"
               f"    select\n        id,\n        trim(customer_name) as customer_name,\n"
               f"        lower(email) as email,\n        cast(amount as decimal(18, 2)) as amount,\n"
               f"        upper(region) as region,\n        created_at\n    from source\n)\n\n"
               f"select * from renamed\n")
        stg_yml.append({"name": name, "description": f"Staged rows of source {k}.",
                        "columns": _cols(False, k % 3 == 0)})
    _write(proj / "models" / "staging" / "_staging.yml",
           yaml.safe_dump({"version": 2, "models": stg_yml}, sort_keys=False))
    int_yml = []
    for k in range(inter):
        name = f"int_{k:04d}"
        left = f"stg_{k % staging:04d}" if k < staging else f"int_{k - staging:04d}"
        right = f"stg_{(k * 7 + 1) % staging:04d}"
        _write(proj / "models" / "intermediate" / f"{name}.sql",
               f"with a as (\n    select * from {{{{ ref('{left}') }}}}\n),\n\n"
               f"b as (\n    select id, amount from {{{{ ref('{right}') }}}}\n),\n\n"
               f"joined as (\n    select\n        a.id,\n        a.customer_name,\n        a.email,\n"
               f"        a.amount + coalesce(b.amount, 0) as amount,\n        a.region,\n"
               f"        a.created_at\n    from a\n    left join b on a.id = b.id\n)\n\n"
               f"select * from joined\n")
        int_yml.append({"name": name, "description": f"Intermediate join {k}.",
                        "columns": _cols(False, k % 4 == 0)})
    _write(proj / "models" / "intermediate" / "_intermediate.yml",
           yaml.safe_dump({"version": 2, "models": int_yml}, sort_keys=False))
    groups = []
    mart_yml = []
    for k in range(marts):
        name = f"mart_{k:04d}"
        group = f"product_{k // GROUP_SIZE:03d}"
        if k % GROUP_SIZE == 0:
            groups.append({"name": group, "owner": {"name": f"{dom} team", "email": f"{dom}@example.com"},
                           "description": f"Product {group} of {dom}.",
                           "config": {"meta": {"status": "active", "sla": {"freshness": "24h"},
                                               "tier": "gold" if k == 0 else "silver"}}})
        parent = f"int_{k % max(inter, 1):04d}" if inter else f"stg_{k % staging:04d}"
        _write(proj / "models" / "marts" / f"{name}.sql",
               f"with base as (\n    select * from {{{{ ref('{parent}') }}}}\n),\n\n"
               f"final as (\n    select\n        {cols_sql.replace(', ', ',' + chr(10) + '        ')}\n"
               f"    from base\n    where amount is not null\n)\n\nselect * from final\n")
        public = k % PUBLIC_EVERY == 0
        entry: dict[str, object] = {
            "name": name, "description": f"Mart {k} of {group}.", "group": group,
            "access": "public" if public else "protected",
            "columns": _cols(public, True),
        }
        if public:
            entry["config"] = {"contract": {"enforced": True}}
        mart_yml.append(entry)
    _write(proj / "models" / "marts" / "_marts.yml",
           yaml.safe_dump({"version": 2, "groups": groups, "models": mart_yml}, sort_keys=False))
    return proj


def _dbt() -> str:
    exe = Path(sys.executable).parent / "dbt"
    return str(exe) if exe.exists() else "dbt"


def compile_domain(proj: Path, attempts: int = 2) -> None:
    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    for attempt in range(attempts):
        proc = subprocess.run([_dbt(), "compile", "--project-dir", str(proj), "--profiles-dir",
                               str(proj)], cwd=proj, env=env, capture_output=True, text=True,
                              timeout=3600)
        if proc.returncode == 0:
            break
        if attempt == attempts - 1:
            raise RuntimeError(f"dbt compile failed in {proj} (see its logs/dbt.log):\n"
                               f"{proc.stdout[-4000:]}{proc.stderr[-4000:]}")
    shutil.rmtree(proj / "target" / "compiled", ignore_errors=True)
    shutil.rmtree(proj / "target" / "run", ignore_errors=True)


# The classifications the columns declare (COLUMNS), as a mesh defines them.
CLASSIFICATIONS = {"public": {"mask": "none"}, "internal": {"mask": "none"},
                   "confidential": {"mask": "nullify"}, "pii": {"mask": "redact"}}


def mesh_yml(n: int) -> str:
    return yaml.safe_dump({
        "name": "bench_mesh", "description": "Benchmark mesh of real dbt artifacts.",
        "domains": [{"name": domain_name(i), "path": f"domains/{domain_name(i)}",
                     "owner": {"name": f"{domain_name(i)} team", "email": f"{domain_name(i)}@example.com"}}
                    for i in range(n)],
        "classifications": CLASSIFICATIONS,
        # A governed mesh: every built-in policy runs, at its defaults, in every sync.
        "policies": {},
    }, sort_keys=False)


def cache_root() -> Path:
    return Path(os.environ.get("MESH_BENCH_CACHE", REPO / ".bench-cache"))


def generate(shape: Shape, *, dest: Path | None = None, workers: int = 2,
             progress: bool = True) -> Path:
    """The folder of a compiled mesh of ``shape`` (mesh.yml inside), built once and cached."""
    root = dest or cache_root() / shape.key
    done = root / ".complete"
    if done.exists():
        # mesh.yml is not dbt's input: a cached mesh takes the generator's current one.
        (root / "mesh.yml").write_text(mesh_yml(shape.domains))
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "warehouse").mkdir(parents=True)
    projects = [write_domain(root, i, shape.models) for i in range(shape.domains)]
    (root / "mesh.yml").write_text(mesh_yml(shape.domains))
    # A layer reads only the layer before it, so each layer compiles side by side.
    waves = [projects[start:start + LAYER] for start in range(0, len(projects), LAYER)]
    finished = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for wave in waves:
            list(pool.map(compile_domain, wave))
            finished += len(wave)
            if progress:
                print(f"  compiled {finished}/{len(projects)} domains of {shape.key}", flush=True)
    done.write_text(GENERATOR_VERSION)
    return root


if __name__ == "__main__":
    d, m = (int(x) for x in sys.argv[1:3])
    print(generate(Shape(d, m)))
