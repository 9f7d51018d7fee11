"""Cross-domain contracts: published dataset contracts, their diffs and verdicts, the rules that
refuse breaking changes, consumer-side SQL checks and ODCS export."""
