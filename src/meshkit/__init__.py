"""meshkit: a governed data mesh from a set of dbt projects."""

__version__ = "0.1.0"
