"""The catalog's and the contracts' models share one set of given field names per class
(meshkit.lean_model): what a sync reads back from JSON it wrote takes no set of its own per
instance, and nothing a caller can do to one instance changes what another reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from meshkit.catalog.model import Catalog, Column, Health
from meshkit.catalog.store import load_catalog
from meshkit.catalog.sync import sync
from meshkit.config import load_mesh
from meshkit.contracts.registry import ContractRegistry
from meshkit.lean_model import LeanModel

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _models(value: object) -> Iterator[BaseModel]:
    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from _models(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _models(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _models(item)


def test_a_synced_catalog_and_its_contracts_hold_one_fields_set_per_class(
        fixture_mesh: Path) -> None:
    mesh = load_mesh(fixture_mesh)
    sync(mesh, now=NOW)
    catalog = load_catalog(mesh.catalog_dir)
    assert catalog is not None
    contracts = list(ContractRegistry.load(mesh.catalog_dir).latest_contracts())
    assert contracts, "the fixture publishes contracts"

    models = [*_models(catalog), *_models(contracts)]
    assert all(isinstance(m, LeanModel) for m in models)
    classes = {type(m) for m in models}
    sets = {id(m.model_fields_set) for m in models}
    assert len(models) > 5 * len(classes)
    # Read back from what meshkit wrote, every instance was given every field.
    assert len(sets) == len(classes)
    for m in models:
        assert m.model_fields_set == set(type(m).model_fields)
    # Nothing changes in what the models say: they dump as they were written.
    again = Catalog.model_validate_json(catalog.model_dump_json())
    assert again == catalog
    assert again.model_dump(exclude_unset=True) == catalog.model_dump()


def test_what_one_instance_is_given_or_set_is_not_what_another_reports() -> None:
    full = Column.model_validate_json(
        Column(name="a", data_type="int", description="").model_dump_json())
    other = Column.model_validate_json(full.model_dump_json())
    assert full.model_fields_set is other.model_fields_set

    given = Column(name="b")
    assert given.model_fields_set == {"name"}
    assert other.model_dump(exclude_unset=True) == other.model_dump()
    assert given.model_dump(exclude_unset=True) == {"name": "b"}

    # Setting a field of an instance given every field adds a name its set already holds.
    full.description = "changed"
    assert other.model_fields_set == set(Column.model_fields)
    given.description = "set"
    assert given.model_fields_set == {"name", "description"}
    assert other.model_dump(exclude_unset=True) == other.model_dump()

    # A copy has its own set: what it is updated with stays its own.
    partial = Health.model_validate_json(Health().model_dump_json()).model_copy(
        update={"status": "caution"})
    assert partial.model_fields_set == set(Health.model_fields)
    assert Health().model_fields_set == set()
