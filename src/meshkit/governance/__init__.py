"""Federated computational governance: policies as rules of the check engine.

Global policies are set in mesh.yml's ``policies:`` (by rule id: ``enabled``, ``severity``,
``params``, ``scope``); a domain may add stricter ones under ``domains[].policies`` and may not
weaken a global one. Built-in policies live in the modules of :data:`POLICY_MODULES`; third
parties publish theirs (subclasses of :class:`~meshkit.governance.policy.Policy`) under the
``meshkit.rules`` entry-point group. Waivers are read from ``governance/waivers.yml``.
"""

# Imported by the check engine's registry when it is first read.
POLICY_MODULES = [
    "meshkit.governance.products",
    "meshkit.governance.personal_data",
    "meshkit.governance.propagation",
    "meshkit.governance.regulations",
    "meshkit.governance.waivers",
]
