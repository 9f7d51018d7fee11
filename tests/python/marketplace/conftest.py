"""A writable copy of the built demo, synced, for the marketplace tests (access files, the
query log and the site are written into it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from market_support import XSS, copy_built


@pytest.fixture(scope="module")
def market(built_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with a product description that tries to run a script, synced (site written).

    The description is planted in the domain's manifest, as a domain built elsewhere could
    deliver it: the sync reads it like any other metadata.
    """
    from meshkit.catalog.sync import sync
    from meshkit.config import load_mesh

    mesh_file = copy_built(built_demo, tmp_path_factory.mktemp("market") / "mesh")
    manifest = mesh_file.parent / "domains" / "risk" / "target" / "manifest.json"
    data = json.loads(manifest.read_text())
    group = data["groups"]["group.risk.credit_risk_scorecard"]
    group["description"] = f"Scores for credit risk. {XSS} <b>not bold</b>"
    manifest.write_text(json.dumps(data))
    sync(load_mesh(mesh_file))
    return mesh_file
