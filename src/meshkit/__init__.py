"""meshkit: a governed data mesh from a set of dbt projects.

>>> from meshkit import Mesh  # the front door: Mesh.load("mesh.yml").build() / .sync() / .query()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Mesh", "__version__"]

if TYPE_CHECKING:
    from meshkit.mesh import Mesh


def __getattr__(name: str) -> Any:
    # Imported on first use, so `mesh --help` (which reads __version__) stays instant.
    if name == "Mesh":
        from meshkit.mesh import Mesh

        return Mesh
    raise AttributeError(f"module 'meshkit' has no attribute {name!r}")
