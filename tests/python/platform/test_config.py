"""mesh.yml errors name the file, the line and the fix; exit code 2 from the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from meshkit.cli.main import cli
from meshkit.config import load_mesh
from meshkit.errors import ConfigError
from support import REPO


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = (REPO / "mesh.yml").read_text()
    assert old in text
    path = tmp_path / "mesh.yml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_demo_mesh_loads() -> None:
    mesh = load_mesh(REPO / "mesh.yml")
    assert [d.name for d in mesh.config.domains] == ["consumer_banking", "asset_management", "risk"]


def test_misspelt_key_names_line_and_suggests(tmp_path: Path) -> None:
    path = _variant(tmp_path, "    description: Retail accounts", "    descripton: Retail accounts")
    with pytest.raises(ConfigError) as info:
        load_mesh(path)
    err = info.value
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "descripton" in text)
    assert err.file == path and err.location == str(line)
    assert "did you mean 'description'" in str(err)


def test_unknown_role_is_named(tmp_path: Path) -> None:
    path = _variant(tmp_path, "cleared: [pii_reader]", "cleared: [pii_raeder]")
    with pytest.raises(ConfigError, match="unknown role 'pii_raeder' \\(did you mean 'pii_reader'\\?\\)"):
        load_mesh(path)


def test_bad_yaml_gives_position(tmp_path: Path) -> None:
    path = _variant(tmp_path, "name: finserv_mesh", "name: [finserv_mesh")
    with pytest.raises(ConfigError) as info:
        load_mesh(path)
    assert info.value.location is not None and "YAML" in str(info.value)


def test_cli_exit_code_2_on_bad_config(tmp_path: Path) -> None:
    path = _variant(tmp_path, "  - name: risk\n", "  - name: Risk\n")
    result = CliRunner().invoke(cli, ["query", "--mesh", str(path), "select 1"])
    assert result.exit_code == 2
    assert str(path) in result.output and "fix:" in result.output


def test_missing_mesh_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["build", "--mesh", str(tmp_path / "nope.yml")])
    assert result.exit_code == 2
    assert "mesh file not found" in result.output and "--mesh" in result.output


def test_domain_by_artifacts_alone_needs_no_roles(tmp_path: Path) -> None:
    path = tmp_path / "mesh.yml"
    path.write_text("name: m\ndomains:\n  - name: jaffle_shop\n    artifacts: art\n"
                    "    owner: {name: Jaffle team}\n")
    mesh = load_mesh(path)
    assert mesh.config.domains[0].reads_as == []


def test_unknown_role_points_at_its_line(tmp_path: Path) -> None:
    path = _variant(tmp_path, "reads_as: [risk_analyst, eu_data_reader]",
                    "reads_as: [risk_analyst, eu_data_raeder]")
    with pytest.raises(ConfigError) as info:
        load_mesh(path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "raeder" in text)
    assert info.value.location == str(line)
    assert "domains.2.reads_as.1" in str(info.value)
