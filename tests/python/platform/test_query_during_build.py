"""An analyst's queries during a rebuild see the old view or the new one, never an error: a query
loop in another process (the domains attached read-only, as `mesh query` does) runs while the
domain is rebuilt with the real dbt."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from meshkit.build import build
from meshkit.config import load_mesh

VIEW = "consumer_banking.consumer_demographics.consumer_demographics"
_SKIP = shutil.ignore_patterns("dbt_packages", "logs", "*.msgpack", "*.gpickle")

# Runs until the stop file appears; prints what every query returned, or its error.
LOOP = f"""
import json, sys, time
from pathlib import Path
from meshkit.backends.duckdb.query import connect
from meshkit.config import load_mesh

mesh, stop = load_mesh(sys.argv[1]), Path(sys.argv[2])
outcomes = []
while not stop.exists():
    started = time.time()
    try:
        con = connect(mesh, [])
        try:
            rows = con.execute("select count(*), count(distinct customer_id) from {VIEW}").fetchall()
        finally:
            con.close()
        outcomes.append({{"at": started, "rows": [list(r) for r in rows]}})
    except Exception as exc:
        outcomes.append({{"at": started, "error": f"{{type(exc).__name__}}: {{exc}}"}})
print(json.dumps(outcomes))
"""


def test_queries_during_a_rebuild_never_fail(built_demo: Path, tmp_path: Path) -> None:
    shutil.copytree(built_demo.parent, tmp_path / "demo", ignore=_SKIP)
    mesh_file = tmp_path / "demo" / "mesh.yml"
    mesh = load_mesh(mesh_file)
    stop = tmp_path / "stop"
    loop = subprocess.Popen([sys.executable, "-c", LOOP, str(mesh_file), str(stop)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # the loop is querying before the build starts
        began = time.time()
        result = build(mesh, only=["consumer_banking"])
        ended = time.time()
        time.sleep(1)
    finally:
        stop.touch()
        out, err = loop.communicate(timeout=120)
    assert loop.returncode == 0, err[-3000:]
    assert [d.status.value for d in result.domains] == ["success"], result.domains
    outcomes = json.loads(out)
    errors = [o["error"] for o in outcomes if "error" in o]
    assert errors == []
    answers = {json.dumps(o["rows"]) for o in outcomes}
    assert len(answers) == 1  # the same data rebuilt: old and new views answer alike
    during = [o for o in outcomes if began <= o["at"] <= ended]
    assert len(during) >= 3, f"only {len(during)} queries ran during the {ended - began:.1f}s build"
