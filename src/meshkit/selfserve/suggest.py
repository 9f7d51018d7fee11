"""`mesh suggest products DOMAIN`: models others would reuse, proposed as data products with their
contract YAML written for review.

A model is a candidate when others build on it: models of its own domain (fan-out), models of
other domains (cross-domain consumers), exposures; or when it is a mart (not staging or
intermediate). Each candidate's contract takes its column types from ``catalog.json`` (what the
warehouse holds), its primary key from the model's unique + not_null tests (else a key-like
column, with those tests added), and a classification guessed from the column's name (personal
data: ``pii`` with GDPR and CCPA; card and account numbers: ``sensitive`` with PCI DSS).

For a domain built here, the proposal is written into its dbt project (the model's own YAML entry
is completed in place, the groups go in ``models/_suggested_products.yml``), status ``draft``:
review it with ``git diff``, and a re-run of ``mesh build`` publishes it. For a domain registered
by artifacts, it is written to ``suggestions/<domain>/`` for its team to take over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshkit.artifacts import DomainArtifacts, LocalArtifacts, NodeInfo, read_domain_artifacts
from meshkit.config import Domain, Mesh
from meshkit.errors import ArtifactError, ConfigError, UsageError
from meshkit.selfserve import meshfile
from meshkit.selfserve.render import Written, write_text

GROUPS_FILE = "_suggested_products.yml"
SUGGESTIONS_DIR = "suggestions"
_NOT_MARTS = re.compile(r"^(stg|staging|int|base|tmp|raw)_")
# config() keys of a model's SQL that a product's YAML must be able to set.
PRODUCT_KEYS = ("materialized", "access", "group", "contract")
_CONFIG_CALL = re.compile(r"\{\{-?\s*config\s*\((?P<args>.*?)\)\s*-?\}\}", re.S)


def sql_config_overrides(sql: str) -> list[tuple[list[str], int]]:
    """The ``config()`` calls of a model's SQL that set what a product's YAML must: (keys,
    1-based line) each. dbt applies config() in SQL over the model's YAML.

    >>> sql_config_overrides("{{ config(materialized='table') }}\\nselect 1")
    [(['materialized'], 1)]
    """
    found = []
    for call in _CONFIG_CALL.finditer(sql):
        keys = [k for k in PRODUCT_KEYS if re.search(rf"\b{k}\s*=", call.group("args"))]
        if keys:
            found.append((keys, sql.count("\n", 0, call.start()) + 1))
    return found
# Kinds of personal data whose columns are card or account numbers (PCI DSS), the rest GDPR/CCPA.
_PAYMENT_KINDS = ("card number", "account number", "iban")


@dataclass
class SuggestedColumn:
    name: str
    data_type: str | None
    classification: str
    regulations: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    description: str = ""
    why: str = ""


@dataclass
class Candidate:
    unique_id: str
    model: str
    product: str
    score: int
    reasons: list[str]
    columns: list[SuggestedColumn]
    primary_key: list[str]
    blockers: list[str] = field(default_factory=list)


@dataclass
class Suggestion:
    domain: str
    candidates: list[Candidate]
    written: Written = field(default_factory=Written)


def guess_classification(column: str) -> tuple[str, list[str], str]:
    """(classification, regulations, why) for a column, from its name.

    >>> guess_classification("customer_name")[:2], guess_classification("order_total")[:2]
    (('pii', ['gdpr', 'ccpa']), ('internal', []))
    """
    from meshkit.governance.patterns import personal_kind

    kind = personal_kind(column)
    if kind is None:
        return "internal", [], ""
    if kind in _PAYMENT_KINDS:
        return "sensitive", ["pci_dss"], f"looks like a {kind}"
    return "pii", ["gdpr", "ccpa"], f"looks like a {kind}"


def _singular(name: str) -> str:
    return name[:-3] + "y" if name.endswith("ies") else name[:-1] if name.endswith("s") else name


def _primary_key(node: NodeInfo, arts: DomainArtifacts,
                 columns: list[tuple[str, str]]) -> tuple[list[str], bool]:
    """The key columns and whether the model tests them already (unique and not_null)."""
    tested: dict[str, set[str]] = {}
    for t in arts.tests:
        if t.attached_node == node.unique_id and t.column_name:
            tested.setdefault(t.column_name.lower(), set()).add(t.test_type)
    for name, kinds in sorted(tested.items()):
        if {"unique", "not_null"} <= kinds:
            return [name], True
    names = [c.lower() for c, _ in columns]
    for guess in (f"{_singular(node.name)}_id", f"{node.name}_id", "id"):
        if guess in names:
            return [guess], False
    return [], False


def _candidates(mesh: Mesh, domain: Domain, arts: DomainArtifacts,
                only: list[str] | None) -> list[Candidate]:
    package = arts.project_name or domain.name
    own = {uid: n for uid, n in arts.nodes.items()
           if n.package_name == package and n.resource_type == "model"}
    fan_out: dict[str, int] = {}
    for n in own.values():
        for parent in n.depends_on:
            fan_out[parent] = fan_out.get(parent, 0) + 1
    consumers: dict[str, set[str]] = {}
    for other in mesh.config.domains:
        if other.name == domain.name:
            continue
        try:
            theirs = read_domain_artifacts(LocalArtifacts(mesh.artifacts_path(other)))
        except ArtifactError:
            continue  # not built yet: it consumes nothing we can see
        for n in theirs.nodes.values():
            if n.package_name == (theirs.project_name or other.name):
                for parent in n.depends_on:
                    if parent in own:
                        consumers.setdefault(parent, set()).add(other.name)
    exposures: dict[str, list[str]] = {}
    for e in arts.exposures:
        for uid in e.depends_on:
            exposures.setdefault(uid, []).append(e.name)

    out: list[Candidate] = []
    for uid, node in sorted(own.items()):
        if node.group and node.access == "public":
            continue  # a product's dataset already
        if only and node.name not in only:
            continue
        reasons: list[str] = []
        score = 0
        if consumers.get(uid):
            score += 3 * len(consumers[uid])
            reasons.append(f"read by domain(s) {', '.join(sorted(consumers[uid]))}")
        if exposures.get(uid):
            score += 2 * len(exposures[uid])
            reasons.append(f"exposure(s) {', '.join(sorted(exposures[uid]))}")
        if fan_out.get(uid):
            score += fan_out[uid]
            reasons.append(f"{fan_out[uid]} model(s) of the domain build on it")
        is_mart = not _NOT_MARTS.match(node.name)
        if is_mart:
            score += 2
            reasons.append("a mart (not staging or intermediate)")
        elif not only:
            continue  # staging and intermediate models are internals, whatever reads them
        if score == 0 and not only:
            continue
        warehouse = list(arts.warehouse_columns.get(uid, ()))
        documented = {c.name.lower(): c for c in node.columns}
        if not warehouse:
            warehouse = [(c.name, c.data_type or "") for c in node.columns]
        key, key_tested = _primary_key(node, arts, warehouse)
        columns = []
        for name, data_type in warehouse:
            classification, regulations, why = guess_classification(name)
            lower = name.lower()
            if lower in key and classification in ("pii", "sensitive"):
                classification, why = "internal", "the key: tests read it unmasked"
            tests = ["unique", "not_null"] if lower in key and not key_tested else []
            doc = documented.get(lower)
            columns.append(SuggestedColumn(
                name=lower, data_type=data_type or None, classification=classification,
                regulations=regulations, tests=tests,
                description=doc.description if doc and doc.description else "TODO", why=why))
        blockers = []
        if not arts.warehouse_columns.get(uid):
            blockers.append("no column types in catalog.json: run `dbt docs generate` (or "
                            "`mesh suggest products` on a built domain) and suggest again")
        if not key:
            blockers.append("no primary key found: add unique and not_null tests to its key")
        sql_file = _sql_file(mesh, domain, node)
        if sql_file is not None:
            for keys, line in sql_config_overrides(sql_file.read_text(errors="replace")):
                blockers.append(f"{sql_file.name}:{line}: config() sets {', '.join(keys)}, which "
                                "overrides the YAML: move it to the YAML")
        out.append(Candidate(unique_id=uid, model=node.name, product=node.name, score=score,
                             reasons=reasons, columns=columns, primary_key=key,
                             blockers=blockers))
    return sorted(out, key=lambda c: (-c.score, c.model))


def _sql_file(mesh: Mesh, domain: Domain, node: NodeInfo) -> Path | None:
    project = mesh.domain_path(domain)
    if project is None:
        return None
    rel = getattr(node, "original_file_path", None)
    if rel:
        return project / rel if (project / rel).is_file() else None
    found = [p for p in (project / "models").rglob(f"{node.name}.sql")
             if not {"target", "dbt_packages"} & set(p.parts)]
    return found[0] if found else None


def _model_entry(c: Candidate) -> dict[str, Any]:
    return {
        "name": c.model,
        "config": {"group": c.product, "access": "public", "materialized": "secure_view",
                   "contract": {"enforced": True}},
        "columns": [_column_entry(col) for col in c.columns],
    }


def _column_entry(col: SuggestedColumn) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": col.name, "data_type": col.data_type}
    if col.description:
        entry["description"] = col.description
    if col.tests:
        entry["data_tests"] = list(col.tests)
    meta: dict[str, Any] = {"classification": col.classification}
    if col.regulations:
        meta["regulations"] = list(col.regulations)
    entry["config"] = {"meta": meta}
    return entry


def _group_entry(c: Candidate, domain: Domain) -> dict[str, Any]:
    owner: dict[str, Any] = {"name": domain.owner.name}
    if domain.owner.email:
        owner["email"] = domain.owner.email
    return {
        "name": c.product,
        "owner": owner,
        "description": f"TODO: suggested from {c.model} ({'; '.join(c.reasons)}).",
        "config": {"meta": {"status": "draft", "sla": {"freshness": "24h"}}},
    }


def suggest_products(mesh: Mesh, domain_name: str, *, only: list[str] | None = None,
                     write: bool = True, docs: bool = True) -> Suggestion:
    """Candidates of ``domain_name`` with their contracts; written unless ``write`` is False.

    For a domain built here whose target/ has no catalog.json yet, ``dbt docs generate`` runs
    first (``docs``), so the contract's column types are the warehouse's.
    """
    domain = mesh.config.domain(domain_name)
    folder = mesh.artifacts_path(domain)
    project = mesh.domain_path(domain)
    if project is not None and docs and not (folder / "catalog.json").is_file():
        _docs_generate(mesh, domain, project)
    arts = read_domain_artifacts(LocalArtifacts(folder))
    candidates = _candidates(mesh, domain, arts, only)
    if only:
        missing = sorted(set(only) - {c.model for c in candidates})
        if missing:
            raise UsageError(f"no model named {missing[0]!r} in domain {domain.name!r} (or it "
                             "is a product's dataset already)", fix="name one of its models")
    result = Suggestion(domain=domain.name, candidates=candidates)
    if write and candidates:
        if project is None:
            _write_review_file(mesh, domain, candidates, result.written)
        else:
            _write_into_project(domain, project, candidates, result.written)
    return result


def _docs_generate(mesh: Mesh, domain: Domain, project: Path) -> None:
    from meshkit.build import dbt_env
    from meshkit.dbt_runner import run_dbt

    run = run_dbt(project, ["docs", "generate"], env=dbt_env(mesh, "dev"))
    if not run.success:
        raise ArtifactError(f"`dbt docs generate` failed in domain {domain.name!r}: "
                            f"{'; '.join(run.errors)[:300]}", file=project,
                            fix="build the domain first: `mesh build --domain "
                                f"{domain.name}`")


def _write_review_file(mesh: Mesh, domain: Domain, candidates: list[Candidate],
                       written: Written) -> None:
    doc = {"groups": [_group_entry(c, domain) for c in candidates],
           "models": [_model_entry(c) for c in candidates]}
    file = mesh.root / SUGGESTIONS_DIR / domain.name / "products.yml"
    header = (f"# Data products suggested for {domain.name} by `mesh suggest products`: review, "
              "then copy into the project's\n# models/ (merge each model entry with its own "
              "YAML) and build.\n")
    write_text(file, header + yaml.safe_dump(doc, sort_keys=False, width=100))
    written.created.append(file)


def _write_into_project(domain: Domain, project: Path, candidates: list[Candidate],
                        written: Written) -> None:
    """Complete each model's YAML entry in place (or add one), and declare the groups."""
    from ruamel.yaml.comments import CommentedMap

    models_dir = project / "models"
    groups_file = models_dir / GROUPS_FILE
    groups_doc = (meshfile.load_document(groups_file) if groups_file.is_file()
                  else CommentedMap()) or CommentedMap()
    groups_doc.setdefault("groups", [])
    new_models = groups_doc.setdefault("models", [])
    for c in candidates:
        groups_doc["groups"].append(_group_entry(c, domain))
        located = _find_model_entry(project, c.model)
        if located is None:
            new_models.append(_model_entry(c))
            continue
        file, doc, entry = located
        _merge_entry(entry, _model_entry(c))
        write_text(file, meshfile.dump_document(doc))
        written.changed.append(file)
    if not new_models:
        del groups_doc["models"]
    existed = groups_file.is_file()
    write_text(groups_file, meshfile.dump_document(groups_doc))
    (written.changed if existed else written.created).append(groups_file)


def _find_model_entry(project: Path, model: str) -> tuple[Path, Any, Any] | None:
    for file in sorted([*(project / "models").rglob("*.yml"), *(project / "models").rglob("*.yaml")]):
        if file.name == GROUPS_FILE:
            continue
        try:
            doc = meshfile.load_document(file)
        except ConfigError:  # an unreadable file is dbt's to report
            continue
        if not isinstance(doc, dict):
            continue
        for entry in doc.get("models") or ():
            if isinstance(entry, dict) and entry.get("name") == model:
                return file, doc, entry
    return None


def _merge_entry(entry: Any, proposal: dict[str, Any]) -> None:
    """The proposal's config and columns into the existing entry, keeping what it says already
    (descriptions, tests, meta) and adding what the contract needs."""
    from ruamel.yaml.comments import CommentedMap

    config = entry.setdefault("config", CommentedMap())
    for key, value in proposal["config"].items():
        config[key] = value
    for key in ("access", "group"):  # top-level properties would conflict with config's
        entry.pop(key, None)
    existing = {str(c.get("name")).lower(): c for c in entry.get("columns") or ()}
    columns = []
    for col in proposal["columns"]:
        current = existing.get(col["name"])
        if current is None:
            columns.append(col)
            continue
        current["data_type"] = col["data_type"]
        cfg = current.setdefault("config", CommentedMap())
        meta = cfg.setdefault("meta", CommentedMap())
        meta.setdefault("classification", col["config"]["meta"]["classification"])
        if "regulations" in col["config"]["meta"]:
            meta.setdefault("regulations", col["config"]["meta"]["regulations"])
        if col.get("data_tests"):
            tests = current.setdefault("data_tests", [])
            tests.extend(t for t in col["data_tests"] if t not in tests)
        columns.append(current)
    # Columns the YAML documents but the warehouse does not have are stale: a contract with them
    # could not be met, so they go.
    entry["columns"] = columns
