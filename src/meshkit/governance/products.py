"""Policies on products and their public datasets: metadata, contracts, documentation,
classification, keys and names."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from meshkit.checks import Violation, rule
from meshkit.governance.facts import Facts
from meshkit.governance.policy import Policy

STATUSES = ("draft", "active", "deprecated")


def _product_violation(policy: Policy, facts: Facts, domain: str, product: str, message: str,
                       fix: str) -> Violation:
    file, line = facts.declared_at(domain, product)
    return policy.violation(message, fix=fix, node=f"{domain}.{product}", domain=domain,
                            file=file, line=line)


@rule
class ProductOwner(Policy):
    """Every product names an owner with an email address."""

    id = "product.owner"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        for p in facts.products(domain):
            if not (p.owner.name and p.owner.email):
                yield _product_violation(self, facts, domain, p.name,
                                         f"product {p.address} has no owner with an email",
                                         "set the group's `owner: {name: ..., email: ...}`")


@rule
class ProductDescription(Policy):
    """Every product is described (at least a sentence)."""

    id = "product.description"
    defaults: ClassVar[Mapping[str, Any]] = {"min_length": 20}
    stricter_when_larger: ClassVar[Mapping[str, bool]] = {"min_length": True}

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        for p in facts.products(domain):
            if len(p.description.strip()) < int(params["min_length"]):
                yield _product_violation(
                    self, facts, domain, p.name,
                    f"product {p.address} has no description of {params['min_length']}+ characters",
                    "describe the group: what it holds and who it serves (`description:`)")


@rule
class ProductStatus(Policy):
    """Every product declares its status: draft, active or deprecated."""

    id = "product.status"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        groups = facts.artifacts(domain).groups
        for p in facts.products(domain):
            status = (groups[p.name].meta if p.name in groups else {}).get("status")
            if status not in STATUSES:
                yield _product_violation(
                    self, facts, domain, p.name,
                    f"product {p.address} declares no valid status ({status!r})",
                    f"set the group's `config.meta.status` to one of {', '.join(STATUSES)}")


@rule
class ProductSla(Policy):
    """Every product declares a freshness SLA (e.g. `24h`)."""

    id = "product.sla"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        for p in facts.products(domain):
            if p.sla.freshness_hours is None:
                yield _product_violation(
                    self, facts, domain, p.name,
                    f"product {p.address} declares no readable SLA ({p.sla.freshness!r})",
                    "set the group's `config.meta.sla: {freshness: 24h}` (m, h, d or w)")


def _datasets(facts: Facts, domain: str) -> Iterator[tuple[Any, Any]]:
    for p in facts.products(domain):
        for ds in p.datasets:
            yield p, ds


@rule
class DatasetContract(Policy):
    """Every public dataset has an enforced contract."""

    id = "dataset.contract"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        for _, ds in _datasets(facts, domain):
            if not ds.contract_enforced:
                file, line = facts.declared_at(domain, ds.name)
                yield self.violation(f"dataset {ds.id} has no enforced contract",
                                     fix="add `contract: {enforced: true}` and a `data_type` "
                                         "for every column", node=ds.unique_id, domain=domain,
                                     file=file, line=line)


@rule
class DatasetColumnsDocumented(Policy):
    """Every column of a public dataset is documented with a description."""

    id = "dataset.columns_documented"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        for _, ds in _datasets(facts, domain):
            if not ds.columns:
                file, line = facts.declared_at(domain, ds.name)
                yield self.violation(f"dataset {ds.id} documents no column",
                                     fix="list its columns under `columns:`",
                                     node=ds.unique_id, domain=domain, file=file, line=line)
            for c in ds.columns:
                if not c.description.strip():
                    file, line = facts.declared_at(domain, ds.name, c.name)
                    yield self.violation(
                        f"column {c.name} of {ds.id} has no description",
                        fix=f"describe `{c.name}` under the model's `columns:`",
                        node=ds.unique_id, domain=domain, file=file, line=line)


@rule
class DatasetColumnsClassified(Policy):
    """Every column of a public dataset carries a classification."""

    id = "dataset.columns_classified"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        for _, ds in _datasets(facts, domain):
            for c in ds.columns:
                if c.classification is None:
                    file, line = facts.declared_at(domain, ds.name, c.name)
                    yield self.violation(
                        f"column {c.name} of {ds.id} has no classification",
                        fix=f"set `config.meta.classification` of `{c.name}` (one of "
                            f"{', '.join(facts.mesh.config.classifications)})",
                        node=ds.unique_id, domain=domain, file=file, line=line)


@rule
class DatasetPrimaryKey(Policy):
    """Every public dataset has a primary key: a column tested unique and not_null (or a
    primary_key constraint, or a unique combination of columns)."""

    id = "dataset.primary_key"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        for _, ds in _datasets(facts, domain):
            tests: dict[str | None, set[str]] = {}
            for t in ds.quality.tests:
                tests.setdefault(t.column, set()).add(t.test_type)
            keyed = any({"unique", "not_null"} <= kinds for col, kinds in tests.items() if col) \
                or any("unique_combination_of_columns" in kinds for kinds in tests.values()) \
                or any("primary_key" in c.constraints for c in ds.columns)
            if not keyed:
                file, line = facts.declared_at(domain, ds.name)
                yield self.violation(
                    f"dataset {ds.id} has no primary-key test",
                    fix="add `data_tests: [unique, not_null]` to its key column (or a "
                        "primary_key constraint)", node=ds.unique_id, domain=domain,
                    file=file, line=line)


@rule
class Naming(Policy):
    """Products and datasets are named as lowercase words, without layer prefixes."""

    id = "naming.conventions"
    defaults: ClassVar[Mapping[str, Any]] = {"pattern": r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$",
                "forbidden_prefixes": ["stg_", "int_", "base_", "tmp_", "raw_"]}

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        pattern = re.compile(str(params["pattern"]))
        prefixes = tuple(params["forbidden_prefixes"])
        for p in facts.products(domain):
            if not pattern.match(p.name) or p.name.startswith(prefixes):
                yield _product_violation(
                    self, facts, domain, p.name,
                    f"product name {p.name!r} breaks the naming convention",
                    f"rename the group: lowercase words joined by `_`, not starting with "
                    f"{', '.join(prefixes)}")
            for ds in p.datasets:
                if not pattern.match(ds.name) or ds.name.startswith(prefixes):
                    file, line = facts.declared_at(domain, ds.name)
                    yield self.violation(
                        f"dataset name {ds.name!r} breaks the naming convention",
                        fix=f"rename the model: lowercase words joined by `_`, not starting "
                            f"with {', '.join(prefixes)}",
                        node=ds.unique_id, domain=domain, file=file, line=line)
