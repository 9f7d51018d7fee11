"""The marketplace: a static site of the catalog, written by ``mesh-sync`` into ``catalog/site/``.

Plain HTML from Jinja2 templates (autoescape on for every template: names and descriptions are
user input), one stylesheet, one small script for client-side search over an index loaded as a
script file (so the site works from ``file://`` as well as from any static host or ``mesh
serve``). Nothing is loaded from elsewhere: no CDN, no web fonts.

:func:`render_site` returns the files as ``{relative path: bytes}``, byte-stable for the same
input; the sync takes them one by one from :func:`site_items` and writes them inside its atomic
folder swap.

Product pages are most of the site and most of its time, and one domain's change leaves the other
domains' pages as they were. Each product page is rendered from a context holding only what it
shows, all of it plain data, so the digest of that context (with the templates and the code)
names the page's bytes: :class:`PageCache` takes a page from the last sync's folder when the digest
and the bytes are those it recorded, and renders it otherwise. The governance page, a row per
violation of the mesh, is kept the same way. The index and the domain pages show whole products;
rendering them costs less than a digest of them would.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from meshkit.catalog.model import Catalog, Dataset, Product
from meshkit.config import MaskRule, Mesh
from meshkit.marketplace.lineage_svg import Node, domain_colours, render_svg

SITE_DIR = "site"
PRODUCT_TEMPLATE = "product.html.j2"
PAGE_CACHE = ".catalog-cache/site-pages.json"
ASSETS = ("style.css", "app.js")
MAX_READS = 50
MAX_AUDIT = 100


@dataclass
class SiteInputs:
    """What the site shows besides the catalog (each part optional)."""

    grants: Mapping[str, list[Any]] = field(default_factory=dict)  # product -> approved requests
    requests: Mapping[str, list[Any]] = field(default_factory=dict)  # product -> all requests
    audit: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)  # product -> events
    reads: Mapping[str, list[Any]] = field(default_factory=dict)  # product -> QueryLogEntry
    waivers: list[dict[str, Any]] = field(default_factory=list)  # governance/waivers.yml
    # The sync's check report (Violation.model_dump); None: no check has recorded any.
    violations: list[dict[str, Any]] | None = None
    # Datasets the sync withholds, by id: the finding that withholds each. ``guarded``: by
    # their views' own guard (Snowflake), else by `mesh query` (DuckDB).
    withheld: Mapping[str, str] = field(default_factory=dict)
    guarded: bool = False


def gather_inputs(mesh: Mesh, warehouse: Any | None) -> SiteInputs:
    """Access requests, their audit events and the query log, read from the mesh."""
    from meshkit import access, query_log
    from meshkit.errors import MeshError

    inputs = SiteInputs()
    try:
        requests = access.load_requests(mesh).requests
        grants = access.effective_grants(mesh)
    except MeshError:
        requests, grants = [], []
    by_product: dict[str, list[Any]] = defaultdict(list)
    for r in requests:
        by_product[r.product].append(r)
    granted: dict[str, list[Any]] = defaultdict(list)
    for g in grants:
        granted[g.product].append(g)
    audit: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in access.audit_log(mesh):
        audit[str(e.get("product"))].append(e)
    inputs.requests, inputs.grants, inputs.audit = by_product, granted, audit
    inputs.waivers = read_waivers(mesh)
    if warehouse is not None:
        inputs.reads = query_log.reads_by_product(query_log.read_log(warehouse))
    return inputs


WAIVERS_FILE = "governance/waivers.yml"


def read_waivers(mesh: Mesh, today: date | None = None) -> list[dict[str, Any]]:
    """The reviewed waivers of ``governance/waivers.yml`` with days left to their expiry (the
    governance rules judge them; the site only shows them)."""
    import yaml

    file = mesh.root / WAIVERS_FILE
    try:
        data = yaml.safe_load(file.read_text()) if file.is_file() else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):  # the checks report it
        return []
    today = today or date.today()
    out = []
    for w in (data or {}).get("waivers") or [] if isinstance(data, dict) else []:
        if not isinstance(w, dict):
            continue
        w = {str(k): v for k, v in w.items()}
        expires = w.get("expires")
        try:
            left = (date.fromisoformat(str(expires)) - today).days if expires else None
        except ValueError:
            left = None
        out.append({**w, "expires": str(expires or ""), "days_left": left})
    return out


@functools.cache
def _site_code() -> bytes:
    """The code and templates a page is rendered by: another meshkit renders every page anew."""
    from meshkit.code_fingerprint import code_fingerprint

    # With the modules of the objects a page is given: a property the template reads is theirs.
    h = hashlib.sha256(code_fingerprint(
        ("meshkit.marketplace.site", "meshkit.marketplace.lineage_svg", "meshkit.catalog.model",
         "meshkit.access", "meshkit.query_log", "meshkit.config"), ("jinja2",)))
    folder = resources.files("meshkit.marketplace") / "templates"
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        h.update(item.name.encode() + b"\0" + item.read_bytes())
    return h.digest()


def _plain(value: Any) -> Any:
    """orjson's fallback for a page's context: models and dataclasses by their fields, the
    functions templates call by name (their code is in :func:`_site_code`)."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return orjson.Fragment(value.model_dump_json())
    if callable(value):
        return f"{value.__module__}.{value.__qualname__}"
    raise TypeError(type(value).__name__)


class PageCache:
    """The pages of the last sync's site (``previous``, its folder) by the digest of what each
    showed, recorded in ``file`` (None: nothing kept). A page is served only with its recorded
    digest and bytes of the recorded SHA-256: a page edited by hand is rendered again."""

    _FORMAT = 1

    def __init__(self, file: Path | None, previous: Path | None) -> None:
        self.file, self.previous = file, previous
        self.served = 0  # pages taken from the last sync's folder
        self._known: dict[str, list[str]] = {}
        self._used: dict[str, list[str]] = {}
        if file is None:
            return
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            data = orjson.loads(file.read_bytes())
            if data.get("format") == self._FORMAT and isinstance(data.get("pages"), dict):
                self._known = {str(k): v for k, v in data["pages"].items()
                               if isinstance(v, list) and len(v) == 2
                               and all(isinstance(x, str) for x in v)}

    @staticmethod
    def key(template: str, context: Mapping[str, Any]) -> str | None:
        """The digest of a page's template and context (None if the context is not plain data:
        then the page is always rendered)."""
        try:
            data = orjson.dumps(context, default=_plain, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None
        return hashlib.sha256(_site_code() + template.encode() + b"\0" + data).hexdigest()

    def get(self, path: str, key: str) -> bytes | None:
        known = self._known.get(path)
        if self.previous is None or known is None or known[0] != key:
            return None
        try:
            data = (self.previous / path).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != known[1]:
            return None
        self._used[path] = known
        self.served += 1
        return data

    def get_file(self, path: str, key: str) -> Path | None:
        """:meth:`get`, as the last sync's file whose bytes it checked."""
        if self.get(path, key) is None or self.previous is None:
            return None
        return self.previous / path

    def put(self, path: str, key: str, data: bytes) -> None:
        self._used[path] = [key, hashlib.sha256(data).hexdigest()]

    def save(self) -> None:
        """Record this sync's pages (those of products gone drop out)."""
        from meshkit.files import atomic_write

        if self.file is None:
            return
        with contextlib.suppress(OSError):
            atomic_write(self.file, orjson.dumps({"format": self._FORMAT, "pages": self._used}),
                         durable=False)


def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("meshkit.marketplace", "templates"),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.ChainableUndefined,  # fields other engineers add may be absent
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["pct"] = lambda v: "n/a" if v is None else f"{v:.0%}"
    env.filters["page"] = product_page
    return env


def product_page(address: str) -> str:
    return f"products/{address}.html"


def domain_page(name: str) -> str:
    return f"domains/{name}.html"


# --- what each page shows -----------------------------------------------------------------------


def clearances(mesh: Mesh, product: Product, grants: list[Any]) -> list[dict[str, Any]]:
    """Per classification used by the product: the mask and the roles that see it raw."""
    config = mesh.config
    used: dict[str, list[str]] = defaultdict(list)
    for ds in product.datasets:
        for c in ds.columns:
            used[c.classification or ""].append(f"{ds.relation}.{c.name}")
    granted = sorted({g.role for g in grants})
    out = []
    for name in sorted(used):
        rule = config.classifications.get(name) if name else None
        if not name or rule is None:
            mask, roles, note = "masked (fail closed)", [], (
                "no classification" if not name else "not defined in mesh.yml")
        elif rule.mask is MaskRule.none:
            mask, roles, note = "none", ["everyone"], ""
        else:
            mask = rule.mask.value
            roles = sorted({h for r in rule.cleared for h in config.roles_granting(r)})
            note = ""
        out.append({"classification": name or "unclassified", "mask": mask, "roles": roles,
                    "granted": granted if mask != "none" else [], "columns": used[name],
                    "note": note})
    return out


def _dataset_node_id(edge_dataset: str | None, uid: str) -> str:
    return edge_dataset or uid


DatasetIndex = tuple[dict[str, tuple[Product, Dataset]], dict[str, str]]


def dataset_index(catalog: Catalog) -> DatasetIndex:
    """Every dataset by id (with its product), and dataset ids by model unique_id."""
    datasets = {ds.id: (p, ds) for p in catalog.products() for ds in p.datasets}
    return datasets, {ds.unique_id: i for i, (_, ds) in datasets.items()}


def _product_of(dataset_id: str) -> str:
    """``domain.product`` of a dataset id (``domain.product.dataset``); "" for a name of fewer
    parts."""
    parts = dataset_id.split(".")
    return f"{parts[0]}.{parts[1]}" if len(parts) > 2 else ""


class LineageIndex:
    """What the lineage graphs of a catalog read, derived once: the dataset index, the
    cross-domain column edges, and both kinds of edges grouped by the products at their ends
    (a site draws one graph of each kind per product: scanning every edge of the mesh for each
    made rendering quadratic)."""

    def __init__(self, catalog: Catalog) -> None:
        self.datasets, self.by_uid = dataset_index(catalog)
        self.cross = cross_domain_columns(catalog)
        self.edges_of: dict[str, list[Any]] = defaultdict(list)
        for e in catalog.lineage:
            up = _dataset_node_id(e.upstream_dataset, e.upstream)
            ends = {_product_of(up) if up in self.datasets else None, e.downstream_product}
            for product in ends - {None}:
                self.edges_of[str(product)].append(e)
        self.columns_of: dict[str, list[Any]] = defaultdict(list)
        for e in self.cross:
            up, down = self.column_end(e.upstream)[0], self.column_end(e.downstream)[0]
            for product in {_product_of(up), _product_of(down)}:
                self.columns_of[product].append(e)

    def column_end(self, uid: str) -> tuple[str, str]:
        """(dataset id, domain) of a column edge's end: its node's unique_id when not a dataset."""
        found = self.datasets.get(self.by_uid.get(uid, ""))
        if found is not None:
            return found[1].id, found[0].domain
        return uid, uid.split(".")[1]


def lineage_graph(catalog: Catalog, focus: Product | None = None,
                  root: str = "", index: LineageIndex | None = None,
                  ) -> tuple[list[Node], list[tuple[str, str]]]:
    """Dataset-level cross-domain lineage (all of it, or around ``focus``); ``index`` is
    the catalog's :class:`LineageIndex`, when the caller draws many products' graphs."""
    index = index or LineageIndex(catalog)
    datasets, by_uid = index.datasets, index.by_uid
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str]] = []

    def node_for(ref: str, domain: str, product: str | None) -> str:
        if ref in nodes:
            return ref
        if ref in datasets:
            p, ds = datasets[ref]
            nodes[ref] = Node(ref, ds.relation, p.domain, sublabel=p.address,
                              href=root + product_page(p.address),
                              highlight=focus is not None and p.address == focus.address)
        else:
            label = ref.split(".")[-1]
            nodes[ref] = Node(ref, label, domain, sublabel=product or f"{domain} (model)",
                              href=root + product_page(product) if product else None)
        return ref

    seen: set[tuple[str, str]] = set()
    for e in catalog.lineage if focus is None else index.edges_of.get(focus.address, []):
        up = _dataset_node_id(e.upstream_dataset, e.upstream)
        down = _dataset_node_id(e.downstream_dataset or by_uid.get(e.downstream), e.downstream)
        up_product = datasets[up][0].address if up in datasets else None
        node_for(up, e.upstream_domain, up_product)
        node_for(down, e.downstream_domain, e.downstream_product)
        if (up, down) not in seen:
            seen.add((up, down))
            edges.append((up, down))
    if focus is not None:
        for ds in focus.datasets:
            node_for(ds.id, focus.domain, focus.address)
        for c in focus.consumers:
            if c.kind == "exposure":
                ref = f"exposure:{c.ref}"
                nodes.setdefault(ref, Node(ref, c.ref, c.domain, sublabel=f"{c.type or ''} exposure"))
                for ds in focus.datasets:
                    if any(x.unique_id == c.unique_id for x in ds.consumers):
                        edges.append((ds.id, ref))
    return list(nodes.values()), edges


def column_lineage_graph(catalog: Catalog, focus: Product | None = None,
                         index: LineageIndex | None = None,
                         ) -> tuple[list[Node], list[tuple[str, str]]]:
    """Cross-domain column lineage (all of it, or around ``focus``); ``index`` is the catalog's
    :class:`LineageIndex`, when the caller draws many products' graphs."""
    index = index or LineageIndex(catalog)
    nodes: dict[str, Node] = {}
    edges = []
    for e in index.cross if focus is None else index.columns_of.get(focus.address, []):
        up_ds, up_dom = index.column_end(e.upstream)
        down_ds, down_dom = index.column_end(e.downstream)
        up, down = f"{up_ds}:{e.upstream_column}", f"{down_ds}:{e.downstream_column}"
        nodes.setdefault(up, Node(up, e.upstream_column, up_dom, sublabel=up_ds))
        nodes.setdefault(down, Node(down, e.downstream_column, down_dom, sublabel=down_ds))
        edges.append((up, down))
    return list(nodes.values()), edges


MAX_COLUMN_EDGES = 80  # beyond this a column graph is unreadable: the table says it all


def cross_domain_columns(catalog: Catalog) -> list[Any]:
    """Column lineage edges whose two ends are in different domains."""
    def domain(uid: str) -> str:
        parts = uid.split(".")
        return parts[1] if len(parts) > 2 else ""

    return [e for e in catalog.column_lineage if domain(e.upstream) != domain(e.downstream)]


def sample_query(ds: Dataset) -> str:
    return f"select * from {ds.address if ds.is_latest else ds.id} limit 10;"


def _classes(p: Product) -> list[str]:
    return sorted({c.classification or "unclassified" for ds in p.datasets for c in ds.columns})


def search_index(catalog: Catalog) -> list[dict[str, Any]]:
    """What the home page's search looks through: products, datasets and domains."""
    entries: list[dict[str, Any]] = []
    for d in catalog.domains:
        entries.append({"k": "domain", "t": d.name, "u": domain_page(d.name), "d": d.name,
                        "x": d.description[:200], "f": [f"owner: {d.owner.name or ''}"],
                        "s": "", "h": "", "c": [],
                        "q": " ".join([d.name, d.description, d.owner.name or "",
                                       d.owner.email or ""]).lower()})
        for p in d.products:
            regs = sorted({r for ds in p.datasets for c in ds.columns for r in c.regulations})
            cols = sorted({c.name for ds in p.datasets for c in ds.columns})
            entries.append({
                "k": "product", "t": p.address, "u": product_page(p.address), "d": d.name,
                "s": p.status, "h": p.health.status.value, "c": _classes(p),
                "x": p.description[:200],
                "f": [f"owner: {p.owner.name or p.owner.email or ''}", *(f"tag: {t}" for t in p.tags),
                      *(f"regulation: {r}" for r in regs)],
                "q": " ".join([p.address, p.description, p.owner.name or "", p.owner.email or "",
                               " ".join(p.tags), " ".join(regs), " ".join(cols),
                               " ".join(p.use_cases), " ".join(p.kpis), p.support or "",
                               " ".join(_classes(p))]).lower(),
            })
            for ds in p.datasets:
                entries.append({
                    "k": "dataset", "t": ds.id, "u": f"{product_page(p.address)}#{ds.relation}",
                    "d": d.name, "s": p.status, "h": ds.health.status.value,
                    "c": sorted({c.classification or "unclassified" for c in ds.columns}),
                    "x": ds.description[:200],
                    "f": [f"column: {c.name}" for c in ds.columns],
                    "q": " ".join([ds.id, ds.description, " ".join(ds.tags),
                                   *(f"{c.name} {c.classification or ''} {' '.join(c.regulations)}"
                                     for c in ds.columns)]).lower(),
                })
    return entries


def _governance(catalog: Catalog, inputs: SiteInputs) -> dict[str, Any]:
    """The governance page's figures, as plain data (the page cache's digest of them covers the
    whole page): the violations the sync's checks recorded, the waivers, and per product (and in
    all) its row: owner, status, health, tests, the contracts enforced and columns classified."""
    violations = list(inputs.violations or [])
    by_domain: dict[str, int] = defaultdict(int)
    by_policy: dict[str, int] = defaultdict(int)
    for v in violations:
        by_domain[str(v.get("domain") or "—")] += 1
        by_policy[str(v.get("rule") or "—")] += 1
    # Counted here, not in the template: a loop over every column of the mesh in Jinja was most
    # of the page's time.
    products: list[dict[str, Any]] = []
    totals = dict.fromkeys(("datasets", "enforced", "columns", "classified"), 0)
    for p in catalog.products():
        columns = [c for ds in p.datasets for c in ds.columns]
        counts = {"datasets": len(p.datasets),
                  "enforced": sum(ds.contract_enforced for ds in p.datasets),
                  "columns": len(columns),
                  "classified": sum(bool(c.classification) for c in columns)}
        for k, n in counts.items():
            totals[k] += n
        products.append({
            "address": p.address, "owner_email": p.owner.email, "status": p.status,
            "health": p.health.status.value, "pass_rate": p.quality.pass_rate, **counts})
    return {"violations": violations, "waivers": inputs.waivers,
            "by_domain": dict(sorted(by_domain.items())),
            "by_policy": dict(sorted(by_policy.items())),
            "recorded": inputs.violations is not None, "products": products, "totals": totals}


def render_site(mesh: Mesh, catalog: Catalog, inputs: SiteInputs | None = None,
                pages: PageCache | None = None) -> dict[str, bytes]:
    """Every file of the site, as ``{relative path: bytes}`` (product pages through ``pages``,
    when given)."""
    return {rel: content if isinstance(content, bytes) else content.read_bytes()
            for rel, content in site_items(mesh, catalog, inputs, pages)}


def site_items(mesh: Mesh, catalog: Catalog, inputs: SiteInputs | None = None,
               pages: PageCache | None = None) -> Iterator[tuple[str, bytes | Path]]:
    """Every file of the site as it is made, by relative path: its bytes, or the last sync's
    file when ``pages`` keeps it (the sync links it into the next folder; neither holds the
    whole site: 19 MB at 50 domains)."""
    inputs = inputs or SiteInputs()
    env = _env()
    colours = domain_colours(d.name for d in catalog.domains)
    products = catalog.products()
    classes = {p.address: _classes(p) for p in products}
    common = {"catalog": catalog, "mesh": mesh.config, "colours": colours,
              "domains": catalog.domains, "classes": classes}
    # A page given only plain data (what it shows, so that PageCache's digest of it covers the
    # whole page) has the mesh's name and the domains' names for its header.
    header = {"catalog": {"mesh": catalog.mesh}, "colours": colours,
              "domains": [{"name": d.name} for d in catalog.domains]}

    def page(path: str, template: str, **context: Any) -> tuple[str, bytes]:
        root = "../" * path.count("/")
        return path, env.get_template(template).render(root=root, **common, **context).encode()

    def kept_or_rendered(path: str, template: str, context: dict[str, Any]
                         ) -> tuple[str, bytes | Path]:
        """The page from the last sync's site when ``pages`` keeps it for this very context,
        else rendered from the context alone."""
        key = pages.key(template, context) if pages is not None else None
        kept = pages.get_file(path, key) if pages is not None and key is not None else None
        if kept is not None:
            return path, kept
        html = env.get_template(template).render(**context).encode()
        if pages is not None and key is not None:
            pages.put(path, key, html)
        return path, html

    filters = {
        "domain": sorted(d.name for d in catalog.domains),
        "status": sorted({p.status for p in products}),
        "health": sorted({p.health.status.value for p in products}),
        "classification": sorted({c for p in products for c in _classes(p)}),
    }
    yield page("index.html", "index.html.j2", products=products, filters=filters)
    lineage = LineageIndex(catalog)  # built once for every product page's graphs
    nodes, edges = lineage_graph(catalog, root="", index=lineage)
    col_nodes, col_edges = column_lineage_graph(catalog, index=lineage)
    yield page("lineage.html", "lineage.html.j2",
               svg=render_svg(nodes, edges, title="Cross-domain lineage of datasets",
                              colours=colours),
               column_svg=(render_svg(col_nodes, col_edges, title="Cross-domain column lineage",
                                      colours=colours)
                           if len(col_edges) <= MAX_COLUMN_EDGES else ""),
               column_edges=lineage.cross)
    # Its 12,620 rows of violations at 50 domains took a third of the site's time in a sync
    # with nothing changed.
    yield kept_or_rendered("governance.html", "governance.html.j2",
                           {**header, "root": "", "governance": _governance(catalog, inputs)})
    for d in catalog.domains:
        yield page(domain_page(d.name), "domain.html.j2", domain=d)
    for p in products:
        grants = inputs.grants.get(p.address, [])
        nodes, edges = lineage_graph(catalog, focus=p, root="../", index=lineage)
        col_nodes, col_edges = column_lineage_graph(catalog, focus=p, index=lineage)
        path = product_page(p.address)
        context = {
            **header, "root": "../" * path.count("/"), "product": p,
            "clearances": clearances(mesh, p, grants), "grants": grants,
            "requests": inputs.requests.get(p.address, []),
            "audit": list(reversed(inputs.audit.get(p.address, [])))[:MAX_AUDIT],
            "reads": inputs.reads.get(p.address, [])[:MAX_READS],
            "reads_total": len(inputs.reads.get(p.address, [])),
            "withheld": {ds.id: inputs.withheld[ds.id] for ds in p.datasets
                         if ds.id in inputs.withheld},
            "withheld_guarded": inputs.guarded,
            "sample_query": sample_query, "consumer_role": _example_role(mesh),
            "svg": render_svg(nodes, edges, title=f"Lineage of {p.address}", colours=colours),
            "column_svg": (render_svg(col_nodes, col_edges,
                                      title=f"Column lineage of {p.address}", colours=colours)
                           if len(col_edges) <= MAX_COLUMN_EDGES else "")}
        yield kept_or_rendered(path, PRODUCT_TEMPLATE, context)
    index = json.dumps(search_index(catalog), sort_keys=True, ensure_ascii=False)
    # A script, not a fetched JSON file: fetch() is refused on file:// pages. "</" is escaped so
    # no description can close the script element.
    yield "assets/search-index.js", (
        "window.MESH_INDEX = " + index.replace("</", "<\\/") + ";\n").encode()
    # Domain colours as classes: the served site's content security policy allows no inline
    # style (domain names are identifiers, safe as class names).
    yield "assets/domains.css", "".join(
        f".d-{name} {{ background: {colour}; }}\n" for name, colour in sorted(colours.items())
    ).encode()
    for name in ASSETS:
        yield f"assets/{name}", (resources.files("meshkit.marketplace") / "static" / name
                                 ).read_bytes()


def _example_role(mesh: Mesh) -> str:
    return mesh.config.roles[0].name if mesh.config.roles else "analyst"
