"""What a domain owns alone: its raw sources, and the database it builds in.

``contract.shared_source``: ``contract.consumer_reads`` lets a model read a file through its
domain's own ``source()``: that is how raw data enters the mesh. A second domain declaring the
same file (or warehouse table) as its source reads another domain's raw data with no product,
contract or masking between them, and unseen by the owner. Where the data is comes from what dbt
compiled each source to: the files a reader call names, resolved against the domain's project
folder (dbt-duckdb runs there), or the relation.

``contract.foreign_database``: the consumers of a domain read its products in its database. A
model of another domain built there (its profile pointed at that file, or a ``database`` config)
replaces or stands beside them; on Snowflake the grants refuse it, on local DuckDB nothing would.

``contract.attached_database``: on DuckDB, what a model can read is what its session has attached:
its own database, its producers' (the profile's ``attach:`` list, each under the domain's name,
where ``contract.consumer_reads`` sees every read of them) and the databases its sources name. A
database attached under another name (``alias: cb`` for consumer_banking's file) or by an
``ATTACH`` statement in a hook, an operation or a macro is read unseen: every relation of it,
internal ones and their raw personal data included, looks like no domain's. So is one a hook
makes the default (``USE``, ``SET search_path``): a model's unqualified names then resolve
there, and its SQL names no other domain.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from meshkit.artifacts import DomainArtifacts, SourceInfo
from meshkit.checks import CheckContext, Rule, Scope, Violation, rule
from meshkit.contracts.consumer_sql import quoted_files, reads_files
from meshkit.dbt_runner import domain_profile

_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Declared:
    """One place of raw data as a domain's source declares it: ``key`` compares across domains,
    ``shown`` is how a violation names it."""

    domain: str
    source: SourceInfo
    key: str
    shown: str


def locations(source: SourceInfo, project: Path | None, root: Path) -> list[tuple[str, str]]:
    """(key, shown) of each place ``source`` reads: every file its reader call names (a URL as
    written, a path resolved against ``project`` and through symbolic links, shown relative to
    the mesh ``root``), or else its relation, case-folded.

    >>> s = SourceInfo("source.d.raw.t", "raw", "t", "", "d", "raw", None, (),
    ...                relation_name="read_csv('../../data/raw/t.csv', delim=',')")
    >>> locations(s, Path("/m/domains/d"), Path("/m"))
    [('/m/data/raw/t.csv', 'data/raw/t.csv')]
    >>> s = SourceInfo("source.d.raw.t", "raw", "t", "", "Lake", "CRM", "Customers", ())
    >>> locations(s, None, Path("/m"))
    [('lake.crm.customers', 'Lake.CRM.Customers')]
    """
    rel = source.relation_name or ""
    if not reads_files(rel):
        parts = [p for p in (source.database, source.schema, source.identifier or source.name)
                 if p]
        shown = ".".join(parts)
        return [(shown.casefold(), shown)]
    out = []
    # What names a file: not a reader's other arguments (a delimiter, a date format).
    for text in quoted_files(rel):
        if "://" in text:
            out.append((text, text))
            continue
        path = Path(text)
        if not path.is_absolute() and project is not None:
            path = project / path
        # Where it is, not how it is named: a link to the file or a folder linked elsewhere is
        # the same place.
        key = os.path.realpath(path)
        try:
            shown = Path(key).relative_to(os.path.realpath(root)).as_posix()
        except ValueError:
            shown = key
        out.append((key, shown))
    return out


def _overlap(a: str, b: str) -> bool:
    """The same place, or a glob of one matching the other."""
    return a == b or (_GLOB.search(a) is not None and fnmatchcase(b, a)) or \
        (_GLOB.search(b) is not None and fnmatchcase(a, b))


@rule
class SharedSource(Rule):
    """A raw source (a file or a warehouse table) is declared by one domain only; the others read
    it through that domain's products."""

    id = "contract.shared_source"
    scope = Scope.MESH

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        declared: list[Declared] = []
        for d, arts in ctx.all_artifacts():
            project = ctx.project_dir(d.name)
            for uid, source in arts.sources.items():
                # The domain's own sources: not those of a package it installs (the platform's).
                if uid.split(".")[1] != d.name:
                    continue
                declared += [Declared(d.name, source, key, shown)
                             for key, shown in locations(source, project, ctx.root)]
        # By place, so that a mesh of thousands of sources is not compared pair by pair; a glob
        # is compared with every place.
        by_key: dict[str, list[Declared]] = {}
        for item in declared:
            by_key.setdefault(item.key, []).append(item)
        globs = [item for item in declared if _GLOB.search(item.key)]
        found: dict[tuple[str, str], tuple[Declared, dict[tuple[str, str], Declared]]] = {}
        for here in declared:
            candidates = [*by_key[here.key], *(g for g in globs if _overlap(g.key, here.key))]
            if _GLOB.search(here.key):
                candidates += [o for o in declared if _overlap(here.key, o.key)]
            for other in candidates:
                if other.domain != here.domain:
                    entry = found.setdefault((here.domain, here.source.unique_id), (here, {}))
                    entry[1].setdefault((other.domain, other.source.unique_id), other)
        for (domain, _), (here, others) in sorted(found.items()):
            src = here.source
            for (other_domain, other_uid), _other in sorted(others.items()):
                yield self.violation(
                    f"{src.unique_id} reads {here.shown}, which domain {other_domain} declares "
                    f"as its source too ({other_uid}): raw data belongs to one domain, and the "
                    "others read it through its products",
                    fix=f"agree which of {domain} and {other_domain} owns it: the other removes "
                        "the source and reads the owner's product built on it with "
                        "ref('<owner>', '<dataset>', v=N) (`mesh catalog list -d <owner>`)",
                    node=src.unique_id,
                    **ctx.place(domain, src.original_file_path,
                                rf"name:\s*['\"]?{re.escape(src.name)}['\"]?\s*$"))


@rule
class ForeignDatabase(Rule):
    """A domain builds its models in its own database, never in another domain's."""

    id = "contract.foreign_database"
    scope = Scope.MESH

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        domains = {name.casefold(): name for name in ctx.domain_names}
        for domain, node in ctx.nodes.values():
            owner = domains.get((node.database or "").casefold())
            if owner is None or owner == domain or node.materialized == "ephemeral":
                continue
            yield self.violation(
                f"{node.unique_id} of domain {domain} is built in {owner}'s database "
                f"({node.database}): it would replace or stand beside {owner}'s own relations, "
                f"which {owner}'s consumers read as its products",
                fix=f"build it in {domain}'s database: remove the `database` config that names "
                    f"{owner} (dbt_project.yml or the model's config), and point the profile "
                    f"of {domain} at its own warehouse file",
                node=node.unique_id, **ctx.place(domain, node.original_file_path, r"database"))


_ATTACH_FIX = ("attach a database in the profile's `attach:` list under the name it has in the "
               "mesh (a domain's warehouse file under the domain's name, its products then read "
               "with ref(); a raw database under the name the domain's sources give it), and name "
               "relations in full, through ref() and source(), rather than USE or search_path")


@rule
class AttachedDatabase(Rule):
    """On DuckDB a domain's sessions attach only the mesh's databases under their own names and
    the databases its sources name."""

    id = "contract.attached_database"
    scope = Scope.MESH

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        for d, arts in ctx.all_artifacts():
            if (arts.adapter_type or "duckdb") != "duckdb":
                continue  # Snowflake has no ATTACH: its grants decide what a role reads
            for site in arts.session_sites:
                own = site.package_name in (None, d.name)
                words = r"\s+".join(map(re.escape, site.statement.split()))
                yield self.violation(
                    f"{site.unique_id} runs {site.statement.upper()}"
                    + ("" if own else f" (of the installed package {site.package_name})")
                    + f": a database domain {d.name} attaches or switches to in its SQL is read "
                    "unseen by the mesh's checks", fix=_ATTACH_FIX, node=site.unique_id,
                    **(ctx.place(d.name, site.original_file_path, rf"(?i)\b{words}\b") if own
                       else {"domain": d.name}))
            yield from self._profile(ctx, d.name, arts)

    def _profile(self, ctx: CheckContext, domain: str,
                 arts: DomainArtifacts) -> Iterator[Violation]:
        project = ctx.project_dir(domain)
        if project is None:
            return  # registered by its artifacts: its profile is not the mesh's to read
        own = {domain.casefold()} | {s.database.casefold() for uid, s in arts.sources.items()
                                     if s.database and uid.split(".")[1] == domain}
        domains = {name.casefold(): name for name in ctx.domain_names}
        for entry in attachments(project):
            path, alias = entry.get("path"), entry.get("alias")
            stem = _stem(path)
            name = alias if alias is not None else stem
            if not isinstance(name, str) or "{" in name:
                problem = "under a name meshkit cannot tell"
            elif stem is not None and stem.casefold() in domains and \
                    stem.casefold() not in (name.casefold(), domain.casefold()):
                problem = (f"{domains[stem.casefold()]}'s warehouse file under another name "
                           f"({name})")
            elif name.casefold() in domains and (stem or "").casefold() != name.casefold():
                problem = (f"under the name of domain {domains[name.casefold()]} a file that is "
                           + ("not its warehouse file" if stem else
                              "meshkit cannot tell (its name is templated)"))
            elif name.casefold() not in own and name.casefold() not in domains:
                problem = (f"a database as {name}, which no domain of the mesh and no source "
                           f"of {domain} names")
            else:
                continue
            shown = path if isinstance(path, str) else repr(path)
            where = (rf"alias:\s*['\"]?{re.escape(alias)}" if isinstance(alias, str) else
                     re.escape(shown.rsplit("/", 1)[-1]))
            yield self.violation(
                f"the profile of domain {domain} attaches {shown}: {problem}; what its models "
                "read there is unseen by the mesh's checks", fix=_ATTACH_FIX,
                **ctx.place(domain, "profiles.yml", where))


def attachments(project: Path) -> list[dict[str, object]]:
    """The ``attach:`` entries of every DuckDB output of the profile a domain's project names,
    in its ``profiles.yml`` (where meshkit runs dbt from); an entry that is not a mapping is
    shown as its path, which names nothing meshkit knows; none without the files.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "dbt_project.yml").write_text("name: risk\\nprofile: risk\\n")
    >>> _ = (folder / "profiles.yml").write_text(
    ...     "risk:\\n  outputs:\\n    dev:\\n      type: duckdb\\n"
    ...     "      attach: [{path: w/bank.duckdb, alias: cb}]\\n")
    >>> attachments(folder)
    [{'path': 'w/bank.duckdb', 'alias': 'cb'}]
    """
    outputs = (domain_profile(project) or {}).get("outputs")
    found: list[dict[str, object]] = []
    for output in outputs.values() if isinstance(outputs, dict) else ():
        kind = output.get("type") if isinstance(output, dict) else None
        # Another adapter named as written; a templated type may be DuckDB.
        if not isinstance(output, dict) or (isinstance(kind, str) and "{" not in kind
                                            and kind != "duckdb"):
            continue
        entries = output.get("attach") or []
        for entry in entries if isinstance(entries, list) else [entries]:
            found.append(entry if isinstance(entry, dict) else {"path": entry, "alias": entry})
    return found


def _stem(path: object) -> str | None:
    """The name DuckDB gives a file attached without an alias: its name less the extension
    (None for a name still templated, or no text)."""
    if not isinstance(path, str) or "{" in path.rsplit("/", 1)[-1]:
        return None
    return path.rsplit("/", 1)[-1].split(".", 1)[0] or None
