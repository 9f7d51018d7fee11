"""The changes between two contracts of one dataset version, each with its verdict.

Breaking (a consumer that worked stops working, or sees data less protected): a column removed
or renamed, a type changed other than widened, a not-null or primary-key constraint dropped,
contract enforcement switched off, the dataset made non-public or moved out of its group, a
classification loosened (in mesh.yml's order of classifications). Not breaking: a column added,
a type widened (a longer varchar, more digits of a decimal, a larger integer), a constraint
added, a description, tag or deprecation change.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from meshkit.config import CLASSIFICATION_NAMES
from meshkit.contracts.model import Change, ChangeKind, Contract, ContractColumn

# Integer types by width, and the decimal digits each holds.
_INT_RANK = {"TINYINT": (1, 3), "SMALLINT": (2, 5), "INT": (3, 10), "BIGINT": (4, 19),
             "INT128": (5, 39)}
_STRINGS = {"VARCHAR", "TEXT", "CHAR", "NVARCHAR", "NCHAR"}
_FLOATS = {"FLOAT": 1, "DOUBLE": 2}
# DuckDB's DECIMAL without arguments; Snowflake's NUMBER is (38, 0).
_DEFAULT_DECIMAL = (18, 3)


@lru_cache(maxsize=4096)
def normalise_type(text: str | None) -> tuple[str, tuple[int, ...]] | None:
    """(sqlglot type name, its numeric arguments) of a declared ``data_type``, or None.

    >>> normalise_type("integer"), normalise_type("varchar(20)"), normalise_type("numeric(12,2)")
    (('INT', ()), ('VARCHAR', (20,)), ('DECIMAL', (12, 2)))
    """
    if not text:
        return None
    from sqlglot import exp
    from sqlglot.errors import ParseError

    for dialect in ("", "duckdb", "snowflake"):
        try:
            dt = exp.DataType.build(text, dialect=dialect)
        except (ParseError, ValueError):
            continue
        args: list[int] = []
        for e in dt.expressions:
            value = e.this if isinstance(e, exp.DataTypeParam) else e
            if isinstance(value, exp.Literal) and value.is_int:
                args.append(int(value.this))
        name = dt.this.name if isinstance(dt.this, exp.DataType.Type) else str(dt.this)
        if name == "UNKNOWN" or name == "USERDEFINED":
            break
        if name in ("NUMERIC", "NUMBER", "BIGDECIMAL"):
            name = "DECIMAL"
        if name == "DECIMAL" and not args:
            args = list(_DEFAULT_DECIMAL if dialect != "snowflake" else (38, 0))
        if name == "DECIMAL" and len(args) == 1:
            args.append(0)
        if name == "TEXT":
            name = "VARCHAR"
        return name, tuple(args)
    return text.strip().upper(), ()


def type_verdict(before: str | None, after: str | None) -> ChangeKind | None:
    """None if the types are the same, ``type_widened`` if every value of ``before`` fits
    ``after`` unchanged, else ``type_changed``.

    >>> type_verdict("varchar(10)", "varchar(20)"), type_verdict("decimal(12,2)", "decimal(10,2)")
    (<ChangeKind.type_widened: 'type_widened'>, <ChangeKind.type_changed: 'type_changed'>)
    >>> type_verdict("int", "integer") is None, type_verdict("int", "bigint").value
    (True, 'type_widened')
    """
    a, b = normalise_type(before), normalise_type(after)
    if a == b:
        return None
    if a is None or b is None:  # a type declared where none was, or dropped: not comparable
        return ChangeKind.type_changed
    (ta, xa), (tb, xb) = a, b
    widened = False
    if ta in _STRINGS and tb in _STRINGS:
        # No length is unbounded; CHAR(n) fits VARCHAR(m >= n).
        widened = tb != "CHAR" and (not xb or (bool(xa) and xb[0] >= xa[0]))
    elif ta in _INT_RANK and tb in _INT_RANK:
        widened = _INT_RANK[tb][0] >= _INT_RANK[ta][0]
    elif ta in _INT_RANK and tb == "DECIMAL":
        widened = xb[0] - xb[1] >= _INT_RANK[ta][1]
    elif ta == "DECIMAL" and tb == "DECIMAL":
        widened = xb[1] >= xa[1] and xb[0] - xb[1] >= xa[0] - xa[1]
    elif ta in _FLOATS and tb in _FLOATS:
        widened = _FLOATS[tb] >= _FLOATS[ta]
    return ChangeKind.type_widened if widened else ChangeKind.type_changed


def classification_rank(name: str | None, order: Sequence[str]) -> int:
    """Position in the mesh's order, least protected first. No classification, or one the
    mesh does not define, is masked by default (fail closed): the most protected."""
    return order.index(name) if name in order else len(order)


def classification_order(classifications: Sequence[str]) -> list[str]:
    """mesh.yml's classifications in their order of protection (the standard order when the
    mesh declares none)."""
    return list(classifications) or list(CLASSIFICATION_NAMES)


def _is(kind: ChangeKind) -> bool:
    return kind in BREAKING


BREAKING = frozenset({
    ChangeKind.dataset_deleted, ChangeKind.dataset_disabled, ChangeKind.made_non_public,
    ChangeKind.moved_out_of_group, ChangeKind.contract_unenforced, ChangeKind.column_removed,
    ChangeKind.column_renamed, ChangeKind.type_changed, ChangeKind.not_null_dropped,
    ChangeKind.primary_key_dropped, ChangeKind.primary_key_changed,
    ChangeKind.classification_loosened,
})


def change(kind: ChangeKind, column: str | None = None, before: object = None,
           after: object = None, detail: str = "", breaking: bool | None = None) -> Change:
    return Change(kind=kind, breaking=_is(kind) if breaking is None else breaking, column=column,
                  before=None if before is None else str(before),
                  after=None if after is None else str(after), detail=detail)


def diff_contracts(old: Contract, new: Contract, order: Sequence[str] = CLASSIFICATION_NAMES,
                   ) -> list[Change]:
    """Every change from ``old`` to ``new`` (the same dataset version), breaking ones first."""
    if old == new:  # a sync compares every published entry: nearly all are unchanged
        return []
    return every_change(old, new, order)


def every_change(old: Contract, new: Contract, order: Sequence[str] = CLASSIFICATION_NAMES,
                 ) -> list[Change]:
    """:func:`diff_contracts` without its shortcut for equal contracts (which finds none)."""
    out: list[Change] = []
    if old.access == "public" and new.access != "public":
        out.append(change(ChangeKind.made_non_public, before=old.access, after=new.access))
    elif old.access != "public" and new.access == "public":
        out.append(change(ChangeKind.made_public, before=old.access, after=new.access))
    if old.group is not None and new.group != old.group:
        out.append(change(ChangeKind.moved_out_of_group, before=old.group, after=new.group))
    if old.contract_enforced and not new.contract_enforced:
        out.append(change(ChangeKind.contract_unenforced))
    elif new.contract_enforced and not old.contract_enforced:
        out.append(change(ChangeKind.contract_enforced))
    out += _column_changes(old, new, order)
    old_pk, new_pk = old.primary_key, new.primary_key
    if old_pk and old_pk != new_pk:
        kind = ChangeKind.primary_key_changed if new_pk else ChangeKind.primary_key_dropped
        out.append(change(kind, before=", ".join(old_pk), after=", ".join(new_pk) or None))
    other_old = sorted(c for c in old.constraints if not c.startswith("primary_key"))
    other_new = sorted(c for c in new.constraints if not c.startswith("primary_key"))
    if other_old != other_new:
        out.append(change(ChangeKind.constraint_changed, before=", ".join(other_old) or None,
                          after=", ".join(other_new) or None))
    if old.description != new.description:
        out.append(change(ChangeKind.description_changed))
    if old.tags != new.tags:
        out.append(change(ChangeKind.tags_changed, before=", ".join(old.tags) or None,
                          after=", ".join(new.tags) or None))
    if old.deprecation_date != new.deprecation_date:
        out.append(change(ChangeKind.deprecation_changed, before=old.deprecation_date,
                          after=new.deprecation_date))
    if old.latest_version != new.latest_version:
        out.append(change(ChangeKind.latest_version_changed, before=old.latest_version,
                          after=new.latest_version))
    return sorted(out, key=lambda c: not c.breaking)


def _column_changes(old: Contract, new: Contract, order: Sequence[str]) -> list[Change]:
    out: list[Change] = []
    new_names = {c.name.lower() for c in new.columns}
    old_names = {c.name.lower() for c in old.columns}
    removed = [(i, c) for i, c in enumerate(old.columns) if c.name.lower() not in new_names]
    added = [(i, c) for i, c in enumerate(new.columns) if c.name.lower() not in old_names]
    added_at = {i: c for i, c in added}
    renamed: set[str] = set()
    for i, col in removed:
        # A column gone and another of the same type in its place: reported as a rename.
        twin = added_at.get(i)
        if twin is not None and normalise_type(twin.data_type) == normalise_type(col.data_type):
            out.append(change(ChangeKind.column_renamed, col.name, col.name, twin.name))
            renamed.add(twin.name.lower())
        else:
            out.append(change(ChangeKind.column_removed, col.name, before=col.data_type))
    out += [change(ChangeKind.column_added, c.name, after=c.data_type)
            for _, c in added if c.name.lower() not in renamed]
    for before in old.columns:
        after = new.column(before.name)
        if after is not None:
            out += _one_column(before, after, order)
    kept_old = [c.name.lower() for c in old.columns if c.name.lower() in new_names]
    kept_new = [c.name.lower() for c in new.columns if c.name.lower() in old_names]
    if kept_old != kept_new:
        out.append(change(ChangeKind.column_order_changed))
    return out


def _one_column(before: ContractColumn, after: ContractColumn,
                order: Sequence[str]) -> list[Change]:
    out: list[Change] = []
    name = before.name
    verdict = type_verdict(before.data_type, after.data_type)
    if verdict is not None:
        out.append(change(verdict, name, before.data_type, after.data_type))
    if "not_null" in before.constraints and not {"not_null", "primary_key"} & set(after.constraints):
        out.append(change(ChangeKind.not_null_dropped, name))
    elif "not_null" in after.constraints and "not_null" not in before.constraints:
        out.append(change(ChangeKind.not_null_added, name))
    rest_before = sorted(set(before.constraints) - {"not_null", "primary_key"})
    rest_after = sorted(set(after.constraints) - {"not_null", "primary_key"})
    if rest_before != rest_after:
        out.append(change(ChangeKind.constraint_changed, name, ", ".join(rest_before) or None,
                          ", ".join(rest_after) or None))
    rank_before = classification_rank(before.classification, order)
    rank_after = classification_rank(after.classification, order)
    if rank_after < rank_before:
        out.append(change(ChangeKind.classification_loosened, name,
                          before.classification or "unclassified (masked)",
                          after.classification or "unclassified (masked)"))
    elif rank_after > rank_before or before.classification != after.classification:
        out.append(change(ChangeKind.classification_tightened, name,
                          before.classification or "unclassified (masked)",
                          after.classification or "unclassified (masked)"))
    if before.regulations != after.regulations:
        out.append(change(ChangeKind.regulations_changed, name, ", ".join(before.regulations) or None,
                          ", ".join(after.regulations) or None))
    if before.description != after.description:
        out.append(change(ChangeKind.description_changed, name))
    return out
