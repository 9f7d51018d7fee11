"""A synthetic mesh of N domains x M models, cloned from the real jaffle_shop dbt artifacts.

Every model, test, seed and source is a renamed deep copy of a real node of
the public jaffle_shop project's artifacts written by dbt 1.11 (manifest v12; the folder is given
by ``MESH_BENCH_ARTIFACTS``: ``manifest_dbt1.11.json``, ``run_results_dbt1.11.json``,
``catalog_dbt1.11.json``), so the bytes per model are those
of a real manifest (config, checksums, descriptions, compiled SQL taken from the real
run_results). On top of the clones each domain gets what a governed mesh has and jaffle_shop
lacks: groups with owners and SLA meta, public contracted (and versioned) models whose columns
carry a classification, and the public models of two upstream domains injected the way dbt-loom
injects them (top-level fields only, no columns, no SQL), referenced by some of the domain's own
models. ``run_results.json`` is that of a ``dbt build``; ``catalog.json`` that of
``dbt docs generate``. The macros, docs, metrics and semantic models of the real manifest are
kept as they are (a real manifest carries dbt's macros too).
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS_ENV = "MESH_BENCH_ARTIFACTS"


def real_artifacts() -> Path | None:
    """The folder of real jaffle_shop artifacts the synthetic mesh is cloned from, if given."""
    folder = os.environ.get(ARTIFACTS_ENV)
    return Path(folder) if folder and (Path(folder) / "manifest_dbt1.11.json").is_file() else None

TEMPLATE = "jaffle_shop"
GROUPS = 5
# Every 5th model is a public product output; every 10th starts a versioned pair (v1, v2).
PUBLIC_EVERY = 5
VERSIONED_EVERY = 10
UPSTREAMS = 2  # domains each domain reads through dbt-loom
CONSUMERS = 4  # own staging models per domain that read an upstream public model
CLASSES = ("public", "internal", "confidential", "pii")
GENERATED_AT = "2026-11-20T06:00:00.000000Z"


def _load(name: str) -> dict[str, Any]:
    folder = real_artifacts()
    if folder is None:
        raise FileNotFoundError(f"set {ARTIFACTS_ENV} to a folder of jaffle_shop's dbt 1.11 artifacts")
    data: dict[str, Any] = orjson.loads((folder / name).read_bytes())
    return data


@dataclass
class Templates:
    manifest: dict[str, Any]
    run_results: dict[str, Any]
    catalog: dict[str, Any]

    @classmethod
    def load(cls) -> Templates:
        return cls(_load("manifest_dbt1.11.json"), _load("run_results_dbt1.11.json"),
                   _load("catalog_dbt1.11.json"))

    def nodes(self, rtype: str) -> list[dict[str, Any]]:
        return [n for n in self.manifest["nodes"].values() if n["resource_type"] == rtype]


def domain_name(i: int) -> str:
    return f"dom_{i:03d}"


@dataclass(frozen=True)
class _Slot:
    """Model j of a domain: its name, version, access, group."""

    j: int
    template: dict[str, Any]
    name: str
    version: int | None
    public: bool
    group: str

    @property
    def alias(self) -> str:
        return self.name if self.version is None else f"{self.name}_v{self.version}"

    def uid(self, domain: str) -> str:
        base = f"model.{domain}.{self.name}"
        return base if self.version is None else f"{base}.v{self.version}"


def _slots(models: list[dict[str, Any]], m: int) -> list[_Slot]:
    out: list[_Slot] = []
    for j in range(m):
        group = f"g{(j // VERSIONED_EVERY) % GROUPS}"
        if j % VERSIONED_EVERY == 1 and out and out[-1].version == 1:
            prev = out[-1]
            out.append(_Slot(j, prev.template, prev.name, 2, True, group))
            continue
        t = models[j % len(models)]
        versioned = j % VERSIONED_EVERY == 0 and j + 1 < m
        out.append(_Slot(j, t, f"{t['name']}_{j:04d}", 1 if versioned else None,
                         j % PUBLIC_EVERY == 0, group))
    return out


def _rel(domain: str, schema: str, name: str) -> str:
    return f'"{domain}"."{schema}"."{name}"'


def _hash(*parts: object) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()


class _DomainWriter:
    def __init__(self, t: Templates, n_domains: int, m: int) -> None:
        self.t = t
        self.n, self.m = n_domains, m
        self.models = t.nodes("model")
        self.tests_by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for test in t.nodes("test"):
            if test.get("attached_node"):
                self.tests_by_model[test["attached_node"]].append(test)
        self.compiled = {r["unique_id"]: r.get("compiled_code") for r in t.run_results["results"]}
        self.results = {r["unique_id"]: r for r in t.run_results["results"]}
        self.slots = _slots(self.models, m)
        self.public = [s for s in self.slots if s.public]

    def upstreams(self, i: int) -> list[int]:
        # Only lower-numbered domains: a mesh's cross-domain refs form no cycle (the sync refuses one).
        return [i - k for k in range(1, UPSTREAMS + 1) if i - k >= 0]

    def write(self, i: int, dest: Path, *, run_tag: str = "") -> None:
        dom = domain_name(i)
        dest.mkdir(parents=True, exist_ok=True)
        nodes: dict[str, Any] = {}
        results: list[dict[str, Any]] = []
        cat_nodes: dict[str, Any] = {}
        tmpl_uid_to_latest: dict[str, str] = {}
        clone_rel: dict[str, str] = {}
        sources = self._sources(dom)
        # The public models of the upstream domains, as dbt-loom injects them.
        foreign: list[tuple[str, str]] = []
        for u in self.upstreams(i):
            up = domain_name(u)
            for s in self.public:
                node = self._injected(up, s)
                nodes[node["unique_id"]] = node
                foreign.append((node["unique_id"], node["relation_name"]))
        consumers = 0
        for s in self.slots:
            uid = s.uid(dom)
            node = copy.deepcopy(s.template)
            tuid = s.template["unique_id"]
            relation = _rel(dom, "main", s.alias)
            node.update(
                database=dom, name=s.name, package_name=dom, unique_id=uid, alias=s.alias,
                fqn=[dom, *s.template["fqn"][1:-1], s.name], relation_name=relation,
                path=s.template["path"].replace(s.template["name"], s.name),
                original_file_path=s.template["original_file_path"].replace(
                    s.template["name"], s.name),
                checksum={"name": "sha256", "checksum": _hash(dom, uid, run_tag)},
                group=s.group, access="public" if s.public else "protected",
                version=s.version, latest_version=2 if s.version else None,
                deprecation_date="2026-01-31T00:00:00Z" if s.version == 1 else None,
            )
            node["config"] = dict(node["config"], group=s.group, access=node["access"])
            code = self.compiled.get(tuid) or node.get("raw_code") or ""
            code = code.replace(f'"{TEMPLATE}"', f'"{dom}"')
            deps = []
            for parent in s.template["depends_on"]["nodes"]:
                if parent.startswith("model."):
                    pname = parent.split(".")[2]
                    clone = tmpl_uid_to_latest.get(parent) or self._first_clone(dom, parent)
                    deps.append(clone)
                    code = code.replace(_rel(dom, "main", pname), clone_rel.get(clone, relation))
                elif parent.startswith("source."):
                    src = parent.replace(f".{TEMPLATE}.", f".{dom}.")
                    if consumers < CONSUMERS and foreign and s.j >= len(self.models):
                        # Read an upstream domain's public model instead of the raw source.
                        f_uid, f_rel = foreign[(i + consumers * 7) % len(foreign)]
                        consumers += 1
                        deps.append(f_uid)
                        code = code.replace(sources[src]["relation_name"], f_rel)
                    else:
                        deps.append(src)
                else:
                    deps.append(parent)
            node["depends_on"] = {"macros": node["depends_on"]["macros"], "nodes": deps}
            node["compiled_code"] = code
            node["compiled"] = True
            node["columns"] = self._columns(s)
            contract = {"enforced": s.public, "alias_types": True,
                        "checksum": _hash(uid, "contract") if s.public else None}
            node["contract"] = contract
            node["config"]["contract"] = {"enforced": s.public, "alias_types": True}
            node["constraints"] = []
            nodes[uid] = node
            tmpl_uid_to_latest[tuid] = uid
            clone_rel[uid] = relation
            results.append(self._result(uid, tuid, code, s.j))
            cat_nodes[uid] = self._catalog_node(dom, s, uid)
            for test in self._tests(dom, s, uid):
                nodes[test["unique_id"]] = test
                results.append(self._test_result(test["unique_id"], s.j + len(results)))
        for seed in self.t.nodes("seed"):
            node = copy.deepcopy(seed)
            uid = seed["unique_id"].replace(f".{TEMPLATE}.", f".{dom}.")
            node.update(unique_id=uid, package_name=dom, database=dom,
                        fqn=[dom, *seed["fqn"][1:]],
                        relation_name=_rel(dom, seed["schema"], seed["name"]))
            nodes[uid] = node
        parent_map = {uid: list(n.get("depends_on", {}).get("nodes", [])) for uid, n in nodes.items()}
        child_map: dict[str, list[str]] = defaultdict(list)
        for uid, parents in parent_map.items():
            for p in parents:
                child_map[p].append(uid)
        manifest = {
            **self.t.manifest,
            "metadata": dict(self.t.manifest["metadata"], project_name=dom,
                             generated_at=GENERATED_AT, invocation_id=_hash(dom, run_tag)[:36]),
            "nodes": nodes,
            "sources": sources,
            "groups": self._groups(dom),
            "parent_map": parent_map,
            "child_map": dict(child_map),
            "group_map": {f"g{k}": [s.uid(dom) for s in self.slots if s.group == f"g{k}"]
                          for k in range(GROUPS)},
        }
        run_results = {
            "metadata": dict(self.t.run_results["metadata"], generated_at=GENERATED_AT),
            "results": results,
            "elapsed_time": 12.5,
            "args": dict(self.t.run_results["args"], which="build",
                         invocation_command="dbt build"),
        }
        catalog = {
            "metadata": dict(self.t.catalog["metadata"], generated_at=GENERATED_AT),
            "nodes": cat_nodes,
            "sources": {},
            "errors": None,
        }
        (dest / "manifest.json").write_bytes(orjson.dumps(manifest))
        (dest / "run_results.json").write_bytes(orjson.dumps(run_results))
        (dest / "catalog.json").write_bytes(orjson.dumps(catalog))

    def _first_clone(self, dom: str, template_uid: str) -> str:
        for s in self.slots:
            if s.template["unique_id"] == template_uid:
                return s.uid(dom)
        raise KeyError(template_uid)

    def _sources(self, dom: str) -> dict[str, Any]:
        out = {}
        for uid, s in self.t.manifest["sources"].items():
            node = copy.deepcopy(s)
            new = uid.replace(f".{TEMPLATE}.", f".{dom}.")
            node.update(unique_id=new, package_name=dom, database=dom,
                        fqn=[dom, *s["fqn"][1:]],
                        relation_name=_rel(dom, s["schema"], s["identifier"] or s["name"]))
            out[new] = node
        return out

    def _groups(self, dom: str) -> dict[str, Any]:
        return {
            f"group.{dom}.g{k}": {
                "name": f"g{k}", "resource_type": "group", "package_name": dom,
                "path": "_groups.yml", "original_file_path": "models/_groups.yml",
                "unique_id": f"group.{dom}.g{k}",
                "owner": {"name": f"Team {dom} {k}", "email": f"team{k}@{dom}.example.com"},
                "description": f"Data product g{k} of {dom}: curated, documented, contracted.",
                "config": {"meta": {"status": "active", "tier": ("gold", "silver")[k % 2],
                                    "sla": {"freshness": "24h"}, "tags": ["bench", dom],
                                    "use_cases": ["reporting"], "support": "#data"},
                           "materialized": "table"},
            } for k in range(GROUPS)
        }

    def _injected(self, up: str, s: _Slot) -> dict[str, Any]:
        """An upstream public model as dbt-loom injects it: top-level fields only."""
        node = copy.deepcopy(s.template)
        node.update(
            database=up, schema="main", name=s.name, package_name=up, path="",
            original_file_path="", unique_id=s.uid(up), fqn=[up, s.name], alias=s.alias,
            checksum={"name": "sha256", "checksum": _hash(up, s.name)}, tags=[],
            description="", columns={}, meta={}, group=s.group, patch_path=None,
            unrendered_config={"alias": s.alias, "schema": "main", "database": up},
            relation_name=_rel(up, "main", s.alias), raw_code="", compiled=True,
            compiled_code="", depends_on={"macros": [], "nodes": []}, access="public",
            version=s.version, latest_version=2 if s.version else None,
            deprecation_date=None, primary_key=[],
            contract={"enforced": False, "alias_types": True, "checksum": None},
        )
        node["config"] = dict(node["config"], group=None, access="protected")
        return node

    def _columns(self, s: _Slot) -> dict[str, Any]:
        cat = self.t.catalog["nodes"].get(s.template["unique_id"], {}).get("columns", {})
        documented = s.template["columns"]
        out: dict[str, Any] = {}
        names = list(documented) + [c for c in cat if c not in documented]
        if not names:
            names = ["id", "name", "updated_at"]
        for k, col in enumerate(names):
            base = copy.deepcopy(documented.get(col)) if col in documented else {
                "name": col, "description": f"The {col.replace('_', ' ')}.", "meta": {},
                "data_type": None, "constraints": [], "quote": None,
                "config": {"meta": {}, "tags": []}, "tags": [], "granularity": None,
                "doc_blocks": []}
            if s.public:
                base["data_type"] = (cat.get(col) or {}).get("type", "varchar").lower()
                cls = CLASSES[(s.j + k) % len(CLASSES)]
                meta = {"classification": cls}
                if cls == "pii":
                    meta["regulations"] = ["gdpr", "ccpa"]
                base["config"] = {"meta": meta, "tags": []}
                base["meta"] = meta
                if k == 0:
                    base["constraints"] = [{"type": "not_null", "name": None, "expression": None,
                                            "warn_unenforced": True, "warn_unsupported": True,
                                            "to": None, "to_columns": []}]
            out[col] = base
        return out

    def _tests(self, dom: str, s: _Slot, model_uid: str) -> list[dict[str, Any]]:
        out = []
        tname = s.template["name"]
        for test in self.tests_by_model.get(s.template["unique_id"], []):
            node = copy.deepcopy(test)
            name = test["name"].replace(tname, s.alias)
            uid = f"test.{dom}.{name}.{_hash(dom, name)[:10]}"
            node.update(name=name, unique_id=uid, package_name=dom, database=dom, alias=name,
                        path=f"{name}.sql", fqn=[dom, *test["fqn"][1:-1], name],
                        attached_node=model_uid,
                        depends_on={"macros": test["depends_on"]["macros"],
                                    "nodes": [model_uid]})
            out.append(node)
        return out

    def _result(self, uid: str, template_uid: str, code: str, j: int) -> dict[str, Any]:
        r = copy.deepcopy(self.results.get(template_uid) or next(iter(self.results.values())))
        r.update(unique_id=uid, status="error" if j % 97 == 96 else "success",
                 compiled_code=code, execution_time=0.05 + (j % 13) / 100,
                 message=None if j % 97 != 96 else "Runtime Error: division by zero")
        for t in r.get("timing") or ():
            t["completed_at"] = GENERATED_AT
        return r

    def _test_result(self, uid: str, k: int) -> dict[str, Any]:
        status = "fail" if k % 41 == 0 else "warn" if k % 53 == 0 else "pass"
        return {"status": status, "timing": [
                    {"name": "compile", "started_at": GENERATED_AT, "completed_at": GENERATED_AT},
                    {"name": "execute", "started_at": GENERATED_AT, "completed_at": GENERATED_AT}],
                "thread_id": "Thread-1 (worker)", "execution_time": 0.02,
                "adapter_response": {"_message": "OK"}, "message": None,
                "failures": 3 if status == "fail" else 0, "unique_id": uid, "compiled": True,
                "compiled_code": "select * from t where x is null", "relation_name": None,
                "batch_results": None}

    def _catalog_node(self, dom: str, s: _Slot, uid: str) -> dict[str, Any]:
        base = self.t.catalog["nodes"].get(s.template["unique_id"])
        node = copy.deepcopy(base) if base else {
            "metadata": {"type": "VIEW", "comment": None, "owner": None}, "columns": {},
            "stats": {}}
        node["metadata"] = dict(node["metadata"], schema="main", name=s.alias, database=dom)
        if not node["columns"]:
            node["columns"] = {c: {"type": "VARCHAR", "index": k + 1, "name": c, "comment": None}
                               for k, c in enumerate(self._columns(s))}
        node["unique_id"] = uid
        return node


def generate(root: Path, domains: int, models: int, *, templates: Templates | None = None
             ) -> Path:
    """Write ``root/mesh.yml`` and ``root/artifacts/<domain>/``; return the mesh.yml path."""
    t = templates or Templates.load()
    writer = _DomainWriter(t, domains, models)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(domains):
        writer.write(i, root / "artifacts" / domain_name(i))
    (root / "mesh.yml").write_text(yaml.safe_dump({
        "name": f"bench_{domains}x{models}",
        "description": "Synthetic mesh cloned from the real jaffle_shop artifacts.",
        "domains": [{"name": domain_name(i), "artifacts": f"artifacts/{domain_name(i)}",
                     "owner": {"name": f"Team {domain_name(i)}",
                               "email": f"owner@{domain_name(i)}.example.com"},
                     "description": f"Synthetic domain {i}.", "reads_as": []}
                    for i in range(domains)],
        "targets": {"dev": {"type": "duckdb", "path": "warehouse"}},
        # The classifications the columns declare (see _DomainWriter), as a mesh defines them.
        "classifications": {"public": {"mask": "none"}, "internal": {"mask": "none"},
                            "confidential": {"mask": "nullify"}, "pii": {"mask": "redact"}},
        # A governed mesh: every built-in policy runs, at its defaults, in every sync.
        "policies": {},
    }, sort_keys=False))
    return root / "mesh.yml"


def rebuild_domain(root: Path, domains: int, models: int, i: int, tag: str,
                   *, templates: Templates | None = None) -> None:
    """Rewrite domain ``i``'s artifacts as after a new ``dbt build`` (new checksums)."""
    t = templates or Templates.load()
    _DomainWriter(t, domains, models).write(i, root / "artifacts" / domain_name(i), run_tag=tag)


def artifact_files(root: Path) -> list[Path]:
    return sorted((root / "artifacts").glob("*/*.json"))
