"""Shared fixtures: the real demo mesh, copied to a temp dir and built once with the real dbt.

Tests never build inside the repository: the mesh (mesh.yml, the root dbt project, the domains)
is copied to a temp dir first, so fixtures stay pristine and tests can break things freely.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import copy_mesh


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo mesh, data generated at scale 1 and every domain built on DuckDB.

    Yields the path of its mesh.yml. Shared by the whole session: treat it as read-only
    (copy it with ``copy_mesh`` to change anything).
    """
    from meshkit.build import build
    from meshkit.config import load_mesh
    from meshkit.demo.generate import generate

    root = tmp_path_factory.mktemp("demo")
    mesh_file = copy_mesh(root)
    generate(root / "data" / "raw", scale=1.0)
    mesh = load_mesh(mesh_file)
    result = build(mesh)
    failures = [(d.domain, d.errors) for d in result.domains if d.status.value != "success"]
    assert not failures, f"demo build failed: {failures}"
    yield mesh_file
