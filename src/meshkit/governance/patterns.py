"""Column names and values that reveal personal data. The name patterns are shared by the
policies and the platform's dbt test (through the compiled policy macro); the value detectors by
the policy and the secure views' build gate (through the dbt-duckdb plugin's function), so a
build refuses exactly what a sync would report."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

# Column-name patterns of personal data, by kind (matched on the lowercased name).
NAME_PATTERNS: dict[str, str] = {
    "person name": r"(^|_)(first|last|full|given|family|middle|maiden|sur|nick)_?name($|_)"
                   r"|^name$|(^|_)(customer|client|holder|owner|person|contact)_name($|_)",
    "email": r"(^|_)e_?mail($|_)|email_address",
    "phone": r"(^|_)(phone|mobile|msisdn|cell|telephone|tel|telefon|telefono|fax)($|_)",
    "national id": r"(^|_)(ssn|social_security|national_id|nin|nino|passport|tax_id|tin|sin"
                   r"|id_number|personal_id)($|_)",
    "birth date": r"(^|_)(birth|dob|birthday)($|_)|date_of_birth|birth_date|geburtsdatum",
    "address": r"(^|_)(address|addr|street|postcode|postal_code|zip|zipcode|zip_code)($|_)",
    "card number": r"(^|_)(pan|card_number|card_num|card_no|credit_card|cc_number|cc_num)($|_)",
    "account number": r"(^|_)(account_number|account_num|account_no|acct_number|acct_no"
                      r"|routing_number|bank_account)($|_)",
    "iban": r"(^|_)iban($|_)",
}


def personal_kind(column: str, patterns: Mapping[str, str] = NAME_PATTERNS) -> str | None:
    """The kind of personal data a column name suggests, or None.

    >>> [personal_kind(c) for c in ("email", "card_number", "card_count", "date_of_birth", "city")]
    ['email', 'card number', None, 'birth date', None]
    >>> [personal_kind(c) for c in ("home_addr", "telefon", "geburtsdatum")]
    ['address', 'phone', 'birth date']
    """
    # The same names recur across a mesh (id, email, …): each is matched once per pattern set.
    return _kind(column.lower(), tuple(patterns.items()))


@functools.lru_cache(maxsize=65536)
def _kind(name: str, patterns: tuple[tuple[str, str], ...]) -> str | None:
    return next((kind for kind, pattern in _compiled(patterns) if pattern.search(name)), None)


@functools.lru_cache(maxsize=64)
def _compiled(patterns: tuple[tuple[str, str], ...]) -> list[tuple[str, re.Pattern[str]]]:
    return [(kind, re.compile(pattern)) for kind, pattern in patterns]


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban(text: str) -> bool:
    s = text.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", s):
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


# A year and a month (2025-06), not inside a longer run of digits.
_YEAR_MONTH = re.compile(r"(?<!\d)(?:19|20)\d\d[-/.](?:0[1-9]|1[0-2])(?!\d)")


def _phone(text: str) -> bool:
    """Digits shaped like a phone number: 9 or more, written with a separator. A composite key
    with a year and a month in it (an account's month, ``45587-2025-06``) is not one: the
    demo's monthly card rows were flagged as phone numbers once account ids reached 5 digits.

    >>> [_phone(v) for v in ["+44 20 7946 0958", "(555) 123-4567", "555-123-4567",
    ...                      "+33 1 23 45 67 89", "45587-2025-06", "12-2019-11-30", "5551234567"]]
    [True, True, True, True, False, False, False]
    """
    return (re.fullmatch(r"\+?[\d\s().-]{7,20}", text) is not None
            and sum(ch.isdigit() for ch in text) >= 9
            and re.search(r"[\s().+-]", text) is not None
            and _YEAR_MONTH.search(text) is None)


VALUE_DETECTORS: dict[str, Callable[[str], bool]] = {
    "email": lambda v: re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}", v) is not None,
    "card number": lambda v: (d := re.sub(r"[ -]", "", v)).isdigit() and 13 <= len(d) <= 19
                             and _luhn(d),
    "iban": _iban,
    "national id": lambda v: re.fullmatch(r"\d{3}-\d{2}-\d{4}", v) is not None,
    "phone": _phone,
}


def value_kind(values: list[str], min_share: float) -> tuple[str, int] | None:
    """The kind of personal data most sampled values look like, with how many, if at least
    ``min_share`` of them do.

    >>> value_kind(["a@b.io", "c@d.org", "n/a"], 0.5)
    ('email', 2)
    >>> value_kind(["4111 1111 1111 1111", "12"], 0.5)
    ('card number', 1)
    """
    if not values:
        return None
    best: tuple[str, int] | None = None
    for kind, detect in VALUE_DETECTORS.items():
        hits = sum(1 for v in values if detect(v.strip()))
        if hits and hits / len(values) >= min_share and (best is None or hits > best[1]):
            best = (kind, hits)
    return best
