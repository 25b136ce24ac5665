"""The product index v1: what the product-key map and the patent map hold, rebuilt from the log.

Issue #19 (docs/product-index.md, "The product index v1"). Two sparse maps
(audit.offline.sparse_map) are a function of the log's events in order, so anyone with the log
rebuilds them and checks the roots the log commits to with each checkpoint
(audit.offline.index_note):

- ``product-keys``: key ``"<key rule>" U+001E <product key>`` (UTF-8) for every key of every
  filing — its key rule v1 key as recorded (the key its save reserved) and, for every filing
  whatever its date, its key rule v2 key re-derived from its name and model
  (audit.offline.product_key; none when the rule refuses the name or model). The value names
  the filing that holds the key (the reservation's holder; ``null`` where no reservation of the
  key exists, i.e. filings from before v2 that no migration reserved), the leaf indices of the
  reservation's events, and every filing whose key it is, in log order, each with the leaf
  indices of all its events and the digest of its registry row. "Never filed twice" is then
  one lookup: one filing, or earlier ones withdrawn by the same filer.
- ``patents``: key the patent number as declared (UTF-8); the value lists the filings that
  declare it now, those that lost it to an upheld ownership claim and those whose later
  revision no longer declares it.

A filing's *events* are its own aggregate's (originator id = the product id): ProductFiled,
FilingApproved, FilingRejected, ProductRevised, ProductWithdrawn, the ownership-dispute events
and FilingNumberAssigned — versions 1…n at the listed leaves, so a verifier holding those
events with inclusion proofs knows the trail is complete. The *registry row* is what the
registry shows of a filing and the index commits to (``registry_row``): public fields only —
no figures. Meaning, not validity: the builder trusts the log's rules to the replay
(audit.offline.replay) and reads only the fields it needs, refusing a shape it cannot read.

State lives in four mappings the caller may back by anything (``IndexState``): in memory for
the auditor, database rows on the server (audit.log.product_index_log). Standard library only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple
from uuid import UUID

from audit.offline.canonical import encode_canonical_plain
from audit.offline.errors import InvalidReplayError
from audit.offline.index_encoding import (
    PRODUCT_KEY_VALUE,
    REGISTRY_ROW,
    encode_filing_entry,
    encode_product_key_value,
    encode_registry_row,
)
from audit.offline.logged_event import CANONICAL_UUID, LoggedEvent
from audit.offline.product_key import EmptyKeyPartError, KeyRule, product_key
from audit.offline.replay_base import (
    APPROVED,
    DISPUTE_RESOLVED,
    FILING_APPROVED,
    FILING_NUMBER_ASSIGNED,
    FILING_REJECTED,
    KEY_MIGRATED,
    KEY_REASSIGNED,
    KEY_RESERVED,
    PENDING_REVIEW,
    PRODUCT_FILED,
    PRODUCT_REVISED,
    PRODUCT_WITHDRAWN,
    REJECTED,
    WITHDRAWN,
)
from audit.offline.sparse_map import map_path

INDEX_VERSION: Final = 1
PRODUCT_KEYS: Final = b"product-keys"
PATENTS: Final = b"patents"
MAPS: Final = (PRODUCT_KEYS, PATENTS)
KEY_SEPARATOR: Final = "\x1e"  # never in a product key (audit.offline.product_key)
PATENT_VALUE: Final = "ppl-index/patent/v1"
INDEXED_RULES: Final = (KeyRule.V1, KeyRule.V2)

DECLARED: Final = "declared"
LOST: Final = "lost"
FORMERLY: Final = "formerly"

PRODUCT_TOPICS: Final = frozenset(
    {
        PRODUCT_FILED,
        FILING_APPROVED,
        FILING_REJECTED,
        PRODUCT_REVISED,
        PRODUCT_WITHDRAWN,
        FILING_NUMBER_ASSIGNED,
        DISPUTE_RESOLVED,
        "domain.product:Product.OwnershipDisputeRaised",
        "domain.product:Product.OwnershipDisputeAccepted",
    }
)
RESERVATION_TOPICS: Final = frozenset({KEY_RESERVED, KEY_MIGRATED, KEY_REASSIGNED})


class IndexedEvent(NamedTuple):
    """What the builder reads of one event: its leaf, its aggregate's id as canonical text
    (``str(UUID)``: how the index names filings and reservations), version, topic and the
    fields of audit.offline.index_rebuild.index_fields. The verifier's workers hand events over
    with ids as text; turning them into ``UUID`` objects and back for the builder cost more
    than a tenth of a rebuild."""

    leaf_index: int
    originator: str
    version: int
    topic: str
    state: Mapping[str, Any]


def product_key_bytes(rule: int, key: str) -> bytes:
    """The product-key map's key of ``key`` under key rule ``rule``."""
    return f"{int(rule)}{KEY_SEPARATOR}{key}".encode()


def patent_key_bytes(number: str) -> bytes:
    """The patent map's key of a patent number."""
    return number.encode("utf-8")


def _rule_2_key(name: str, model: str) -> str | None:
    try:
        return product_key(KeyRule.V2, name, model)
    except EmptyKeyPartError:
        return None


def keys_of(name: str, model: str) -> dict[int, str]:
    """A product's key under each indexed rule (a rule that refuses the name or model: none)."""
    found: dict[int, str] = {}
    for rule in INDEXED_RULES:
        try:
            found[int(rule)] = product_key(rule, name, model)
        except EmptyKeyPartError:
            continue
    return found


@dataclass(slots=True)
class FilingState:
    """One filing as the index sees it: its registry row's fields, its keys and events."""

    product_id: str
    filer_uscc: str
    name: str
    model: str
    keys: list[list[Any]]  # [[rule, key], …] in rule order
    status: str = PENDING_REVIEW
    data_year: int = 0
    filing_number: str | None = None
    patents: list[str] = field(default_factory=list)  # declared now, sorted
    removed: list[str] = field(default_factory=list)  # lost to upheld claims, sorted
    ever: list[str] = field(default_factory=list)  # every number it ever declared, sorted
    leaves: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id, "filer_uscc": self.filer_uscc, "name": self.name,
            "model": self.model, "keys": self.keys, "status": self.status,
            "data_year": self.data_year, "filing_number": self.filing_number,
            "patents": self.patents, "removed": self.removed, "ever": self.ever,
            "leaves": self.leaves,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FilingState:
        return cls(**data)

    def patent_standing(self, number: str) -> str:
        """declared / lost / formerly: where this filing stands with a number it declared."""
        if number in self.removed:
            return LOST
        return DECLARED if number in self.patents else FORMERLY


@dataclass(slots=True)
class KeyState:
    """One product key: its reservation (if any) and the filings whose key it is."""

    rule: int
    key: str
    holder: str | None = None
    reservation_id: str | None = None
    reservation_leaves: list[int] = field(default_factory=list)
    filings: list[str] = field(default_factory=list)  # product ids, in log order

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "key": self.key, "holder": self.holder,
            "reservation_id": self.reservation_id,
            "reservation_leaves": self.reservation_leaves, "filings": self.filings,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KeyState:
        return cls(**data)


@dataclass(slots=True)
class PatentState:
    """One patent number: every filing that ever declared it, and where each stands."""

    number: str
    filings: dict[str, str] = field(default_factory=dict)  # product id -> standing

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "filings": self.filings}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PatentState:
        return cls(str(data["number"]), dict(data["filings"]))


@dataclass
class IndexState:
    """Where the builder keeps what it knows; any mutable mappings (dicts, or a cache of rows)."""

    filings: MutableMapping[str, FilingState] = field(default_factory=dict)
    keys: MutableMapping[bytes, KeyState] = field(default_factory=dict)
    patents: MutableMapping[bytes, PatentState] = field(default_factory=dict)
    reservations: MutableMapping[str, bytes] = field(default_factory=dict)  # id -> key bytes


def registry_row(filing: FilingState) -> dict[str, Any]:
    """The registry row the index commits to (docs/product-index.md, "Registry row v1")."""
    return {
        "format": REGISTRY_ROW,
        "product_id": filing.product_id,
        "filer_uscc": filing.filer_uscc,
        "name": filing.name,
        "model": filing.model,
        "status": filing.status,
        "data_year": filing.data_year,
        "filing_number": filing.filing_number,
        "patents": filing.patents,
        "removed_patents": filing.removed,
        "version": len(filing.leaves),
    }


def row_digest(row: Mapping[str, Any]) -> str:
    """SHA-256 of a registry row's canonical JSON, lower-case hex."""
    return hashlib.sha256(encode_canonical_plain(dict(row))).hexdigest()


class IndexBuilder:
    """Applies events in log order to an ``IndexState``; says which map entries changed."""

    def __init__(self, state: IndexState | None = None, *, tracking: bool = True) -> None:
        self.state = state if state is not None else IndexState()
        # ``tracking`` false: no record of what changed (``take_changed`` stays empty), for a
        # rebuild that values every entry once at the end (a third of its dict operations)
        self.tracking = tracking
        # an ordered set (first change first): a rebuild visits the entries in about the order
        # their states were made, near each other in memory (at 10^6 filings, sorted order
        # costs a sort and a cache miss per entry)
        self._changed: dict[tuple[bytes, bytes], None] = {}
        self._derived: dict[tuple[str, str], str | None] = {}
        # product id -> (version, row digest, its entry in product-key values)
        self._rows: dict[str, tuple[int, str, str]] = {}

    def derived_key(self, name: str, model: str) -> str | None:
        """A filing's rule-2 key (None: the rule refuses its name or model), remembered until
        the filing is applied: a server that reads state rows ahead (the keys a batch will
        touch) derives each key once for both."""
        if (name, model) not in self._derived:
            self._derived[(name, model)] = _rule_2_key(name, model)
        return self._derived[(name, model)]

    # --- what changed, and the values -----------------------------------------------------
    def take_changed(self, *, ordered: bool = True) -> list[tuple[bytes, bytes]]:
        """The (map id, key) entries changed since the last call — sorted, or (``ordered``
        false) in the order they first changed — and forgets them."""
        changed, self._changed = self._changed, {}
        return sorted(changed) if ordered else list(changed)

    def value(self, map_id: bytes, key: bytes) -> bytes:
        """The canonical bytes of an entry's value (docs/product-index.md).

        Raises:
            KeyError: no such entry.
        """
        if map_id == PRODUCT_KEYS:
            return self._product_key_bytes(self.state.keys[key])
        if map_id == PATENTS:
            return encode_canonical_plain(patent_value(self.state.patents[key]))
        raise KeyError(map_id)

    def product_key_value(self, key: KeyState) -> dict[str, Any]:
        filings = []
        for product_id in key.filings:
            filing = self.state.filings[product_id]
            filings.append(
                {"product_id": product_id, "leaves": filing.leaves, "row": self._row(filing)}
            )
        reservation = (
            None
            if key.reservation_id is None
            else {"id": key.reservation_id, "leaves": key.reservation_leaves}
        )
        return {
            "format": PRODUCT_KEY_VALUE,
            "key_rule": key.rule,
            "key": key.key,
            "holder": key.holder,
            "reservation": reservation,
            "filings": filings,
        }

    def _product_key_bytes(self, key: KeyState) -> bytes:
        """``encode_canonical_plain(self.product_key_value(key))``, written directly
        (audit.offline.index_encoding: the rebuild's most frequent encoding)."""
        filings = self.state.filings
        return encode_product_key_value(
            key.rule,
            key.key,
            key.holder,
            None if key.reservation_id is None else (key.reservation_id, key.reservation_leaves),
            [self._written(filings[product_id])[1] for product_id in key.filings],
        )

    def _row(self, filing: FilingState) -> str:
        """The row digest of a filing."""
        return self._written(filing)[0]

    def _written(self, filing: FilingState) -> tuple[str, str]:
        """The row digest of a filing and its entry in a product-key value, written once per
        version of the filing (its keys under both rules name it, and a value is built for
        each)."""
        version = len(filing.leaves)
        found = self._rows.get(filing.product_id)
        if found is None or found[0] != version:
            digest = hashlib.sha256(encode_registry_row(filing)).hexdigest()
            entry = encode_filing_entry(filing.product_id, filing.leaves, digest)
            found = self._rows[filing.product_id] = (version, digest, entry)
        return found[1], found[2]

    # --- events ---------------------------------------------------------------------------
    def apply(self, event: LoggedEvent) -> None:
        """Take one event (log order). Events of other kinds are ignored.

        Raises:
            InvalidReplayError: a field the index reads is missing or of the wrong type, or an
                event of a filing or reservation the index has not seen.
        """
        self.apply_indexed(
            IndexedEvent(
                event.leaf_index, str(event.originator_id), event.version, event.topic, event.state
            )
        )

    def apply_indexed(self, event: IndexedEvent) -> None:
        """``apply`` of an event given as the verifier's workers hand it over (ids as text).

        Raises:
            InvalidReplayError: as ``apply``.
        """
        topic = event.topic
        if topic in PRODUCT_TOPICS:
            self._product_event(event)
        elif topic in RESERVATION_TOPICS:
            self._reservation_event(event)

    def _product_event(self, event: IndexedEvent) -> None:
        product_id = event.originator
        if event.topic == PRODUCT_FILED:
            filing = self._filed(event, product_id)
        else:
            filing = self._filing(event, product_id)
            if event.topic == FILING_APPROVED:
                filing.status = APPROVED
            elif event.topic == FILING_REJECTED:
                filing.status = REJECTED
            elif event.topic == PRODUCT_WITHDRAWN:
                filing.status = WITHDRAWN
            elif event.topic == FILING_NUMBER_ASSIGNED:
                filing.filing_number = _text(event, "filing_number")
            elif event.topic == PRODUCT_REVISED:
                filing.data_year = _int(event, "data_year")
                filing.status = PENDING_REVIEW
                self._declare(filing, _patent_numbers(event))
            elif event.topic == DISPUTE_RESOLVED:
                self._resolved(event, filing)
        if len(filing.leaves) + 1 != event.version:
            raise _fail(event, f"version {event.version}: the index has {len(filing.leaves)}")
        filing.leaves.append(event.leaf_index)
        self.state.filings[product_id] = filing
        if self.tracking:
            for rule, key in filing.keys:
                self._changed[(PRODUCT_KEYS, product_key_bytes(rule, key))] = None

    def _resolved(self, event: IndexedEvent, filing: FilingState) -> None:
        """An upheld claim's removed patents are lost; a filing left without one returns to
        review (annex rule v1; a version-1 resolution removes nothing)."""
        removed = event.state.get("removed_patents", [])
        if not isinstance(removed, list) or not all(isinstance(n, str) for n in removed):
            raise _fail(event, f"removed_patents is {removed!r}: want patent numbers")
        if removed:
            filing.removed = sorted(set(filing.removed) | set(removed))
            self._patents_changed(filing, removed)
        if event.state.get("returned_to_review", False) is True:
            filing.status = PENDING_REVIEW

    def _filed(self, event: IndexedEvent, product_id: str) -> FilingState:
        if product_id in self.state.filings:
            raise _fail(event, f"product {product_id} is filed twice under one id")
        name, model = _text(event, "name"), _text(event, "model", empty=True)
        keys: list[list[Any]] = [[int(KeyRule.V1), _text(event, "canonical_key")]]
        derived = (
            self._derived.pop((name, model))
            if (name, model) in self._derived
            else _rule_2_key(name, model)
        )
        if derived is not None:
            keys.append([int(KeyRule.V2), derived])
        filing = FilingState(
            product_id, _text(event, "filer_uscc"), name, model, keys,
            data_year=_int(event, "data_year"),
        )  # fmt: skip
        for rule, key in keys:
            entry = product_key_bytes(rule, key)
            known = self.state.keys.get(entry) or KeyState(rule, key)
            known.filings.append(product_id)
            self.state.keys[entry] = known
        self._declare(filing, _patent_numbers(event))
        return filing

    def _filing(self, event: IndexedEvent, product_id: str) -> FilingState:
        filing = self.state.filings.get(product_id)
        if filing is None:
            raise _fail(event, f"an event of product {product_id}, which was never filed")
        return filing

    def _declare(self, filing: FilingState, numbers: list[str]) -> None:
        before = set(filing.patents)
        filing.patents = sorted(set(numbers))
        filing.ever = sorted(set(filing.ever) | set(numbers))
        self._patents_changed(filing, sorted(before | set(numbers)))

    def _patents_changed(self, filing: FilingState, numbers: Iterable[str]) -> None:
        for number in numbers:
            entry = patent_key_bytes(number)
            known = self.state.patents.get(entry) or PatentState(number)
            standing = filing.patent_standing(number)
            if known.filings.get(filing.product_id) != standing:
                known.filings[filing.product_id] = standing
                self.state.patents[entry] = known
                if self.tracking:
                    self._changed[(PATENTS, entry)] = None

    def _reservation_event(self, event: IndexedEvent) -> None:
        reservation_id = event.originator
        product_id = _id(event, "product_id")
        if event.topic == KEY_REASSIGNED:
            entry = self.state.reservations.get(reservation_id)
            if entry is None:
                raise _fail(event, f"reservation {reservation_id} was never made")
            key = self.state.keys[entry]
        else:
            rule = event.state.get("key_rule", int(KeyRule.V1))
            if isinstance(rule, bool) or not isinstance(rule, int):
                raise _fail(event, f"key_rule is {rule!r}: want an integer")
            text = _text(event, "canonical_key")
            entry = product_key_bytes(rule, text)
            key = self.state.keys.get(entry) or KeyState(rule, text)
            key.reservation_id = reservation_id
            self.state.reservations[reservation_id] = entry
        if product_id not in key.filings:
            raise _fail(
                event, f"product {product_id} does not have key {key.key!r} (rule v{key.rule})"
            )
        key.holder = product_id
        key.reservation_leaves.append(event.leaf_index)
        self.state.keys[entry] = key
        if self.tracking:
            self._changed[(PRODUCT_KEYS, entry)] = None

    # --- the whole map, in memory (the auditor) -------------------------------------------
    def entries(self, map_id: bytes) -> Iterator[tuple[bytes, bytes, bytes]]:
        """Every (key, path, value) of one map."""
        keys: Iterable[bytes] = self.state.keys if map_id == PRODUCT_KEYS else self.state.patents
        for key in keys:
            yield key, map_path(map_id, key), self.value(map_id, key)


def patent_value(patent: PatentState) -> dict[str, Any]:
    by_standing: dict[str, list[str]] = {DECLARED: [], LOST: [], FORMERLY: []}
    for product_id, standing in patent.filings.items():
        by_standing[standing].append(product_id)
    return {
        "format": PATENT_VALUE,
        "number": patent.number,
        **{standing: sorted(ids) for standing, ids in by_standing.items()},
    }


# --- reading fields --------------------------------------------------------------------------
def _fail(event: IndexedEvent, reason: str) -> InvalidReplayError:
    return InvalidReplayError(UUID(event.originator), event.version, event.leaf_index, reason)


def _text(event: IndexedEvent, name: str, *, empty: bool = False) -> str:
    value = event.state.get(name)
    if not isinstance(value, str) or (not value and not empty):
        raise _fail(event, f"{name} is {value!r}: want text")
    return value


def _int(event: IndexedEvent, name: str) -> int:
    value = event.state.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(event, f"{name} is {value!r}: want an integer")
    return value


def _id(event: IndexedEvent, name: str) -> str:
    value = event.state.get(name)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, str):
        if CANONICAL_UUID.fullmatch(value):  # as str(UUID) spells it: already the id's text
            return value
        try:
            return str(UUID(value))
        except ValueError:
            pass
    raise _fail(event, f"{name} is {value!r}: want a UUID")


def _patent_numbers(event: IndexedEvent) -> list[str]:
    records = event.state.get("patents")
    numbers: list[str] = []
    if isinstance(records, list):
        for record in records:
            number = record.get("number") if isinstance(record, Mapping) else None
            if not isinstance(number, str) or not number:
                break
            numbers.append(number)
        else:
            return numbers
    raise _fail(event, f"patents is {records!r}: want declarations with numbers")
