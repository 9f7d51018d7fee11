"""``mesh-sync`` and ``mesh catalog list / show / search``: parse options, call the library,
render its result as text or JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from meshkit.cli import render
from meshkit.cli.errors import handle_errors
from meshkit.cli.options import json_option, load, mesh_option, target_option
from meshkit.terminal import literal, visible

if TYPE_CHECKING:
    from meshkit.catalog.sync import DomainSync, SyncResult

CHANGES_SHOWN = 20
_HEALTH_STYLE = {"healthy": "green", "caution": "yellow", "degraded": "red"}


def _echo_json(data: Any) -> None:
    render.echo_json(data, sort_keys=True)


def _health(status: str) -> str:
    return f"[{_HEALTH_STYLE.get(status, 'white')}]{literal(status)}[/]"


def _health_cell(status: str) -> Any:
    from rich.text import Text

    return Text(status, style=_HEALTH_STYLE.get(status, "white"))


@click.command("mesh-sync")
@mesh_option
@target_option()
@click.option("--domain", "-d", "domains", multiple=True,
              help="Only re-read this domain (repeatable); others keep their last sync.")
@click.option("--dry-run", is_flag=True, help="Build the catalog but write nothing.")
@click.option("--wait", default=0.0, show_default=True, metavar="SECONDS",
              type=click.FloatRange(min=0),
              help="Wait this long for another mesh-sync of the catalog to finish.")
@json_option
@handle_errors
def mesh_sync(mesh_file: Path, target: str | None, domains: tuple[str, ...], dry_run: bool,
              wait: float, as_json: bool) -> None:
    """Read every domain's dbt artifacts and write the mesh catalog (catalog/ and the
    mesh_catalog tables), atomically; unchanged domains are skipped.

    A domain whose artifacts cannot be read keeps its last good entry, marked stale, while the
    rest of the mesh syncs; the command then exits 1 naming it."""
    console = render.console(stderr=as_json, quiet=as_json, highlight=False)
    mesh = load(mesh_file)
    console.print(f"syncing [bold]{literal(mesh.config.name)}[/] "
                  f"({len(mesh.config.domains)} domains)"
                  + (" [dim](dry run)[/]" if dry_run else ""))
    result = mesh.sync(target=target, domains=domains, dry_run=dry_run,
                       on_domain=sync_progress(console), wait=wait)
    if as_json:
        _echo_json(result.summary())
    else:
        print_sync(result, console)
    if result.exit_code:
        raise SystemExit(result.exit_code)


def sync_progress(console: Any) -> Callable[[DomainSync], None]:
    """A sync's per-domain progress line."""
    def progress(d: DomainSync) -> None:
        console.print(f"  {d.name}: {d.status} ({d.products} products, {d.datasets} datasets, "
                      f"{d.adhoc} ad-hoc) in {d.seconds:.2f}s", markup=False)
        if d.note:
            console.print(f"    {d.note}", style="yellow", markup=False)

    return progress


def print_sync(result: SyncResult, console: Any) -> None:
    """A sync's summary table, its changes and where it wrote."""
    console.print(render.table(
        ("domains", "products", "datasets", "changes", "violations", "seconds"),
        [(len(result.domains), len(result.catalog.products()), len(result.catalog.datasets()),
          len(result.changes), result.violations, f"{result.seconds:.2f}")],
        title=f"sync {result.sync_id}",
        right=("domains", "products", "datasets", "changes", "violations", "seconds")))
    for change in result.changes[:CHANGES_SHOWN]:
        console.print(visible(f"  {change}"), markup=False)
    if len(result.changes) > CHANGES_SHOWN:
        console.print(f"  ... and {len(result.changes) - CHANGES_SHOWN} more")
    if result.report is not None and result.report.violations:
        from meshkit.checks.render import print_summary
        from meshkit.contracts.publish import VIOLATIONS_FILE

        recorded = "" if result.dry_run else \
            f"; all of them: {Path(result.catalog_dir) / VIOLATIONS_FILE}"
        print_summary(result.report, console, title="violations (recorded in the catalog)",
                      listing=recorded)
    # Refused contracts and withheld views one by one as far as violations are (`--json` lists
    # every one).
    _listed(console, result.refused, "not published", "its last published contract stays",
            "refused")
    _listed(console, result.withheld, "withheld",
            ("its secure view serves no row" if result.guarded else "`mesh query` refuses it")
            + " until a sync finds it clean", "withheld")
    where = "nothing written (dry run)" if result.dry_run else f"catalog: {result.catalog_dir}\n" \
        f"warehouse: {result.warehouse}"
    console.print(visible(where, lines=True), markup=False)
    from meshkit.cli.errors import report

    for failure in result.failures:
        report(failure)
    if result.failures:
        console.print(f"{len(result.failures)} domain(s) kept their last good entry, marked "
                      "stale; the rest of the mesh is synced")


@click.group("catalog")
def catalog() -> None:
    """Discover data products: list, show, search."""


def _load(mesh_file: Path) -> Any:
    return load(mesh_file).catalog()


@catalog.command("list")
@mesh_option
@click.option("--domain", "-d", default=None, help="Only this domain's products.")
@json_option
@handle_errors
def list_products(mesh_file: Path, domain: str | None, as_json: bool) -> None:
    """Every data product: domain, owner, status, datasets, health."""
    mesh = load(mesh_file)
    if domain is not None:
        mesh.config.domain(domain)  # a name of no domain is bad input, not an empty list
    cat = mesh.catalog()
    products = [p for p in cat.products() if domain is None or p.domain == domain]
    if as_json:
        _echo_json([{
            "address": p.address, "domain": p.domain, "product": p.name,
            "owner": p.owner.model_dump(), "status": p.status,
            "datasets": [ds.id for ds in p.datasets], "health": p.health.status.value,
        } for p in products])
        return
    rows = [(p.domain, p.name, p.owner.name or p.owner.email or "", p.status, len(p.datasets),
             _health_cell(p.health.status.value)) for p in products]
    render.console(highlight=False).print(render.table(
        ("domain", "product", "owner", "status", "datasets", "health"), rows,
        title=f"{literal(cat.mesh)}: {len(products)} products"))
    adhoc = sum(len(d.adhoc_datasets) for d in cat.domains)
    click.echo(f"{adhoc} ad-hoc datasets (not products) in {len(cat.domains)} domains")


@catalog.command("show")
@click.argument("ref")
@mesh_option
@json_option
@handle_errors
def show(ref: str, mesh_file: Path, as_json: bool) -> None:
    """Details of a product or dataset (address, id or name), with its columns."""
    from meshkit.catalog.model import Dataset, Product
    from meshkit.catalog.search import find
    from meshkit.catalog.store import withheld_datasets

    mesh = load(mesh_file)
    found = find(mesh.catalog(), ref)
    guarded, held = withheld_datasets(mesh.catalog_dir)
    if as_json:
        def dumped(ds: Any) -> dict[str, Any]:
            out: dict[str, Any] = ds.model_dump(mode="json")
            if isinstance(ds, Dataset) and ds.id in held:
                out["withheld"] = held[ds.id]
            return out

        if isinstance(found, list):
            _echo_json([dumped(ds) for ds in found])
        elif isinstance(found, Product):
            _echo_json({**found.model_dump(mode="json"),
                        "datasets": [dumped(ds) for ds in found.datasets]})
        else:
            _echo_json(dumped(found))
        return
    console = render.console(highlight=False)
    datasets: list[Any]
    if isinstance(found, Product):
        p = found
        console.print(f"[bold]{literal(p.address)}[/]  {literal(p.status)}  "
                      f"{_health(p.health.status.value)}")
        console.print(visible(f"owner: {p.owner.name} <{p.owner.email}>   tier: {p.tier}   "
                              f"SLA freshness: {p.sla.freshness}   support: {p.support}"),
                      markup=False)
        if p.description:
            console.print(visible(p.description, lines=True), markup=False)
        for label, items in (("tags", p.tags), ("use cases", p.use_cases), ("KPIs", p.kpis)):
            if items:
                console.print(visible(f"{label}: {', '.join(items)}"), markup=False)
        for port in p.input_ports:
            console.print(visible(f"input: {port.kind} {port.ref}"), markup=False)
        for c in p.consumers:
            of = f", product {c.product}" if c.product else ""
            console.print(visible(f"consumer: {c.kind} {c.ref} ({c.domain}{of})"), markup=False)
        for r in p.health.reasons:
            console.print(f"  [yellow]•[/] {literal(r)}")
        datasets = p.datasets
    elif isinstance(found, list):
        datasets = found
    else:
        console.print(f"[bold]{literal(found.unique_id)}[/] (ad-hoc: not a product, not "
                      "consumable across domains)")
        datasets = [found]
    for ds in datasets:
        console.print()
        if isinstance(ds, Dataset):
            version = f" v{ds.version}{' (latest)' if ds.is_latest else ''}" if ds.version else ""
            console.print(f"[bold]{literal(ds.id)}[/]{literal(version)}  "
                          f"{_health(ds.health.status.value)}  "
                          f"contract {'enforced' if ds.contract_enforced else 'NOT enforced'}")
            if ds.id in held:
                how = "its secure view serves no row" if guarded else "`mesh query` refuses it"
                console.print(visible(f"withheld ({how} until a sync finds it clean): "
                                      f"{held[ds.id]}"), style="bold red", markup=False)
            if ds.deprecation_date:
                console.print(visible(f"deprecation date: {ds.deprecation_date}"), markup=False)
            q, op = ds.quality, ds.operational
            rate = f"{q.pass_rate:.0%}" if q.pass_rate is not None else "n/a"
            console.print(f"tests: {q.passed}/{len(q.tests)} passed ({rate})   last success: "
                          f"{op.last_success_at}   rows: {op.row_count}"
                          + (" in the table" if ds.row_filter else ""))
            if ds.row_filter:
                rf = ds.row_filter
                console.print(visible(f"rows filtered by role ({rf.name}): {rf.column} in "
                                      f"{', '.join(rf.restricted_values)} only for "
                                      f"{', '.join(rf.cleared)}; other roles see fewer rows"),
                              markup=False)
            for c in ds.consumers:
                of = f" (product {c.product})" if c.product else ""
                console.print(visible(f"consumer: {c.kind} {c.ref}{of}"), markup=False)
            for r in ds.health.reasons:
                console.print(f"  [yellow]•[/] {literal(r)}")
        if ds.description:
            console.print(visible(ds.description, lines=True), markup=False)
        console.print(render.table(
            ("column", "type", "classification", "regulations", "description"),
            [(entry.name, entry.data_type or "", entry.classification or "",
              ", ".join(entry.regulations), entry.description) for entry in ds.columns]))


@catalog.command("search")
@click.argument("text", nargs=-1, required=True)
@mesh_option
@click.option("--limit", default=50, show_default=True)
@json_option
@handle_errors
def search_cmd(text: tuple[str, ...], mesh_file: Path, limit: int, as_json: bool) -> None:
    """Search names, descriptions, columns, owners and tags."""
    from dataclasses import asdict

    from meshkit.catalog.search import search

    hits = search(_load(mesh_file), " ".join(text), limit=limit)
    if as_json:
        _echo_json([asdict(h) for h in hits])
        return
    if not hits:
        click.echo("no matches")
        return
    rows = []
    for h in hits:
        more = f" +{len(h.matched) - 3}" if len(h.matched) > 3 else ""
        rows.append((h.kind, h.id, ", ".join(h.matched[:3]) + more, h.description[:60]))
    render.console(highlight=False).print(render.table(("kind", "id", "matched", "description"),
                                                       rows))


@catalog.command("metrics")
@click.argument("product", required=False)
@mesh_option
@target_option()
@json_option
@handle_errors
def metrics_cmd(product: str | None, mesh_file: Path, target: str | None, as_json: bool) -> None:
    """Product success: consumers over time, builds, tests, SLA attainment, reads."""
    mesh = load(mesh_file)
    catalog = mesh.catalog()
    found = mesh.product_metrics(target=target)
    if product is not None:
        from meshkit.catalog.search import find

        hit = find(catalog, product)
        address = getattr(hit, "address", product)
        found = {k: v for k, v in found.items() if k == ".".join(str(address).split(".")[:2])}
    if as_json:
        _echo_json({k: v.model_dump(mode="json") for k, v in found.items()})
        return
    rows = []
    for address, m in found.items():
        now = m.consumers[-1] if m.consumers else None
        first = m.consumers[0] if m.consumers else None
        consumers = (f"{now.datasets}/{len(now.domains)}/{now.exposures}" if now else "-")
        if first is not None and now is not None and first is not now:
            consumers += f" (was {first.datasets}/{len(first.domains)}/{first.exposures})"
        tests = f"{m.tests[-1].passed}✓ {m.tests[-1].failed}✗" if m.tests else "-"
        sla = (f"{m.sla.attainment:.0%} of {m.sla.observed}" if m.sla.attainment is not None
               else "n/a")
        rows.append((address, consumers, tests, str(len(m.builds)), sla, str(m.reads.total),
                     str(len(m.reads.users)), m.reads.last_read_at or "-"))
    render.console(highlight=False).print(render.table(
        ("product", "consumers", "tests", "builds", "SLA met", "reads", "readers", "last read"),
        rows, title=f"{literal(catalog.mesh)}: product success",
        caption="consumers: datasets/domains/exposures reading it now; SLA met: share of syncs "
                "within its freshness SLA"))


def _listed(console: Any, names: list[str], what: str, why: str, key: str) -> None:
    from meshkit.checks.render import SUMMED_UP_PAST as SHOWN

    for name in names[:SHOWN]:
        console.print(f"  [red]{what}[/] {literal(name)}: {why}")
    if len(names) > SHOWN:
        console.print(f"  ... and {len(names) - SHOWN} more {what} "
                      f"(`mesh-sync --json` lists each under {key})")
