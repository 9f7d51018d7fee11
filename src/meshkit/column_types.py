"""Column types as the masking policies see them.

Two questions are asked of a contract's ``data_type``:

* its **masking family** (:func:`type_family`), the same on both engines: only strings have a
  readable mask (a marker, the last four characters, a salted hash); every other family is masked
  as NULL;
* its **exact Snowflake type** (:func:`snowflake_type`). A Snowflake masking policy's signature
  must equal the type of the column it is attached to, so there is one policy per
  classification and exact type. A type with no exact policy is refused at build time and by
  ``mesh plan``, naming the column.

The table below is the one place both answers come from. ``meshkit.masking`` compiles it into
``mesh_policy()`` for the platform macros, whose ``snowflake_type`` macro applies the same rules
(``tests/python/snowflake`` builds a view of every type and checks the two agree).

Decisions (see docs/snowflake-runbook.md):

* A bare ``TIMESTAMP`` (and ``DATETIME``) is ``TIMESTAMP_NTZ``: Snowflake's default
  ``TIMESTAMP_TYPE_MAPPING``, and what DuckDB's ``TIMESTAMP`` means. On an account that maps it
  elsewhere, creating the view fails on the signature (never an unmasked column): declare the
  exact type there.
* Masked string and binary columns are cast to the unbounded type in the secure view, so a mask
  (``'***MASKED***'``, a 64-character hash) never exceeds a ``varchar(6)`` column (Snowflake's
  2024_04 behaviour makes such a query fail); their policies take ``VARCHAR`` / ``BINARY``.
* Precision and scale are part of the exact type (``NUMBER(12,2)``, ``TIME(9)``,
  ``TIMESTAMP_TZ(9)``): a ``NUMBER`` (that is ``NUMBER(38,0)``) policy on a ``NUMBER(12,2)``
  column is not the column's type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The masking family of a type: name prefixes checked in order (DuckDB names included).
TYPE_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("string", ("varchar", "text", "string", "char", "nvarchar", "nchar", "bpchar")),
    ("number", ("int", "bigint", "smallint", "tinyint", "byteint", "hugeint", "number", "numeric",
                "decimal", "dec", "double", "float", "real")),
    ("timestamp", ("timestamp", "datetime")),
    ("date", ("date",)),
    ("boolean", ("bool",)),
)
TYPE_FAMILIES = ("string", "number", "date", "timestamp", "boolean", "other")

# Snowflake type name (lower case, as a contract may spell it) -> (exact type, parameter rule).
# Parameter rules:
#   fixed       NUMBER(p, s): precision 1-38 (default 38), scale 0-p (default 0)
#   integer     no parameters; NUMBER(38,0)
#   scalar      no parameters
#   sized       an optional length; the policy (and the masked view column) is unbounded
#   fractional  an optional fractional-seconds precision 0-9 (default 9)
SNOWFLAKE_TYPES: dict[str, tuple[str, str]] = {
    **{n: ("NUMBER", "fixed") for n in ("number", "decimal", "dec", "numeric")},
    **{n: ("NUMBER", "integer") for n in ("int", "integer", "bigint", "smallint", "tinyint",
                                          "byteint")},
    **{n: ("FLOAT", "scalar") for n in ("float", "float4", "float8", "double",
                                        "double precision", "real")},
    **{n: ("VARCHAR", "sized") for n in ("varchar", "string", "text", "char", "character",
                                         "nchar", "nvarchar", "nvarchar2", "char varying",
                                         "nchar varying")},
    **{n: ("BINARY", "sized") for n in ("binary", "varbinary")},
    "boolean": ("BOOLEAN", "scalar"),
    "date": ("DATE", "scalar"),
    "time": ("TIME", "fractional"),
    "timestamp": ("TIMESTAMP_NTZ", "fractional"),
    "datetime": ("TIMESTAMP_NTZ", "fractional"),
    "timestamp_ntz": ("TIMESTAMP_NTZ", "fractional"),
    "timestamp without time zone": ("TIMESTAMP_NTZ", "fractional"),
    "timestamp_ltz": ("TIMESTAMP_LTZ", "fractional"),
    "timestamp_tz": ("TIMESTAMP_TZ", "fractional"),
    "variant": ("VARIANT", "scalar"),
    "object": ("OBJECT", "scalar"),
    "array": ("ARRAY", "scalar"),
    "geography": ("GEOGRAPHY", "scalar"),
    "geometry": ("GEOMETRY", "scalar"),
}
# How many parameters each rule takes.
MAX_PARAMS = {"fixed": 2, "integer": 0, "scalar": 0, "sized": 1, "fractional": 1}
# Types a contract may declare on Snowflake that no masking policy can take: refused with why.
NO_EXACT_POLICY: dict[str, str] = {
    "vector": "Snowflake masking policies do not take VECTOR values",
    "file": "Snowflake masking policies do not take FILE values",
}
# Exact types whose masked column the secure view casts to the unbounded type (see above).
UNBOUNDED = ("VARCHAR", "BINARY")


@dataclass(frozen=True)
class SnowflakeType:
    """An exact Snowflake type: ``sql`` as a policy signature takes it, ``slug`` for names."""

    sql: str

    @property
    def base(self) -> str:
        return self.sql.split("(")[0]

    @property
    def slug(self) -> str:
        """``NUMBER(12,2)`` -> ``number_12_2``: the suffix of the policy's name."""
        return re.sub(r"[^a-z0-9]+", "_", self.sql.lower()).strip("_")

    @property
    def family(self) -> str:
        return type_family(self.sql)

    @property
    def cast_unbounded(self) -> bool:
        return self.base in UNBOUNDED


class UnsupportedType(ValueError):
    """A data type no exact Snowflake masking policy can take; the message says why."""


def type_family(data_type: str) -> str:
    """The masking family of a SQL type, the same on both engines.

    >>> [type_family(t) for t in ("varchar(20)", "NUMBER(38,2)", "date", "timestamp_ntz", "bool")]
    ['string', 'number', 'date', 'timestamp', 'boolean']
    >>> type_family("time"), type_family("binary"), type_family("geography")
    ('other', 'other', 'other')
    """
    t = data_type.strip().lower()
    return next((family for family, prefixes in TYPE_PREFIXES if t.startswith(prefixes)), "other")


def split_type(data_type: str) -> tuple[str, list[str]] | None:
    """``"Number(12, 2)"`` -> ``("number", ["12", "2"])``; None when it is not ``name[(args)]``.

    >>> split_type(" double  precision "), split_type("varchar(6)"), split_type("number(1")
    (('double precision', []), ('varchar', ['6']), None)
    """
    t = " ".join(data_type.lower().split())
    m = re.fullmatch(r"([a-z_][a-z0-9_ ]*?)\s*(?:\((.*)\))?", t)
    if m is None:
        return None
    args = [a.strip() for a in m.group(2).split(",")] if m.group(2) is not None else []
    return m.group(1), args


def snowflake_type(data_type: str) -> SnowflakeType:
    """The exact Snowflake type of a contract's ``data_type``, as a policy signature.

    >>> [snowflake_type(t).sql for t in ("integer", "decimal(12, 2)", "number(10)", "double",
    ...                                  "varchar(6)", "char(4)", "timestamp", "time(3)",
    ...                                  "timestamp_tz", "object", "geography")]
    ['NUMBER(38,0)', 'NUMBER(12,2)', 'NUMBER(10,0)', 'FLOAT', 'VARCHAR', 'VARCHAR', \
'TIMESTAMP_NTZ(9)', 'TIME(3)', 'TIMESTAMP_TZ(9)', 'OBJECT', 'GEOGRAPHY']
    >>> snowflake_type("vector(float, 16)")
    Traceback (most recent call last):
    ...
    meshkit.column_types.UnsupportedType: Snowflake masking policies do not take VECTOR values
    """
    parts = split_type(data_type)
    if parts is None:
        raise UnsupportedType(f"{data_type!r} is not a type name")
    name, args = parts
    if name in NO_EXACT_POLICY:
        raise UnsupportedType(NO_EXACT_POLICY[name])
    if name not in SNOWFLAKE_TYPES:
        raise UnsupportedType(f"{data_type!r} is not a Snowflake type meshkit can mask")
    base, rule = SNOWFLAKE_TYPES[name]
    if not all(a.isdigit() for a in args) or len(args) > MAX_PARAMS[rule]:
        raise UnsupportedType(f"{data_type!r}: {base} does not take these parameters "
                              "(structured and parameterised forms have no masking policy here)")
    n = [int(a) for a in args]
    if rule == "fixed":
        precision, scale = (n + [38, 0][len(n):])[:2]
        if not (1 <= precision <= 38 and 0 <= scale <= precision):
            raise UnsupportedType(f"{data_type!r}: precision 1-38 and scale 0-precision")
        return SnowflakeType(f"NUMBER({precision},{scale})")
    if rule == "integer":
        return SnowflakeType("NUMBER(38,0)")
    if rule == "fractional":
        digits = n[0] if n else 9
        if digits > 9:
            raise UnsupportedType(f"{data_type!r}: fractional seconds precision is 0-9")
        return SnowflakeType(f"{base}({digits})")
    return SnowflakeType(base)  # scalar, or sized (unbounded)



def type_table() -> dict[str, list[str]]:
    """The type table as plain JSON data for ``mesh_policy()``."""
    return {name: [base, rule] for name, (base, rule) in sorted(SNOWFLAKE_TYPES.items())}
