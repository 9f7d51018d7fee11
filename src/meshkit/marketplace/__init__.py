"""The marketplace: the catalog as a static web site, and ``mesh serve`` to browse it."""
