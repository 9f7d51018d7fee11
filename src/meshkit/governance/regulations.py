"""Regulation controls, one policy per regulation, reading their controls from the platform dbt
project's seed ``seeds/regulation_controls.csv`` (the catalog marts read the same rows): a
control listed there is enforced, one removed is not."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from meshkit.checks import Violation, rule
from meshkit.governance.facts import EVERYONE, Facts
from meshkit.governance.policy import Policy

CONTROLS_SEED = "seeds/regulation_controls.csv"


@dataclass(frozen=True)
class Control:
    regulation: str
    control: str
    requirement: str
    parameter: str


def load_controls(facts: Facts) -> dict[tuple[str, str], Control]:
    cache = facts.__dict__.setdefault("_controls", {})
    if not cache:
        from meshkit.platform_project import platform_dir

        file = platform_dir() / CONTROLS_SEED
        if file.is_file():
            with file.open(newline="") as handle:
                for row in csv.DictReader(handle):
                    c = Control(row["regulation"].strip(), row["control"].strip(),
                                (row.get("requirement") or "").strip(),
                                (row.get("parameter") or "").strip())
                    cache[(c.regulation, c.control)] = c
        cache.setdefault(("", ""), None)  # read once, even when empty
    return {k: v for k, v in cache.items() if v is not None}


def _regulated(facts: Facts, domain: str, regulation: str) -> Iterator[tuple[Any, Any, list[Any]]]:
    """(product, dataset, its columns under ``regulation``) of the domain's datasets."""
    for p in facts.products(domain):
        for ds in p.datasets:
            cols = [c for c in ds.columns if regulation in c.regulations]
            if cols:
                yield p, ds, cols


def retention_days(value: object) -> int | None:
    """Days of a retention like ``7y``, ``18m`` (months), ``90d``; None if unreadable.

    >>> retention_days("7y"), retention_days("90d"), retention_days("forever")
    (2555, 90, None)
    """
    match = re.fullmatch(r"\s*(\d+)\s*([dwmy])\s*", str(value or ""))
    if match is None:
        return None
    return int(match.group(1)) * {"d": 1, "w": 7, "m": 30, "y": 365}[match.group(2)]


class Regulation(Policy):
    regulation = ""

    def control(self, facts: Facts, name: str) -> Control | None:
        return load_controls(facts).get((self.regulation, name))

    def at(self, facts: Facts, domain: str, ds: Any, column: str | None = None) -> dict[str, Any]:
        file, line = facts.declared_at(domain, ds.name, column)
        return {"node": ds.unique_id, "domain": domain, "file": file, "line": line}


@rule
class PciDss(Regulation):
    """PCI DSS: card data is never shown unmasked outside the roles cleared for it."""

    id = "regulation.pci_dss"
    regulation = "pci_dss"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        control = self.control(facts, "cleared_roles_only")
        if control is None:
            return
        cleared: set[str] = set()
        for role in control.parameter.split():
            cleared |= facts.mesh.config.roles_granting(role)
        for _, ds, cols in _regulated(facts, domain, self.regulation):
            for c in cols:
                audience = facts.audience(c.classification)
                extra = sorted(audience - cleared - {f"{domain}_engineer", f"{domain}_owner"})
                if extra:
                    yield self.violation(
                        f"pci_dss column {c.name} of {ds.id} is shown unmasked to "
                        f"{', '.join(extra)} (cleared: {control.parameter})",
                        fix="classify it with a classification masked for all but "
                            f"{control.parameter} (e.g. sensitive)",
                        **self.at(facts, domain, ds, c.name))


@rule
class Gdpr(Regulation):
    """GDPR: datasets with GDPR data declare a retention and filter EU residents' rows for
    roles not cleared for EU data."""

    id = "regulation.gdpr"
    regulation = "gdpr"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        retention = self.control(facts, "retention_declared")
        residency = self.control(facts, "residency_row_filter")
        for _, ds, _cols in _regulated(facts, domain, self.regulation):
            node = facts.node(ds.unique_id)
            meta = node.meta if node is not None else {}
            if retention is not None and retention_days(meta.get("retention")) is None:
                yield self.violation(
                    f"{ds.id} holds GDPR data but declares no retention",
                    fix="set the model's `config.meta.retention` (e.g. `7y`, `18m`, `90d`)",
                    **self.at(facts, domain, ds))
            if residency is not None:
                rf = facts.mesh.config.row_filters.get(str(meta.get("row_filter") or ""))
                if rf is None or residency.parameter not in rf.restricted_values:
                    yield self.violation(
                        f"{ds.id} holds GDPR data but filters no {residency.parameter} rows",
                        fix="set `config.meta.row_filter` to a row filter of mesh.yml restricting "
                            f"{residency.parameter} (e.g. eu_residency)",
                        **self.at(facts, domain, ds))


@rule
class Hipaa(Regulation):
    """HIPAA: health data is masked for roles without clearance."""

    id = "regulation.hipaa"
    regulation = "hipaa"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        if self.control(facts, "masked") is None:
            return
        for _, ds, cols in _regulated(facts, domain, self.regulation):
            for c in cols:
                if EVERYONE in facts.audience(c.classification):
                    yield self.violation(
                        f"hipaa column {c.name} of {ds.id} is not masked",
                        fix="classify it with a masking classification (e.g. pii or sensitive)",
                        **self.at(facts, domain, ds, c.name))


@rule
class Ccpa(Regulation):
    """CCPA: datasets with CCPA data carry a boolean opt-out flag that their view honours."""

    id = "regulation.ccpa"
    regulation = "ccpa"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        if self.control(facts, "opt_out_honoured") is None:
            return
        for _, ds, _cols in _regulated(facts, domain, self.regulation):
            node = facts.node(ds.unique_id)
            flag = str((node.meta if node is not None else {}).get("opt_out_column") or "")
            column = next((c for c in ds.columns if c.name == flag), None)
            if column is None or (column.data_type or "").lower() not in ("boolean", "bool"):
                yield self.violation(
                    f"{ds.id} holds CCPA data but no boolean opt-out flag "
                    f"({'meta.opt_out_column unset' if not flag else repr(flag) + ' not a boolean column'})",
                    fix="add a boolean column of the customer's opt-out and name it in the "
                        "model's `config.meta.opt_out_column`",
                    **self.at(facts, domain, ds))
