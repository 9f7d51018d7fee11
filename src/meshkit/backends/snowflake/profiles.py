"""Snowflake connection settings, from environment variables only (no secret in the repo).

The same variables drive ``mesh apply`` (here) and the ``prod`` output of every domain's
profiles.yml (``env_var(...)`` in dbt), so one exported set of variables serves both:

=============================  ===========================================================
SNOWFLAKE_ACCOUNT              account identifier, e.g. ``myorg-myaccount`` (required)
SNOWFLAKE_USER                 login name (required)
SNOWFLAKE_ROLE                 role of the session (``mesh apply`` switches roles itself)
SNOWFLAKE_WAREHOUSE            warehouse of the session
SNOWFLAKE_PASSWORD             password authentication, or
SNOWFLAKE_PRIVATE_KEY_PATH     key-pair authentication (+ SNOWFLAKE_PRIVATE_KEY_PASSPHRASE), or
SNOWFLAKE_AUTHENTICATOR        ``externalbrowser`` (SSO in a browser)
=============================  ===========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshkit.errors import ConfigError

REQUIRED = {
    "SNOWFLAKE_ACCOUNT": "your account identifier, e.g. myorg-myaccount",
    "SNOWFLAKE_USER": "your login name",
}
AUTH_VARIABLES = ("SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY_PATH", "SNOWFLAKE_AUTHENTICATOR")
BROWSER = "externalbrowser"


@dataclass(frozen=True)
class SnowflakeSettings:
    account: str
    user: str
    role: str | None = None
    warehouse: str | None = None
    password: str | None = None
    private_key_path: Path | None = None
    private_key_passphrase: str | None = None
    authenticator: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SnowflakeSettings:
        """Read the settings; a missing variable is a :class:`ConfigError` that names it.

        >>> SnowflakeSettings.from_env({"SNOWFLAKE_USER": "u"})
        Traceback (most recent call last):
        ...
        meshkit.errors.ConfigError: environment variable SNOWFLAKE_ACCOUNT is not set
          fix: export SNOWFLAKE_ACCOUNT=<your account identifier, e.g. myorg-myaccount>
        """
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        for name, what in REQUIRED.items():
            if get(name) is None:
                raise ConfigError(f"environment variable {name} is not set",
                                  fix=f"export {name}=<{what}>")
        authenticator = get("SNOWFLAKE_AUTHENTICATOR")
        key_path = get("SNOWFLAKE_PRIVATE_KEY_PATH")
        if get("SNOWFLAKE_PASSWORD") is None and key_path is None and authenticator is None:
            raise ConfigError(
                "no Snowflake authentication: none of " + ", ".join(AUTH_VARIABLES) + " is set",
                fix="export SNOWFLAKE_PASSWORD, or SNOWFLAKE_PRIVATE_KEY_PATH=/path/to/rsa_key.p8, "
                    f"or SNOWFLAKE_AUTHENTICATOR={BROWSER}",
            )
        if key_path is not None and not Path(key_path).expanduser().is_file():
            raise ConfigError("the private key file does not exist", file=key_path,
                              location="SNOWFLAKE_PRIVATE_KEY_PATH",
                              fix="point SNOWFLAKE_PRIVATE_KEY_PATH at your PKCS#8 key file")
        return cls(
            account=str(get("SNOWFLAKE_ACCOUNT")),
            user=str(get("SNOWFLAKE_USER")),
            role=get("SNOWFLAKE_ROLE"),
            warehouse=get("SNOWFLAKE_WAREHOUSE"),
            password=get("SNOWFLAKE_PASSWORD"),
            private_key_path=Path(key_path).expanduser() if key_path else None,
            private_key_passphrase=get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"),
            authenticator=authenticator,
        )

    def connect_args(self) -> dict[str, Any]:
        """Keyword arguments of ``snowflake.connector.connect`` (secrets included: never log)."""
        args: dict[str, Any] = {"account": self.account, "user": self.user,
                                "session_parameters": {"QUERY_TAG": "meshkit"}}
        if self.role:
            args["role"] = self.role
        if self.warehouse:
            args["warehouse"] = self.warehouse
        if self.private_key_path is not None:
            args["private_key_file"] = str(self.private_key_path)
            if self.private_key_passphrase:
                args["private_key_file_pwd"] = self.private_key_passphrase
        elif self.password:
            args["password"] = self.password
        if self.authenticator:
            args["authenticator"] = self.authenticator
        return args

    def describe(self) -> str:
        """Where a session goes, without secrets."""
        auth = ("key pair" if self.private_key_path else
                self.authenticator or ("password" if self.password else "?"))
        return f"{self.user}@{self.account} (role {self.role or 'default'}, {auth})"


def connect(settings: SnowflakeSettings | None = None, **options: Any) -> Any:
    """A snowflake-connector-python connection from the environment (``options``: further
    connection parameters, e.g. ``paramstyle="qmark"`` for server-side binding)."""
    import snowflake.connector

    settings = settings or SnowflakeSettings.from_env()
    return snowflake.connector.connect(**settings.connect_args(), **options)
