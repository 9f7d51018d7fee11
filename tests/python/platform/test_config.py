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


def test_a_duplicate_key_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _variant(tmp_path, "    description: Retail accounts",
                    "    description: first\n    description: Retail accounts")
    with pytest.raises(ConfigError) as info:
        load_mesh(path)
    lines = path.read_text().splitlines()
    second = next(i for i, text in enumerate(lines, 1) if "description: Retail accounts" in text)
    assert info.value.location == str(second) and info.value.file == path
    assert f"duplicate key 'description' (first given at line {second - 1})" in str(info.value)
    assert "fix: keep one `description:`" in str(info.value)
    result = CliRunner().invoke(cli, ["sync", "--mesh", str(path)])
    assert result.exit_code == 2 and not (tmp_path / "catalog").exists()


def test_a_duplicate_domain_key_is_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, "  - name: risk\n", "  - name: risk\n    name: risk\n")
    with pytest.raises(ConfigError, match="duplicate key 'name'"):
        load_mesh(path)


def test_a_cycle_of_role_inheritance_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _variant(tmp_path, "  - name: analyst\n", "  - name: analyst\n    inherits: [risk_analyst]\n")
    with pytest.raises(ConfigError) as info:
        load_mesh(path)
    text = str(info.value)
    assert "roles inherit in a cycle: analyst -> risk_analyst -> analyst" in text
    line = path.read_text().splitlines().index("    inherits: [risk_analyst]") + 1
    assert info.value.location == str(line)
    assert "fix: break the cycle: e.g. remove 'risk_analyst' from the `inherits:` of role" in text


def test_a_file_that_is_not_utf8_is_bad_input_at_its_byte(tmp_path: Path) -> None:
    """A Latin-1 é saved into mesh.yml (or any YAML meshkit reads) is exit 2 at its line and
    column, not a traceback."""
    text = (REPO / "mesh.yml").read_text().replace("Retail accounts", "Retail accounts, café", 1)
    path = tmp_path / "mesh.yml"
    path.write_bytes(text.encode("latin-1"))
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "café" in t)
    column = text.splitlines()[line - 1].index("é") + 1
    for args in (["check", "--mesh", str(path)], ["query", "--mesh", str(path), "select 1"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert f"{path}:{line}:{column}: not UTF-8 text: byte 0xe9" in result.output
        assert "save the file as UTF-8" in result.output


def test_the_other_yaml_files_meshkit_reads_are_checked_as_utf8(tmp_path: Path) -> None:
    from meshkit.access import load_requests
    from meshkit.governance.waiver_file import read_waivers

    path = tmp_path / "mesh.yml"
    path.write_text("name: m\ndomains:\n  - name: jaffle_shop\n    artifacts: art\n"
                    "    owner: {name: Jaffle team}\n")
    mesh = load_mesh(path)
    for name, read in (("governance/waivers.yml", read_waivers), ("access/requests.yml",
                                                                  load_requests)):
        file = tmp_path / name
        file.parent.mkdir(parents=True)
        file.write_bytes(b"# r\xe9vis\xe9\n")
        with pytest.raises(ConfigError) as info:
            read(mesh)
        assert info.value.file == file and info.value.location == "1:4", name


@pytest.mark.parametrize("args", [["demo-data", "--scale", "0"], ["demo-data", "--scale", "-1"],
                                  ["sync", "--wait", "-5"], ["serve", "--port", "-1"],
                                  ["serve", "--port", "65536"]])
def test_an_option_out_of_range_is_a_usage_error_not_a_traceback(args: list[str]) -> None:
    result = CliRunner().invoke(cli, [*args, "--mesh", str(REPO / "mesh.yml")])
    assert result.exit_code == 2, result.output
    assert "is not in the range" in result.output and "Traceback" not in result.output


def test_a_value_yaml_reads_as_a_date_that_is_none_is_bad_input_at_its_place(
        tmp_path: Path) -> None:
    """PyYAML builds `2027-02-30` as a date and lets its ValueError through: a traceback, before.
    In mesh.yml, waivers.yml and access/requests.yml it is an error at its line and column."""
    from meshkit.access import load_requests
    from meshkit.governance.waiver_file import read_waivers

    text = (REPO / "mesh.yml").read_text()
    described = next(t for t in text.splitlines() if t.startswith("    description: Retail"))
    path = _variant(tmp_path, described, "    description: 2027-02-30")
    result = CliRunner().invoke(cli, ["check", "--mesh", str(path)])
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "2027-02-30" in t)
    assert result.exit_code == 2, result.output
    assert f"{path}:{line}:18: not a date: 2027-02-30 (day is out of range for month)" in \
        result.output and "fix: write dates as YYYY-MM-DD" in result.output
    mesh = load_mesh(_variant(tmp_path, "Retail accounts", "Retail accounts"))
    for name, read, text in (
            ("governance/waivers.yml", read_waivers,
             "waivers:\n  - policy: dataset.contract\n    node: x\n    reason: r\n"
             "    approver: a\n    expires: 2027-13-01\n"),
            ("access/requests.yml", load_requests, "requests:\n  - created: 2027-13-01\n")):
        file = tmp_path / name
        file.parent.mkdir(parents=True)
        file.write_text(text)
        with pytest.raises(ConfigError) as info:
            read(mesh)
        assert info.value.file == file and info.value.message.startswith("not a date: 2027-13-01")
        assert info.value.location == f"{len(text.splitlines())}:{text.splitlines()[-1].index('2') + 1}"


def test_a_key_given_twice_is_refused_in_every_yaml_file_meshkit_reads(tmp_path: Path) -> None:
    """mesh.yml refused a duplicate key; waivers.yml and access/requests.yml kept the last copy
    silently (a waiver's `node:` given twice excused the second node only; found by a tester)."""
    from meshkit.access import load_requests
    from meshkit.governance.waiver_file import read_waivers

    mesh = load_mesh(_variant(tmp_path, "Retail accounts", "Retail accounts"))
    for name, read, text in (
            ("governance/waivers.yml", read_waivers,
             "waivers:\n  - policy: dataset.contract\n    node: model.a.b\n    reason: reviewed "
             "twice\n    approver: council\n    expires: 2027-01-01\n    node: model.a.c\n"),
            ("access/requests.yml", load_requests, "requests: []\nrequests: []\n")):
        file = tmp_path / name
        file.parent.mkdir(parents=True)
        file.write_text(text)
        with pytest.raises(ConfigError) as info:
            read(mesh)
        key = "node" if "node" in text else "requests"
        assert info.value.file == file and info.value.location == str(len(text.splitlines()))
        assert info.value.message.startswith(f"duplicate key {key!r} (first given at line ")


def test_a_yaml_alias_bomb_is_read_in_linear_time(tmp_path: Path) -> None:
    """Forty levels of nine aliases of the level below: a 1 KB mesh.yml whose tree has 9^40
    paths. Every walk of the node tree looks at each node once (before, the duplicate-key walk
    followed every path: 1.6 s at six levels, 14 s at seven); here it is refused for its unknown
    key. A watchdog turns a hang into a failure: the load takes well under a second."""
    import signal

    value = "&a0 [x, x, x, x, x, x, x, x, x]"
    for i in range(1, 41):
        value = f"&a{i} [{', '.join([value] + [f'*a{i - 1}'] * 8)}]"
    path = tmp_path / "mesh.yml"
    path.write_text(f"name: m\ndomains: []\nbomb: {value}\n")

    def hung(signum: int, frame: object) -> None:
        raise AssertionError("mesh.yml's node tree is walked path by path")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with pytest.raises(ConfigError) as info:
            load_mesh(path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert "bomb" in info.value.message and info.value.location == "3"


@pytest.mark.parametrize("name", ["mesh_governance", "mesh_catalog", "internal", "main",
                                  "d" * 64])
def test_a_domain_cannot_take_a_platform_or_duckdb_name_nor_a_too_long_one(
        tmp_path: Path, name: str) -> None:
    """A domain named mesh_governance built its tables into the clearances' database; after that
    every query and sync failed, with a fix that did not apply. `mesh new domain` with a 300
    character name ended in OSError (file name too long). Both are bad input, before anything is
    written."""
    path = _variant(tmp_path, "  - name: risk\n", f"  - name: {name}\n")
    result = CliRunner().invoke(cli, ["check", "--mesh", str(path)])
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if f"name: {name}" in t)
    assert result.exit_code == 2, result.output
    assert f"{path}:{line}:" in result.output and "choose another name" in result.output
    mesh_file = _variant(tmp_path, "Retail accounts", "Retail accounts")
    before = mesh_file.read_text()
    result = CliRunner().invoke(cli, ["new", "domain", name, "--owner", "o@x.example",
                                      "--mesh", str(mesh_file)])
    assert result.exit_code == 2 and "choose another name" in result.output, result.output
    assert mesh_file.read_text() == before and not (tmp_path / "domains").exists()
