"""The DuckDB backend: local meshes and every test run."""
