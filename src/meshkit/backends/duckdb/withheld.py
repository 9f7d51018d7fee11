"""Datasets the last sync withheld from `mesh query`: a product dataset whose secure view the
sync found showing personal data unmasked, at error severity.

The build gates refuse what they can see at a domain's ``dbt build``, one model up. What they
cannot see (a column derived from an email two models up, a view built before mesh.yml changed
a classification, values that the sampled rows at the build did not give away) the sync's
policies find, through the whole lineage and in the built warehouse. Reporting it and refusing
its contract is not enough: the view would go on serving it. So the sync writes, beside the
warehouse's databases, the views of every such dataset, and `mesh query` refuses to read them
until a sync finds the dataset clean (fixed, rebuilt and synced, or waived after a review).

The file is as trusted as the databases beside it, and written by each sync that is not a dry
run. Missing (no sync yet): nothing is withheld. Unreadable or malformed: every query is
refused (fail closed) until the next sync writes it again. Read with orjson alone: a query
imports nothing it does not need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from meshkit.errors import UsageError

if TYPE_CHECKING:
    from meshkit.artifacts import NodeInfo
    from meshkit.catalog.model import Catalog
    from meshkit.checks.model import Violation

WITHHELD_FILE = "mesh_withheld.json"
WITHHELD_FORMAT = 1
# The policies whose error means that the view serves personal data unmasked.
WITHHOLDING_RULES = frozenset({
    "personal_data.by_name", "personal_data.by_value", "personal_data.by_lineage",
    "classification.propagation", "masking.verified",
})
FIX_UNREADABLE = "run `mesh-sync` to write it again"


@dataclass(frozen=True)
class Withheld:
    """One secure view withheld, with the first finding that withholds it."""

    view: str  # domain.product.relation, lower-cased, as `mesh query` names what it reads
    dataset: str
    rule: str
    message: str
    fix: str

    def refusal(self) -> UsageError:
        return UsageError(
            f"reads {self.view}, which the last mesh-sync withheld: dataset {self.dataset} "
            f"serves personal data unmasked ({self.rule}: {self.message})",
            fix=f"{self.fix}; then rebuild the dataset and run `mesh-sync` (the sync that finds "
                "it clean serves it again)")


def withheld_views(catalog: Catalog, violations: Iterable[Violation],
                   node_of: Callable[[str], NodeInfo | None],
                   known: Mapping[str, list[str]] | None = None) -> list[Withheld]:
    """The secure views of every product dataset that a withholding rule found at error, and
    of every product that reads one (its input ports), transitively: the dataset's own relation
    and, for the latest version, its unversioned name, named as
    :func:`meshkit.dbt_manifest.public_relations` names them from the model's node
    (``node_of``: by unique_id) for `mesh query` to match. ``known``: the views of datasets by
    id, as the last sync named them, for domains whose artifacts have not changed since (their
    nodes then need not be read again)."""
    from meshkit.dbt_manifest import relation_key

    datasets = {ds.unique_id: (p.domain, p.name, ds)
                for p in catalog.products() for ds in p.datasets}
    # dataset unique_id -> rule, message, fix (of the finding itself, for a reader too)
    findings: dict[str, tuple[str, str, str]] = {}
    for v in violations:
        if (v.severity.value == "error" and v.rule in WITHHOLDING_RULES and v.node is not None
                and v.node in datasets):
            findings.setdefault(v.node, (v.rule, v.message, v.fix))
    messages = {uid: (message, fix) for uid, (_, message, fix) in findings.items()}
    # What a withheld dataset serves, a product reading it may serve on (a column read as is
    # under its own classification): every dataset of such a product is withheld too, and of
    # the products reading those.
    reading = [(p, {port.unique_id for port in p.input_ports if port.kind == "product"})
               for p in catalog.products()]
    grown = True
    while grown:
        grown = False
        for p, ports in reading:
            upstream = next((uid for uid in sorted(ports) if uid in findings), None)
            if upstream is None:
                continue
            rule = findings[upstream][0]
            message, fix = messages[upstream]
            for ds in p.datasets:
                if ds.unique_id not in findings:
                    findings[ds.unique_id] = (
                        rule, f"it reads {datasets[upstream][2].id}, withheld ({message})", fix)
                    messages[ds.unique_id] = (message, fix)
                    grown = True
    out: dict[str, Withheld] = {}
    for uid, (rule, message, fix) in sorted(findings.items()):
        domain, product, ds = datasets[uid]
        views = list((known or {}).get(ds.id) or ())
        node = None if views else node_of(uid)
        if node is not None:
            views = [".".join(relation_key(node.database, node.schema, node.alias, node.name))]
            if node.version is not None and node.version == node.latest_version:
                views.append(".".join(relation_key(node.database, node.schema, None, node.name)))
        elif not views:  # (its artifacts unreadable now): as the catalog names it
            views = [f"{domain}.{product}.{ds.relation}"] + (
                [f"{domain}.{product}.{ds.name}"] if ds.version is not None and ds.is_latest
                else [])
        for name in views:
            view = name.lower()
            out.setdefault(view, Withheld(view, ds.id, rule, message, fix))
    return [out[k] for k in sorted(out)]


def named_before(folder: Path, domains: Iterable[str]) -> dict[str, list[str]]:
    """The views the file withholds now, by dataset id, of the datasets of ``domains``; none
    if it cannot be read."""
    keep = set(domains)
    try:
        entries = read(folder)
    except UsageError:
        return {}
    out: dict[str, list[str]] = {}
    for w in entries.values():
        if w.dataset.split(".")[0] in keep:
            out.setdefault(w.dataset, []).append(w.view)
    return out


def write(folder: Path, items: Iterable[Withheld], *,
          keep: Callable[[Withheld], bool] | None = None) -> None:
    """Record the withheld views in the warehouse ``folder`` (atomically; the same bytes are
    not written again). ``keep``: which of those the file withholds now stay withheld too (a
    file that cannot be read then keeps withholding everything: it is left as it is)."""
    import orjson

    from meshkit.files import atomic_write, holds

    path = folder / WITHHELD_FILE
    views = {w.view: w for w in items}
    if keep is not None:
        try:
            previous = read(folder)
        except UsageError:
            return
        views = {**{k: w for k, w in previous.items() if keep(w)}, **views}
    data = orjson.dumps({"format": WITHHELD_FORMAT,
                         "views": [{"view": w.view, "dataset": w.dataset, "rule": w.rule,
                                    "message": w.message, "fix": w.fix}
                                   for _, w in sorted(views.items())]},
                        option=orjson.OPT_INDENT_2)
    if not holds(path, data):
        atomic_write(path, data)


def read(folder: Path) -> Mapping[str, Withheld]:
    """The withheld views by name; none if no sync wrote the file. A file that cannot be read
    or is not of this shape raises :class:`UsageError` naming it: what it withholds is unknown,
    so nothing is served."""
    import orjson

    path = folder / WITHHELD_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read the views the last sync withheld: {exc.strerror}",
                         file=path, fix=FIX_UNREADABLE) from None
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        body = None
    entries = body.get("views") if isinstance(body, dict) else None
    keys = ("view", "dataset", "rule", "message", "fix")
    if (not isinstance(body, dict) or body.get("format") != WITHHELD_FORMAT
            or not isinstance(entries, list)
            or not all(isinstance(e, dict) and all(isinstance(e.get(k), str) for k in keys)
                       for e in entries)):
        raise UsageError("the views the last sync withheld are not in the form this meshkit "
                         f"writes (format {WITHHELD_FORMAT}: views of view, dataset, rule, "
                         "message, fix)", file=path, fix=FIX_UNREADABLE)
    return {e["view"]: Withheld(*(e[k] for k in keys)) for e in entries}
