"""Column names that reveal personal data (shared by the policies and the platform's dbt test,
through the compiled policy macro)."""

from __future__ import annotations

import re
from collections.abc import Mapping

# Column-name patterns of personal data, by kind (matched on the lowercased name).
NAME_PATTERNS: dict[str, str] = {
    "person name": r"(^|_)(first|last|full|given|family|middle|maiden|sur|nick)_?name($|_)"
                   r"|^name$|(^|_)(customer|client|holder|owner|person|contact)_name($|_)",
    "email": r"(^|_)e_?mail($|_)|email_address",
    "phone": r"(^|_)(phone|mobile|msisdn|cell|telephone|tel|fax)($|_)",
    "national id": r"(^|_)(ssn|social_security|national_id|nin|nino|passport|tax_id|tin|sin"
                   r"|id_number|personal_id)($|_)",
    "birth date": r"(^|_)(birth|dob|birthday)($|_)|date_of_birth|birth_date",
    "address": r"(^|_)(address|street|postcode|postal_code|zip|zipcode|zip_code)($|_)",
    "card number": r"(^|_)(pan|card_number|card_num|card_no|credit_card|cc_number|cc_num)($|_)",
    "account number": r"(^|_)(account_number|account_num|account_no|acct_number|acct_no"
                      r"|routing_number|bank_account)($|_)",
    "iban": r"(^|_)iban($|_)",
}


def personal_kind(column: str, patterns: Mapping[str, str] = NAME_PATTERNS) -> str | None:
    """The kind of personal data a column name suggests, or None.

    >>> [personal_kind(c) for c in ("email", "card_number", "card_count", "date_of_birth", "city")]
    ['email', 'card number', None, 'birth date', None]
    """
    name = column.lower()
    return next((kind for kind, pattern in patterns.items() if re.search(pattern, name)), None)
