"""Acceptance: meshkit as installed from its wheel runs a mesh outside the repository.

The wheel is built from the source tree with hatchling (as `pip wheel` would), installed with
``--no-deps`` into a fresh virtual environment in a temporary folder, whose own site-packages
come first; the dependencies (dbt, DuckDB, ...) are read from this test run's environment
through a ``.pth`` line rather than installed again (that would only download the same files for
30 s). The editable install of this checkout is not visible there: only the wheel's meshkit and
the platform dbt project inside it are. A mesh is then created in another temporary folder with
the installed ``mesh`` command, one domain built, synced and queried.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from support import REPO


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv holding meshkit installed from its wheel."""
    pytest.importorskip("hatchling")
    work = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", work / "dist", REPO, cwd=work)
    (wheel,) = (work / "dist").glob("meshkit-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "-q", wheel, cwd=work)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=work).strip())
    # The dependencies of this run, after the venv's own packages (so meshkit is the wheel's).
    (site / "zz_meshkit_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def test_a_mesh_outside_the_repository_uses_the_installed_platform(installed: Path,
                                                                   tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESH_", "PYTHON"))}
    where = json.loads(_run(installed / "python", "-c",
                            "import json, meshkit; from meshkit.platform_project import platform_dir;"
                            "print(json.dumps([meshkit.__file__, str(platform_dir())]))",
                            cwd=tmp_path, env=env))
    package, platform = (Path(p) for p in where)
    assert package.is_relative_to(installed.parent) and not package.is_relative_to(REPO)
    assert platform == package.parent / "platform"
    assert (platform / "macros" / "platform" / "secure_view.sql").is_file()
    assert not (platform / "macros" / "_generated").exists()  # a mesh's policy is its own

    mesh_dir = tmp_path / "acme"
    mesh = installed / "mesh"
    _run(mesh, "init", mesh_dir, cwd=tmp_path, env=env)
    _run(mesh, "new", "domain", "sales", "--owner", "sales@acme.example", cwd=mesh_dir, env=env)
    _run(mesh, "new", "product", "sales", "orders", cwd=mesh_dir, env=env)
    _run(mesh, "build", cwd=mesh_dir, env=env)
    # Self-serve acceptance (issue 11): a sync on its own, then the product in the catalog.
    _run(installed / "mesh-sync", cwd=mesh_dir, env=env)
    shown = json.loads(_run(mesh, "catalog", "show", "sales.orders", "--json", cwd=mesh_dir,
                            env=env))
    assert shown["address"] == "sales.orders" and shown["status"] == "draft"
    assert [ds["id"] for ds in shown["datasets"]] == ["sales.orders.orders"]

    # The domain installed the wheel's platform and the mesh's own policy, copying neither.
    packages = mesh_dir / "domains" / "sales" / "dbt_packages"
    assert (packages / "mesh_platform").resolve() == platform.resolve()
    assert (packages / "mesh_policy").resolve() == (mesh_dir / "mesh_policy").resolve()
    assert (mesh_dir / "mesh_policy" / "macros" / "mesh_policy.sql").is_file()
    assert not any(mesh_dir.glob("macros")) and not (mesh_dir / "dbt_project.yml").exists()

    catalog = json.loads((mesh_dir / "catalog" / "catalog.json").read_text())
    assert [p["name"] for d in catalog["domains"] for p in d["products"]] == ["orders"]
    rows = json.loads(_run(mesh, "query", "--format", "json",
                           "select contact_email from sales.orders.orders", cwd=mesh_dir, env=env))
    assert rows and {r["contact_email"] for r in rows} == {"***MASKED***"}
    # The catalog marts were built from the installed platform over this mesh's catalog.
    import duckdb

    with duckdb.connect(str(mesh_dir / "warehouse" / "mesh_catalog.duckdb"), read_only=True) as con:
        products = con.execute("select product_id from marts.mesh_products").fetchall()
    assert products == [("sales.orders",)]
