"""``governance/waivers.yml``: reviewed exceptions to policies, read without the check engine
(the platform's policy macro compiles them too)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meshkit.config import Mesh, config_error_from_validation, parse_yaml
from meshkit.files import read_text

WAIVERS_FILE = Path("governance/waivers.yml")


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str
    node: str
    reason: str = Field(min_length=10)
    approver: str = Field(min_length=3)
    expires: dt.date


class WaiversFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: list[Waiver] = Field(default_factory=list)


def read_waivers(mesh: Mesh) -> list[Waiver]:
    """The waivers of ``governance/waivers.yml`` (none without the file); a file that is not
    valid YAML or not of this shape is a ConfigError naming its line."""
    file = mesh.root / WAIVERS_FILE
    if not file.is_file():
        return []
    node, data = parse_yaml(read_text(file), file)
    data = data or {}
    try:
        waivers = WaiversFile.model_validate(data).waivers
    except ValidationError as exc:
        err = config_error_from_validation(exc, file, node)
        err.fix = "each waiver has policy, node, reason, approver and expires (YYYY-MM-DD)"
        raise err from None
    return waivers
