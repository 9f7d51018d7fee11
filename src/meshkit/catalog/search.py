"""Finding things in the catalog: free-text search and lookup by address or name."""

from __future__ import annotations

from dataclasses import dataclass

from meshkit.catalog.model import AdhocDataset, Catalog, Dataset, Product
from meshkit.errors import UsageError, did_you_mean

# How much a match in each field counts.
_WEIGHTS = {"name": 5, "address": 4, "owner": 3, "tags": 3, "column": 2, "description": 1,
            "use_cases": 1, "kpis": 1}


@dataclass(frozen=True)
class Hit:
    kind: str  # product | dataset | adhoc
    id: str
    domain: str
    description: str
    matched: tuple[str, ...]  # the fields that matched, e.g. ("name", "column:email")
    score: int


def _fields_of_product(p: Product) -> list[tuple[str, str]]:
    return [("name", p.name), ("address", p.address), ("description", p.description),
            ("owner", f"{p.owner.name or ''} {p.owner.email or ''}"),
            *(("tags", t) for t in p.tags), *(("use_cases", u) for u in p.use_cases),
            *(("kpis", k) for k in p.kpis)]


def _fields_of_dataset(ds: Dataset | AdhocDataset) -> list[tuple[str, str]]:
    fields = [("name", ds.name), ("description", ds.description)]
    if isinstance(ds, Dataset):
        fields += [("address", ds.id), *(("tags", t) for t in ds.tags)]
    for c in ds.columns:
        fields.append((f"column:{c.name}", f"{c.name} {c.description} {c.classification or ''}"))
    return fields


def _score(fields: list[tuple[str, str]], words: list[str]) -> tuple[int, tuple[str, ...]]:
    """Every word must match some field; the score adds the weights of matching fields."""
    matched: dict[str, int] = {}
    for word in words:
        hit = False
        for name, text in fields:
            if word in text.lower():
                hit = True
                matched[name] = _WEIGHTS.get(name.split(":")[0] if ":" not in name else "column", 1)
        if not hit:
            return 0, ()
    return sum(matched.values()), tuple(sorted(matched))


def search(catalog: Catalog, text: str, limit: int = 50) -> list[Hit]:
    """Products and datasets whose names, descriptions, columns, owners or tags match ``text``.

    >>> search(Catalog(mesh="m"), "customer")
    []
    """
    words = [w for w in text.lower().split() if w]
    if not words:
        return []
    hits: list[Hit] = []
    for d in catalog.domains:
        for p in d.products:
            score, matched = _score(_fields_of_product(p), words)
            if score:
                hits.append(Hit("product", p.address, d.name, p.description, matched, score))
            for ds in p.datasets:
                score, matched = _score([*_fields_of_dataset(ds), ("owner", p.owner.name or "")],
                                        words)
                if score:
                    hits.append(Hit("dataset", ds.id, d.name, ds.description, matched, score))
        for a in d.adhoc_datasets:
            score, matched = _score(_fields_of_dataset(a), words)
            if score:
                hits.append(Hit("adhoc", f"{d.name}.{a.name}", d.name, a.description, matched,
                                score))
    hits.sort(key=lambda h: (-h.score, h.kind, h.id))
    return hits[:limit]


def find(catalog: Catalog, ref: str) -> Product | list[Dataset] | AdhocDataset:
    """A product (``<domain>.<product>`` or its name), a dataset's versions (its address, id or
    name) or an ad-hoc dataset (``<domain>.<model>``); :class:`UsageError` if none or several."""
    products = catalog.products()
    datasets = catalog.datasets()
    for p in products:
        if p.address == ref:
            return p
    exact = [ds for ds in datasets if ref in (ds.address, ds.id)]
    if exact:
        return exact
    for d in catalog.domains:
        for a in d.adhoc_datasets:
            if ref in (f"{d.name}.{a.name}", a.unique_id):
                return a
    by_name: list[Product | list[Dataset]] = [p for p in products if p.name == ref]
    named = [ds for ds in datasets if ds.name == ref or ds.relation == ref]
    addresses = sorted({ds.address for ds in named})
    by_name += [[ds for ds in named if ds.address == a] for a in addresses]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        options = [x.address if isinstance(x, Product) else x[0].address for x in by_name]
        raise UsageError(f"{ref!r} is ambiguous: {', '.join(options)}",
                         fix="give the full address")
    known = [p.address for p in products] + [ds.address for ds in datasets]
    hint = did_you_mean(ref, known + [p.name for p in products] + [ds.name for ds in datasets])
    raise UsageError(f"no product or dataset {ref!r} in the catalog{hint}",
                     fix="see `mesh catalog list` or `mesh catalog search TEXT`")
