"""Every built-in governance policy, registered with the check engine as this module is imported
(through the ``meshkit.rules`` entry point of meshkit's own package metadata)."""

import importlib

from meshkit.governance import POLICY_MODULES

for _module in POLICY_MODULES:
    importlib.import_module(_module)
