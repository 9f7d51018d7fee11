"""Engine backends: DuckDB (local work, tests) and Snowflake (production)."""
