"""A dataset's contract as an Open Data Contract Standard (ODCS) v3 document, validated by the
standard's own package (its pydantic model and the JSON Schema it ships)."""

from __future__ import annotations

from typing import Any

import yaml

from meshkit.contracts.diff import normalise_type
from meshkit.contracts.model import Contract, PublishedContract
from meshkit.errors import MeshError

API_VERSION = "v3.0.2"
_LOGICAL = {"VARCHAR": "string", "CHAR": "string", "NVARCHAR": "string", "NCHAR": "string",
            "DATE": "date", "TIME": "time", "BOOLEAN": "boolean", "DECIMAL": "number",
            "DOUBLE": "number", "FLOAT": "number"}


class ContractExportError(MeshError):
    """An exported contract does not validate against ODCS (a bug to report, not bad input)."""

    exit_code = 1


def logical_type(data_type: str | None) -> str:
    """ODCS's logical type of a declared SQL type.

    >>> logical_type("decimal(12,2)"), logical_type("bigint"), logical_type("timestamp")
    ('number', 'integer', 'timestamp')
    """
    norm = normalise_type(data_type)
    if norm is None:
        return "string"
    name = norm[0]
    if name in _LOGICAL:
        return _LOGICAL[name]
    if "INT" in name:
        return "integer"
    if name.startswith("TIMESTAMP") or name == "DATETIME":
        return "timestamp"
    if name in ("ARRAY", "LIST"):
        return "array"
    if name in ("STRUCT", "OBJECT", "MAP", "JSON", "VARIANT"):
        return "object"
    return "string"


def to_odcs(contract: Contract, *, mesh: str, revision: int | None = None,
            owner: str | None = None) -> dict[str, Any]:
    """The ODCS v3 document of ``contract`` (``revision``: its registry entry, if published)."""
    pk = list(contract.primary_key)
    relation = f"{contract.name}_v{contract.version}" if contract.version else contract.name
    address = f"{contract.domain}.{contract.group}.{relation}" if contract.group else contract.key
    properties = []
    for col in contract.columns:
        prop: dict[str, Any] = {
            "name": col.name,
            "logicalType": logical_type(col.data_type),
            "required": "not_null" in col.constraints or col.name.lower() in pk,
            "primaryKey": col.name.lower() in pk,
        }
        if col.data_type:
            prop["physicalType"] = col.data_type
        if col.name.lower() in pk:
            prop["primaryKeyPosition"] = pk.index(col.name.lower()) + 1
        if "unique" in col.constraints:
            prop["unique"] = True
        if col.description:
            prop["description"] = col.description
        if col.classification:
            prop["classification"] = col.classification
        if col.regulations:
            prop["customProperties"] = [{"property": "regulations", "value": col.regulations}]
        properties.append(prop)
    custom = [{"property": "contractKey", "value": contract.key},
              {"property": "contractEnforced", "value": contract.contract_enforced},
              {"property": "access", "value": contract.access}]
    if contract.deprecation_date:
        custom.append({"property": "deprecationDate", "value": contract.deprecation_date})
    if contract.latest_version:
        custom.append({"property": "latestVersion", "value": contract.latest_version})
    doc: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": f"urn:meshkit:{mesh}:{address}",
        "name": address,
        "version": f"{revision or 0}.0.0",
        "status": "deprecated" if contract.deprecation_date else "active",
        "domain": contract.domain,
        "dataProduct": contract.group or "",
        "description": {"purpose": contract.description} if contract.description else None,
        "tags": contract.tags or None,
        "schema": [{
            "name": relation,
            "physicalName": address,
            "physicalType": "view",
            "logicalType": "object",
            "description": contract.description or None,
            "properties": properties,
        }],
        "customProperties": custom,
    }
    if owner:
        doc["team"] = [{"username": owner, "role": "owner"}]
    return {k: v for k, v in doc.items() if v is not None}


def odcs_yaml(entry: PublishedContract | Contract, *, mesh: str, owner: str | None = None) -> str:
    """The ODCS YAML of a published entry (or of a contract not published yet), validated."""
    if isinstance(entry, PublishedContract):
        doc = to_odcs(entry.contract, mesh=mesh, revision=entry.revision, owner=owner)
    else:
        doc = to_odcs(entry, mesh=mesh, owner=owner)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    validate_odcs(text)
    return text


def validate_odcs(text: str) -> None:
    """Raise :class:`ContractExportError` unless ``text`` is a valid ODCS document (the
    standard's pydantic model and its JSON Schema)."""
    import json

    import jsonschema
    from open_data_contract_standard.model import OpenDataContractStandard

    try:
        OpenDataContractStandard.from_string(text)
        schema = json.loads(OpenDataContractStandard.json_schema())  # type: ignore[no-untyped-call]
        jsonschema.validate(yaml.safe_load(text), schema)
    except (ValueError, jsonschema.ValidationError) as exc:
        raise ContractExportError(f"the exported contract is not valid ODCS: {exc}",
                                  fix="report this as a meshkit bug") from None
