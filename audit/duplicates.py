"""Never filed twice (相同产品不得重复备案), proved from the log alone.

The store enforces the rule with a reservation per canonical product key (docs/never-filed-
twice.md); this module checks the *outcome* without trusting that mechanism: it reads every
``ProductFiled`` and ``ProductWithdrawn`` in log order and reports each product filed more than
once, except a legitimate re-filing. A filing of key K is legitimate when every earlier filing
of K was withdrawn earlier in the log *and* was made by the same filer (a filer may file its own
withdrawn product again; nobody else may, and a withdrawn filing still holds the key).

The key is not taken on trust either: it is re-derived from the filing's ``name`` and
``model`` with a standard-library copy of ``domain.values.canonical_product_key`` (NFKC,
casefold, drop Unicode categories P*, Z*, C* and whitespace, join with U+001F). Filings are
grouped by the *re-derived* key, so a forged ``canonical_key`` cannot hide a duplicate, and
every filing whose stored key differs from the re-derived one is reported as a
:class:`MismatchedKey` finding, in a list of its own rather than as an exception: an auditor
wants every such filing of the log, not only the first, and a mismatch does not stop the
duplicate check from being meaningful. (A mismatch can also mean this Python's Unicode
database differs from the ledger's: ``unicodedata.unidata_version`` pins it.)

Standard library only; keep ``canonical_product_key`` here in step with domain/values.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from audit.errors import InvalidReplayError
from audit.logged_event import LoggedEvent
from audit.replay import PRODUCT_FILED, PRODUCT_WITHDRAWN

PRODUCT_KEY_SEPARATOR: Final = "\u001f"
_REMOVED_CATEGORY_PREFIXES: Final = ("P", "Z", "C")


@dataclass(frozen=True, slots=True)
class FilingRef:
    """One filing of a product: where it is in the log, its id and its filer."""

    leaf_index: int
    product_id: UUID
    filer_uscc: str


@dataclass(frozen=True, slots=True)
class DuplicateFiling:
    """A product (canonical key) filed twice: every filing of the key, in log order."""

    canonical_key: str
    filings: tuple[FilingRef, ...]


@dataclass(frozen=True, slots=True)
class MismatchedKey:
    """A filing whose stored ``canonical_key`` is not the key of its name and model.

    ``derived_key`` is ``None`` when the name is empty after normalisation (the domain refuses
    such a name, so the filing could not have been made).
    """

    filing: FilingRef
    stored_key: str
    derived_key: str | None


@dataclass(frozen=True, slots=True)
class FilingFindings:
    """Both findings of one pass over the log."""

    duplicates: tuple[DuplicateFiling, ...]
    mismatched_keys: tuple[MismatchedKey, ...]


def _normalise_key_part(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(
        char
        for char in folded
        if not unicodedata.category(char).startswith(_REMOVED_CATEGORY_PREFIXES)
        and not char.isspace()
    )


def canonical_product_key(name: str, model: str) -> str | None:
    """The canonical key of a product, or ``None`` if its name is empty after normalisation.

    Copy of ``domain.values.canonical_product_key`` (which raises where this returns
    ``None``): NFKC, casefold, then drop every character of Unicode category P*, Z* or C*
    and any whitespace, for name and model separately; the key is name + U+001F + model.
    """
    normalised_name = _normalise_key_part(name)
    if not normalised_name:
        return None
    return f"{normalised_name}{PRODUCT_KEY_SEPARATOR}{_normalise_key_part(model)}"


def audit_filings(events: Iterable[LoggedEvent]) -> FilingFindings:
    """Find duplicate filings and forged keys in one pass over the log (in log order).

    Other topics are skipped; so is a withdrawal of a filing not seen (audit.replay refuses
    it). Duplicates come in the order their key was first filed.

    Raises:
        InvalidReplayError: a ProductFiled without a string ``name``, ``model``,
            ``canonical_key`` or ``filer_uscc``.
    """
    by_key: dict[str, list[FilingRef]] = {}
    duplicated: set[str] = set()
    withdrawn: set[UUID] = set()
    mismatched: list[MismatchedKey] = []
    for event in events:
        if event.topic == PRODUCT_WITHDRAWN:
            withdrawn.add(event.originator_id)
            continue
        if event.topic != PRODUCT_FILED:
            continue
        name, model, stored_key, filer_uscc = _filing_fields(event)
        filing = FilingRef(event.leaf_index, event.originator_id, filer_uscc)
        derived_key = canonical_product_key(name, model)
        if derived_key != stored_key:
            mismatched.append(MismatchedKey(filing, stored_key, derived_key))
        key = stored_key if derived_key is None else derived_key
        earlier = by_key.setdefault(key, [])
        if not all(f.product_id in withdrawn and f.filer_uscc == filer_uscc for f in earlier):
            duplicated.add(key)
        earlier.append(filing)
    duplicates = tuple(
        DuplicateFiling(key, tuple(filings)) for key, filings in by_key.items() if key in duplicated
    )
    return FilingFindings(duplicates, tuple(mismatched))


def find_duplicate_filings(events: Iterable[LoggedEvent]) -> list[DuplicateFiling]:
    """Every product filed twice without a legitimate re-filing; empty when the rule held.

    Raises:
        InvalidReplayError: as :func:`audit_filings`.
    """
    return list(audit_filings(events).duplicates)


def find_mismatched_keys(events: Iterable[LoggedEvent]) -> list[MismatchedKey]:
    """Every filing whose stored canonical key is not the key of its name and model.

    Raises:
        InvalidReplayError: as :func:`audit_filings`.
    """
    return list(audit_filings(events).mismatched_keys)


def _filing_fields(event: LoggedEvent) -> tuple[str, str, str, str]:
    state: object = event.state
    values: list[str] = []
    for field_name in ("name", "model", "canonical_key", "filer_uscc"):
        value = state.get(field_name) if isinstance(state, Mapping) else None
        if not isinstance(value, str):
            raise InvalidReplayError(
                event.originator_id,
                event.version,
                event.leaf_index,
                f"ProductFiled {field_name} is {value!r}: want a string",
            )
        values.append(value)
    name, model, key, filer_uscc = values
    return name, model, key, filer_uscc
