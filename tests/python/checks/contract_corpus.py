"""The change scenarios of the contract corpus: each a real edit to one model of a tiny producer
(``shop``), with the verdict and the change kinds the diff must give. Each scenario is its own
model (``s01`` ...), so one `dbt parse` of the base project and one of the edited project cover
them all."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Model = dict[str, Any]

BASE_COLUMNS: list[dict[str, Any]] = [
    {"name": "order_id", "data_type": "integer", "constraints": [{"type": "not_null"}],
     "config": {"meta": {"classification": "internal"}}},
    {"name": "customer_email", "data_type": "varchar(50)",
     "config": {"meta": {"classification": "pii", "regulations": ["gdpr"]}}},
    {"name": "amount", "data_type": "decimal(10,2)",
     "config": {"meta": {"classification": "confidential"}}},
    {"name": "status", "data_type": "varchar", "config": {"meta": {"classification": "public"}}},
    {"name": "score", "data_type": "float", "config": {"meta": {"classification": "public"}}},
]


def base_model(name: str) -> Model:
    return {
        "name": name,
        "description": "Orders, one row each.",
        "config": {"group": "orders", "access": "public", "contract": {"enforced": True},
                   "tags": ["orders"]},
        "constraints": [{"type": "primary_key", "columns": ["order_id"]}],
        "columns": copy.deepcopy(BASE_COLUMNS),
    }


def versioned_model(name: str) -> Model:
    m = base_model(name)
    m["latest_version"] = 2
    m["versions"] = [{"v": 1}, {"v": 2}]
    return m


def _col(m: Model, name: str) -> dict[str, Any]:
    return next(c for c in m["columns"] if c["name"] == name)


def _set_type(column: str, data_type: str) -> Callable[[Model], None]:
    def edit(m: Model) -> None:
        _col(m, column)["data_type"] = data_type
    return edit


def _set_class(column: str, classification: str | None) -> Callable[[Model], None]:
    def edit(m: Model) -> None:
        meta = _col(m, column)["config"]["meta"]
        if classification is None:
            meta.pop("classification")
        else:
            meta["classification"] = classification
    return edit


def _drop_column(m: Model) -> None:
    m["columns"] = [c for c in m["columns"] if c["name"] != "amount"]


def _rename(m: Model) -> None:
    _col(m, "status")["name"] = "order_status"


def _add_column(m: Model) -> None:
    m["columns"].append({"name": "channel", "data_type": "varchar",
                         "config": {"meta": {"classification": "public"}}})


def _drop_not_null(m: Model) -> None:
    _col(m, "order_id")["constraints"] = []


def _add_not_null(m: Model) -> None:
    _col(m, "amount")["constraints"] = [{"type": "not_null"}]


def _drop_pk(m: Model) -> None:
    m["constraints"] = []


def _unenforce(m: Model) -> None:
    m["config"]["contract"] = {"enforced": False}


def _protected(m: Model) -> None:
    m["config"]["access"] = "protected"


def _other_group(m: Model) -> None:
    m["config"]["group"] = "returns"


def _no_group(m: Model) -> None:
    del m["config"]["group"]


def _disable(m: Model) -> None:
    m["config"]["enabled"] = False


def _describe(m: Model) -> None:
    m["description"] = "Orders, one row per order, now better described."
    _col(m, "amount")["description"] = "Order total."


def _retag(m: Model) -> None:
    m["config"]["tags"] = ["orders", "finance"]


def _meta(m: Model) -> None:
    _col(m, "status")["config"]["meta"]["steward"] = "ops team"


def _reorder(m: Model) -> None:
    m["columns"] = list(reversed(m["columns"]))


def _deprecate(m: Model) -> None:
    m["deprecation_date"] = "2030-01-01"


def _new_version_keeps_latest(m: Model) -> None:
    m["latest_version"] = 1
    m["versions"] = [{"v": 1}, {"v": 2, "columns": [{"include": "all", "exclude": ["amount"]}]}]


def _new_latest_drops_column(m: Model) -> None:
    m["latest_version"] = 2
    m["versions"] = [{"v": 1}, {"v": 2, "columns": [{"include": "all", "exclude": ["amount"]}]}]


def _remove_v1(m: Model) -> None:
    m["versions"] = [{"v": 2}]


DELETE = "delete"


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    edit: Callable[[Model], None] | str | None
    breaking: bool
    kinds: frozenset[str] = field(default_factory=frozenset)
    versioned: bool = False  # the base model has versions 1 and 2


def S(id: str, title: str, edit: Any, breaking: bool, *kinds: str,
      versioned: bool = False) -> Scenario:
    return Scenario(id, title, edit, breaking, frozenset(kinds), versioned)


SCENARIOS: list[Scenario] = [
    S("s01", "nothing changed", None, False),
    S("s02", "column removed", _drop_column, True, "column_removed"),
    S("s03", "column renamed", _rename, True, "column_renamed"),
    S("s04", "column added", _add_column, False, "column_added"),
    S("s05", "integer to varchar", _set_type("order_id", "varchar"), True, "type_changed"),
    S("s06", "varchar(50) to varchar(100)", _set_type("customer_email", "varchar(100)"), False,
      "type_widened"),
    S("s07", "varchar(50) to varchar(20)", _set_type("customer_email", "varchar(20)"), True,
      "type_changed"),
    S("s08", "varchar(50) to unbounded varchar", _set_type("customer_email", "varchar"), False,
      "type_widened"),
    S("s09", "decimal(10,2) to decimal(12,2)", _set_type("amount", "decimal(12,2)"), False,
      "type_widened"),
    S("s10", "decimal(10,2) to decimal(10,4): fewer integer digits",
      _set_type("amount", "decimal(10,4)"), True, "type_changed"),
    S("s11", "integer to bigint", _set_type("order_id", "bigint"), False, "type_widened"),
    S("s12", "integer to smallint", _set_type("order_id", "smallint"), True, "type_changed"),
    S("s13", "integer to decimal(12,0)", _set_type("order_id", "decimal(12,0)"), False,
      "type_widened"),
    S("s14", "integer to decimal(5,0)", _set_type("order_id", "decimal(5,0)"), True,
      "type_changed"),
    S("s15", "float to double", _set_type("score", "double"), False, "type_widened"),
    S("s16", "not-null dropped", _drop_not_null, True, "not_null_dropped"),
    S("s17", "not-null added", _add_not_null, False, "not_null_added"),
    S("s18", "primary key dropped", _drop_pk, True, "primary_key_dropped"),
    S("s19", "contract enforcement off", _unenforce, True, "contract_unenforced"),
    S("s20", "made protected", _protected, True, "made_non_public"),
    S("s21", "moved to another group", _other_group, True, "moved_out_of_group"),
    S("s22", "taken out of its group", _no_group, True, "moved_out_of_group"),
    S("s23", "deleted", DELETE, True, "dataset_deleted"),
    S("s24", "disabled", _disable, True, "dataset_disabled"),
    S("s25", "pii loosened to internal", _set_class("customer_email", "internal"), True,
      "classification_loosened"),
    S("s26", "confidential loosened to public", _set_class("amount", "public"), True,
      "classification_loosened"),
    S("s27", "internal tightened to pii", _set_class("order_id", "pii"), False,
      "classification_tightened"),
    S("s28", "classification removed (masked by default)", _set_class("customer_email", None),
      False, "classification_tightened"),
    S("s29", "descriptions changed", _describe, False, "description_changed"),
    S("s30", "tags changed", _retag, False, "tags_changed"),
    S("s31", "column meta other than classification", _meta, False),
    S("s32", "columns reordered", _reorder, False, "column_order_changed"),
    S("s33", "deprecation date set", _deprecate, False, "deprecation_changed"),
    S("s34", "new version, latest unchanged", _new_version_keeps_latest, False,
      "latest_version_changed"),
    S("s35", "new latest version without a column (unpinned refs follow it)",
      _new_latest_drops_column, True, "column_removed", "latest_version_changed"),
    S("s36", "version removed while a consumer reads it", _remove_v1, True, "version_removed",
      versioned=True),
    S("s37", "version removed, no consumer", _remove_v1, False, "version_removed",
      versioned=True),
]
# The consumer domain reads these (by contract key) and an exposure reads s20.
CONSUMED = {"s02": "v=None", "s36": "v=1", "s33": "v=None"}
