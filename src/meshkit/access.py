"""Access requests: an analyst asks for a role to read a product, its owner decides, all audited.

Two files of the mesh, both meant to be committed and reviewed like mesh.yml:

- ``access/requests.yml``: every request with its state (``pending``, ``approved``, ``denied``);
- ``access/audit.jsonl``: an append-only log, one JSON line per event (request, approve, deny).

An **approved** request grants role R *read on product P*: R (and every role that holds R) is
cleared on P's datasets, i.e. sees them whole as P's own team does — classified columns unmasked
and filtered rows shown — on that product only.

- On DuckDB ``mesh query`` / ``mesh shell`` put the addresses of the products the session's roles
  are cleared on into the session variable ``mesh_cleared_products``, which every secure view
  tests for its own product (``meshkit.masking``'s ``product_clearance``). No rebuild is needed.
- On Snowflake ``mesh plan`` grants the product's reader database role to R.

Fail closed: a grant is in force only while the request says ``approved`` *and* the audit log
holds the matching approval by the product's owner (a hand edit of ``requests.yml`` alone grants
nothing); a role or product that no longer exists grants nothing; an unreadable file is an error,
never "no restrictions". The acting user is ``--as EMAIL``, else ``$MESH_USER``, else ``git config
user.email``: the CLI refuses a decision by anyone but the product's owner, and review of the
committed files is what makes that binding (a local CLI cannot authenticate anyone).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meshkit.config import Mesh, config_error_from_validation, parse_yaml
from meshkit.errors import ConfigError, MeshError, UsageError, did_you_mean
from meshkit.files import read_text

ACCESS_DIR = Path("access")
REQUESTS_FILE = ACCESS_DIR / "requests.yml"
AUDIT_FILE = ACCESS_DIR / "audit.jsonl"
USER_ENV = "MESH_USER"

Status = Literal["pending", "approved", "denied"]


class NotOwner(MeshError):
    """Someone who is not the product's owner tried to decide one of its access requests."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccessRequest(_Strict):
    id: str
    product: str = Field(description="`<domain>.<product>`")
    role: str
    reason: str
    requested_by: str
    requested_at: str
    status: Status = "pending"
    decided_by: str | None = None
    decided_at: str | None = None
    note: str | None = None


class RequestsFile(_Strict):
    requests: list[AccessRequest] = Field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def acting_user(explicit: str | None, cwd: Path | None = None) -> str:
    """Who runs the command: ``--as``, else ``$MESH_USER``, else ``git config user.email``."""
    user = explicit or os.environ.get(USER_ENV)
    if not user:
        try:
            user = subprocess.run(["git", "config", "user.email"], cwd=cwd, capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            user = ""
    if not user:
        raise UsageError("cannot tell who you are",
                         fix=f"pass --as EMAIL, set ${USER_ENV}, or `git config user.email EMAIL`")
    return user.strip()


# --- the files ----------------------------------------------------------------------------------


@contextmanager
def _locked(mesh: Mesh) -> Iterator[None]:
    """One writer of the access files at a time (advisory lock, freed when the process ends)."""
    folder = mesh.root / ACCESS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_requests(mesh: Mesh) -> RequestsFile:
    """``access/requests.yml`` (empty if absent); a malformed file is an error naming it."""
    file = mesh.root / REQUESTS_FILE
    if not file.is_file():
        return RequestsFile()
    node, data = parse_yaml(read_text(file), file)
    try:
        return RequestsFile.model_validate(data or {})
    except ValidationError as exc:
        err = config_error_from_validation(exc, file, node)
        err.fix = "correct the entry (or restore the file from version control); requests are " \
            "written by `mesh access`"
        raise err from None


def _write_requests(mesh: Mesh, requests: RequestsFile) -> None:
    file = mesh.root / REQUESTS_FILE
    header = ("# Access requests to data products: written by `mesh access request/approve/deny`.\n"
              "# Reviewed like mesh.yml; every decision is also in audit.jsonl (append-only).\n")
    body = yaml.safe_dump(requests.model_dump(mode="json", exclude_none=True), sort_keys=False,
                          allow_unicode=True, width=100)
    tmp = file.with_name(f".{file.name}.tmp-{os.getpid()}")
    tmp.write_text(header + body)
    os.replace(tmp, file)


def _append_audit(mesh: Mesh, event: dict[str, Any]) -> None:
    file = mesh.root / AUDIT_FILE
    line = json.dumps(event, sort_keys=True, ensure_ascii=False) + "\n"
    with open(file, "a", encoding="utf-8") as out:
        out.write(line)
        out.flush()
        os.fsync(out.fileno())


def audit_log(mesh: Mesh) -> list[dict[str, Any]]:
    """Every event of ``access/audit.jsonl``, oldest first (a torn last line is skipped)."""
    file = mesh.root / AUDIT_FILE
    if not file.is_file():
        return []
    events = []
    for line in file.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


# --- requests and decisions ---------------------------------------------------------------------


def _product_owner(mesh: Mesh, product: str) -> tuple[str, str | None]:
    """(address, owner email) of a product of the current catalog; did-you-mean if unknown."""
    from meshkit.catalog.store import require_catalog

    catalog = require_catalog(mesh.catalog_dir)
    products = {p.address: p for p in catalog.products()}
    if product not in products:
        raise UsageError(f"no product {product!r}{did_you_mean(product, products)}",
                         fix="name it as <domain>.<product>; `mesh catalog list` shows them")
    return product, products[product].owner.email


def _check_role(mesh: Mesh, role: str) -> None:
    known = mesh.config.all_role_names
    if role not in known:
        raise UsageError(f"unknown role {role!r}{did_you_mean(role, known)}", file=mesh.file,
                         location="roles", fix="request a role mesh.yml declares under `roles:`")


def request_access(mesh: Mesh, *, product: str, role: str, reason: str,
                   user: str) -> AccessRequest:
    """Record a pending request for ``role`` to read ``product``."""
    _product_owner(mesh, product)
    _check_role(mesh, role)
    if not reason.strip():
        raise UsageError("a request needs a reason", fix="pass --reason 'what you need it for'")
    now = _now()
    request = AccessRequest(id=f"ar-{now[:10].replace('-', '')}-{uuid.uuid4().hex[:6]}",
                            product=product, role=role, reason=reason.strip(),
                            requested_by=user, requested_at=now)
    with _locked(mesh):
        requests = load_requests(mesh)
        requests.requests.append(request)
        _write_requests(mesh, requests)
        _append_audit(mesh, {"at": now, "event": "request", "id": request.id, "product": product,
                             "role": role, "by": user, "reason": request.reason})
    return request


def decide(mesh: Mesh, request_id: str, *, approve: bool, user: str,
           note: str | None = None) -> AccessRequest:
    """Approve or deny a pending request, as its product's owner."""
    with _locked(mesh):
        requests = load_requests(mesh)
        by_id = {r.id: r for r in requests.requests}
        request = by_id.get(request_id)
        if request is None:
            raise UsageError(f"no access request {request_id!r}{did_you_mean(request_id, by_id)}",
                             file=mesh.root / REQUESTS_FILE, fix="`mesh access list` shows them")
        if request.status != "pending":
            raise UsageError(f"request {request_id} is already {request.status} "
                             f"(by {request.decided_by} at {request.decided_at})",
                             file=mesh.root / REQUESTS_FILE,
                             fix="file a new request to change a decision")
        _, owner = _product_owner(mesh, request.product)
        if not owner:
            raise NotOwner(f"product {request.product} has no owner email, so nobody may decide",
                           fix="give the product's dbt group an `owner: {email: ...}`")
        if user.lower() != owner.lower():
            raise NotOwner(f"{user} is not the owner of {request.product} ({owner})",
                           fix=f"ask {owner} to decide request {request_id}")
        request.status = "approved" if approve else "denied"
        request.decided_by, request.decided_at = user, _now()
        request.note = note.strip() if note and note.strip() else None
        _write_requests(mesh, requests)
        event = {"at": request.decided_at, "event": "approve" if approve else "deny",
                 "id": request.id, "product": request.product, "role": request.role, "by": user}
        if request.note:
            event["note"] = request.note
        _append_audit(mesh, event)
    return request


# --- what is in force ---------------------------------------------------------------------------


def effective_grants(mesh: Mesh) -> list[AccessRequest]:
    """Approved requests whose approval the audit log confirms, for roles mesh.yml declares."""
    approvals = {(e.get("id"), e.get("product"), e.get("role"), e.get("by"))
                 for e in audit_log(mesh) if e.get("event") == "approve"}
    known = set(mesh.config.all_role_names)
    return [r for r in load_requests(mesh).requests
            if r.status == "approved" and r.role in known
            and (r.id, r.product, r.role, r.decided_by) in approvals]


def cleared_products(mesh: Mesh, roles: Iterable[str]) -> list[str]:
    """Products that a session holding ``roles`` is cleared on by approved access requests."""
    session = set(roles)
    if not session:
        return []
    return sorted({g.product for g in effective_grants(mesh)
                   if session & mesh.config.roles_granting(g.role)})


def product_access(mesh: Mesh, product: str) -> tuple[list[AccessRequest], list[dict[str, Any]]]:
    """A product's requests and its audit events (for its marketplace page)."""
    try:
        requests = [r for r in load_requests(mesh).requests if r.product == product]
    except ConfigError:
        requests = []
    return requests, [e for e in audit_log(mesh) if e.get("product") == product]
