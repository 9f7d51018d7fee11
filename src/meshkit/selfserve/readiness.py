"""What a domain lacks to publish data products: rules of the check engine.

``mesh onboard`` runs them over the project it registers (a dbt project that has never seen the
mesh is ad-hoc data until it declares products); they are not in the default rule set of
``mesh check``, whose own rules judge products once declared. Each violation names the model's
file and line where it can and says what to write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from meshkit.artifacts import DomainArtifacts, NodeInfo
from meshkit.checks import CheckContext, Rule, Scope, Severity, Violation
from meshkit.selfserve.suggest import sql_config_overrides

SECURE_VIEW = "secure_view"


def _domains(ctx: CheckContext) -> Iterator[tuple[str, DomainArtifacts]]:
    for d in ctx.config.domains:
        if ctx.in_scope(d.name):
            yield d.name, ctx.artifacts(d.name)


def _own_models(domain: str, arts: DomainArtifacts) -> list[NodeInfo]:
    package = arts.project_name or domain
    return sorted((n for n in arts.nodes.values()
                   if n.package_name == package and n.resource_type == "model"),
                  key=lambda n: n.unique_id)


def _outputs(domain: str, arts: DomainArtifacts) -> list[NodeInfo]:
    return [n for n in _own_models(domain, arts) if n.group and n.access == "public"]


def _yaml_place(ctx: CheckContext, domain: str, node: NodeInfo) -> tuple[str | None, int | None]:
    patch = getattr(node, "patch_path", None)
    if not patch:
        return None, None
    return ctx.file_of(domain, patch), ctx.line_of(domain, patch, rf"name:\s*['\"]?{node.name}\b")


def _sql_file(ctx: CheckContext, domain: str, node: NodeInfo) -> tuple[str | None, Path | None]:
    project = ctx.project_dir(domain)
    rel = getattr(node, "original_file_path", None)
    if project is None:
        return rel, None
    if rel is None:
        found = [p for p in project.rglob(f"{node.name}.sql")
                 if not {"target", "dbt_packages"} & set(p.relative_to(project).parts)]
        if not found:
            return None, None
        rel = found[0].relative_to(project).as_posix()
    return rel, project / rel


class NoProducts(Rule):
    """A domain declares at least one data product (a dbt group with public models)."""

    id = "publish.no_products"
    default_severity = Severity.WARN
    scope = Scope.DOMAIN

    def check(self, ctx: CheckContext) -> Iterable[Violation]:
        for domain, arts in _domains(ctx):
            if not arts.groups:
                models = len(_own_models(domain, arts))
                yield self.violation(
                    f"no data product: its {models} models are ad-hoc data, catalogued but never "
                    "readable by another domain",
                    fix=f"`mesh suggest products {domain}` proposes candidates with their "
                        f"contracts; or `mesh new product {domain} NAME`",
                    domain=domain)


class PublicWithoutGroup(Rule):
    """A public model belongs to a product (a group)."""

    id = "publish.public_without_group"
    default_severity = Severity.WARN
    scope = Scope.DOMAIN

    def check(self, ctx: CheckContext) -> Iterable[Violation]:
        for domain, arts in _domains(ctx):
            for node in _own_models(domain, arts):
                if node.access == "public" and not node.group:
                    file, line = _yaml_place(ctx, domain, node)
                    yield self.violation(
                        f"{node.name} is public but in no group: not a data product, so no "
                        "other domain may read it",
                        fix="declare a group (the product, with its owner) and set "
                            "`config: {group: <product>}` on the model",
                        node=node.unique_id, domain=domain, file=file, line=line)


class ContractNotEnforced(Rule):
    """A product's public dataset enforces its contract, every column typed."""

    id = "publish.contract"
    default_severity = Severity.WARN
    scope = Scope.DOMAIN

    def check(self, ctx: CheckContext) -> Iterable[Violation]:
        for domain, arts in _domains(ctx):
            for node in _outputs(domain, arts):
                file, line = _yaml_place(ctx, domain, node)
                if not node.contract_enforced:
                    yield self.violation(
                        f"{node.name}: contract not enforced",
                        fix="add `contract: {enforced: true}` to its config and a data_type to "
                            "every column (`mesh suggest products` writes them from catalog.json)",
                        node=node.unique_id, domain=domain, file=file, line=line)
                untyped = [c.name for c in node.columns if not c.data_type]
                if untyped or not node.columns:
                    yield self.violation(
                        f"{node.name}: columns without data_type: "
                        f"{', '.join(untyped) or '(no columns documented)'}",
                        fix="give every column of the contract a data_type",
                        node=node.unique_id, domain=domain, file=file, line=line)


class ColumnsClassified(Rule):
    """Every column of a public dataset carries meta.classification (unclassified is masked)."""

    id = "publish.classification"
    default_severity = Severity.WARN
    scope = Scope.DOMAIN

    def check(self, ctx: CheckContext) -> Iterable[Violation]:
        known = ", ".join(ctx.config.classifications) or "public, internal, confidential, pii"
        for domain, arts in _domains(ctx):
            for node in _outputs(domain, arts):
                missing = [c.name for c in node.columns if not c.classification]
                if missing:
                    file, line = _yaml_place(ctx, domain, node)
                    yield self.violation(
                        f"{node.name}: unclassified columns (masked for everyone): "
                        f"{', '.join(missing)}",
                        fix=f"add `config: {{meta: {{classification: ...}}}}` to each ({known}), "
                            "and `regulations:` for personal data",
                        node=node.unique_id, domain=domain, file=file, line=line)


class SecureView(Rule):
    """A public dataset is materialized as a secure view."""

    id = "publish.secure_view"
    default_severity = Severity.WARN
    scope = Scope.DOMAIN

    def check(self, ctx: CheckContext) -> Iterable[Violation]:
        for domain, arts in _domains(ctx):
            for node in _outputs(domain, arts):
                if node.materialized != SECURE_VIEW:
                    file, line = _yaml_place(ctx, domain, node)
                    yield self.violation(
                        f"{node.name} is materialized {node.materialized!r}, not as a secure view: "
                        "consumers would read it unmasked",
                        fix="set `materialized: secure_view` in its YAML config",
                        node=node.unique_id, domain=domain, file=file, line=line)


class SqlConfigOverridesYaml(Rule):
    """A model's SQL config() does not set what its product's YAML must (materialized, access,
    group, contract): config() in SQL wins over YAML."""

    id = "publish.sql_config"
    default_severity = Severity.WARN
    scope = Scope.DOMAIN

    def check(self, ctx: CheckContext) -> Iterable[Violation]:
        for domain, arts in _domains(ctx):
            for node in _own_models(domain, arts):
                rel, path = _sql_file(ctx, domain, node)
                if path is None or not path.is_file():
                    continue
                text = path.read_text(errors="replace")
                for keys, line in sql_config_overrides(text):
                    yield self.violation(
                        f"{node.name}: config() in its SQL sets {', '.join(keys)}, which "
                        "overrides the model's YAML (a product needs them there)",
                        fix=f"move {', '.join(keys)} from the config() call to the model's YAML "
                            "(or the folder's +config in dbt_project.yml)",
                        node=node.unique_id, domain=domain,
                        file=ctx.file_of(domain, rel), line=line)


class CrossDomainRefToProduct(Rule):
    """A cross-domain ref reads another domain's product dataset, nothing else."""

    id = "publish.cross_domain_ref"
    default_severity = Severity.WARN
    scope = Scope.DOMAIN

    def check(self, ctx: CheckContext) -> Iterable[Violation]:
        for domain, arts in _domains(ctx):
            package = arts.project_name or domain
            for node in _own_models(domain, arts):
                for uid in node.depends_on:
                    up = arts.nodes.get(uid)
                    if up is None or up.package_name in (package, domain):
                        continue
                    if up.package_name not in ctx.domain_names:
                        continue  # a package (dbt_utils, the platform): not another domain
                    if up.resource_type != "model" or not (up.group and up.access == "public"):
                        kind = up.resource_type if up.resource_type != "model" else (
                            "model in no product" if not up.group else f"{up.access} model")
                        yield self.violation(
                            f"{node.name} reads {uid} of domain {up.package_name}, a {kind}: "
                            "only a product's public datasets may be read across domains",
                            fix=f"ask {up.package_name} to publish it in a product (a group, "
                                "public, contract enforced), or read one of its products",
                            node=node.unique_id, domain=domain)


class GroupOwner(Rule):
    """A product (group) names an owner with an email and a status."""

    id = "publish.product_metadata"
    default_severity = Severity.WARN
    scope = Scope.DOMAIN

    def check(self, ctx: CheckContext) -> Iterable[Violation]:
        for domain, arts in _domains(ctx):
            for group in sorted(arts.groups.values(), key=lambda g: g.name):
                missing = [what for what, ok in (("owner email", group.owner_email),
                                                 ("config.meta.status", group.meta.get("status")),
                                                 ("description", group.description)) if not ok]
                if missing:
                    yield self.violation(
                        f"product {group.name}: no {', no '.join(missing)}",
                        fix="give the group `owner: {name, email}`, a description and "
                            "`config: {meta: {status: draft|active, sla: {freshness: 24h}}}`",
                        node=f"group.{arts.project_name or domain}.{group.name}", domain=domain)


def readiness_rules() -> list[Rule]:
    """The rules of the readiness report, in the order they read best."""
    return [NoProducts(), PublicWithoutGroup(), ContractNotEnforced(), ColumnsClassified(),
            SecureView(), SqlConfigOverridesYaml(), CrossDomainRefToProduct(), GroupOwner()]
