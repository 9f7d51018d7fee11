"""Self-serve: a new mesh, new domains and products, existing dbt projects onboarded, product
candidates suggested.

Scaffolds are Jinja2 templates shipped with the package (``templates/``): a file ending in
``.j2`` is rendered, any other is copied as it is. Nothing here overwrites a file that exists.
"""
