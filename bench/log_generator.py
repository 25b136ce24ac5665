"""A large, valid, signed log with the sample's mix of events, generated fast (issue #20).

Why not the commands: loading ``domain.sample.load_sample`` through the ledger's commands costs
about 1 ms per event here (one seed, 8,960 events, 10-16 s), i.e. 3 hours for 10^7 events.

**How.** One seed of the sample is loaded through the commands once (the *template*, cached).
Its events are then written again and again, each *copy* k with identities of its own, re-signed
by the generated store's own ``EventSigner`` (``audit.offline.event_signature``: one signature
per save, as ``SigningEventStore`` seals it), inserted through the ledger's recorder
(``insert_events``) in transactions of ``INSERT_BATCH`` events, then sequenced into the Merkle
log with signed checkpoints and the product index by the real ``TransparencyLog.sequence`` (a
checkpoint every ``--checkpoint-every`` events, default 10,000). Nothing about the verifier's
rules is bypassed: the result is checked by the real offline verifier (``--verify``: export a
bundle as ``ppl audit export`` does and run ``verify_bundle``), and ``bench/cost_curve.py``
verifies and rebuilds every store it measures.

**What a copy changes**, so that every rule the verifier replays holds (docs/replay-rules.md)
and copies never meet: every USCC (same registration authority, organisation type and region
part, so kinds (A2), regions (A4, C1) still fit; a new GB 11714 organisation code with its check
characters, from slots no sample seed uses), with the filer ids derived from them (F1), the
actors and real-name references that name them; filer names (a copy marker appended); filing
ids (the high 64 bits kept, so every list sorted by id stays sorted; version 8 kept, E7);
dispute ids; patent numbers (year and type kept, a serial from a range no sample seed draws
from, assigned in order, so sorted lists of patents stay sorted; a valid check character);
model designations (a five-digit copy tag before the first digit: no key, model, stripped
model or variant-word form of one copy equals another copy's, so near-duplicate screening
finds exactly the template's candidates within a copy and none across copies: S1, S2); product
keys under key rules v1 and v2 and the reservation ids derived from them (K1, K2); conversion
record ids (C1); filing numbers and their series: the series of a (year, region) is one
aggregate for the whole log, so copy k continues its sequence where copy k - 1 stopped, and
the template's ``FilingNumberSeriesOpened`` becomes a ``FilingNumberIssued`` (N3, N4).
Timestamps, figures, texts and every other field stay as the commands wrote them; the events
of one save stay adjacent (E5, E6). A store of N events ends at the first save boundary at or
after N (a prefix of a valid log cut between saves is what the verifier sees at any
checkpoint).

**How fast.** The template's states are compiled once into canonical-JSON byte segments with
holes (checked: re-encoding each parsed state gives its stored bytes), so a copy's state is a
join of bytes and its new values, encoded once per copy (~16 us per event), sealed at ~23 us
per event (one Ed25519 signature per save of 1-3 events). The rest is the real server code:
the sequencer (every signature verified again, leaf hashes, nodes: a third of the time) and
the product index (nearly half). Three processes share the work: producers copy and seal,
this process inserts and sequences, the index follows the checkpoints in a process of its own
(``--index-here``: in this one). **Rate, end to end** (sequenced, checkpointed, indexed) on
this shared 2-core machine: 6,000 events/s for 10^5 events with the machine quiet (4,200 with
the index in this process), 1,500-2,000 beside other jobs (load average 4-8; 10^6 in 659 s);
10^7 events were written and sequenced at 4,850 events/s (34 minutes) while the index, the
bottleneck, followed at 2,600-3,200 (docs/benchmarks.md, "Cost curve (issue #20)"). The
commands manage 560-900 events/s (one seed's 8,960 events in 10-16 s) and leave the log
unsequenced and unindexed.

Run: ``.venv/bin/python -m bench.log_generator --events 100000 [--verify]``. Stores are cached
in ``bench/results/cache/cost-curve-v1/`` (git-ignored): ``template-seed0/`` and
``store-<events>/`` (``ledger.sqlite3`` and its ``data/keys``), each written under a
``.building`` name and renamed when complete.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import re
import shutil
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Callable, Container, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from api.bootstrap import SignedPatentLedger, open_ledger, open_transparency_log
from api.settings import Settings
from audit.log.bundle_export import export_bundle
from audit.log.transparency_log import TransparencyLog
from audit.offline.canonical import encode_canonical_plain
from audit.offline.event_signature import SEAL_CHUNK, EventSigner, UnsignedEvent, parse_envelope
from audit.offline.filing_number import format_filing_number, parse_filing_number
from audit.offline.keys import KeyManifest
from audit.offline.note import NoteVerifier
from audit.offline.product_key import KeyRule, product_key, reservation_id
from audit.offline.verifier import VerificationReport, verify_bundle
from audit.signing.key_files import DEV_KEY_FILENAME, load_private_key
from bench.common import fresh_sqlite_url, settings_for
from domain.clock import system_now
from domain.conversion import conversion_record_id
from domain.filer import filer_id_for
from domain.sample.identities import organisation_code
from domain.sample.loader import load_sample
from domain.values import patent_check_char, uscc_check_char

GENERATOR_VERSION = "cost-curve-v1"  # bump when the template, the copies or the layout change
DEFAULT_CACHE = Path(__file__).resolve().parent / "results" / "cache" / GENERATOR_VERSION
TEMPLATE_SEED = 0
CHECKPOINT_EVERY = 10_000  # events per sequencer batch: one signed checkpoint (and index note)
INSERT_BATCH = 10_000  # events per insert_events transaction
INDEX_POLL_SECONDS = 0.2  # the index process's wait when it has caught up
TAG_ALPHABET = "23456789"
TAG_DIGITS = 6
TAG_COPIES: int = len(TAG_ALPHABET) ** TAG_DIGITS
ORGANISATION_SLOT_BASE = 10_000_000  # sample seeds use slots below 10^7 (identities.slot_of)
FILER_SLOTS_PER_COPY = 1_000
PATENT_SERIAL_BASE = 2_000_000  # sample patents draw serials 0..1,999,999 (plan._patent)
PATENT_SERIALS = 10_000_000
COPY_MARK = "\uff08\u526f\u672c{copy}\uff09"  # suffix of a filer name: "(副本12)" in full width

FILER = "domain.filer:Filer"
PRODUCT = "domain.product:Product"
RESERVATION = "domain.reservation:ProductKeyReservation"
CONVERSION = "domain.conversion:PatentConversion"
SERIES = "domain.filing_number:FilingNumberSeries"
SERIES_OPENED = f"{SERIES}.FilingNumberSeriesOpened"
SERIES_ISSUED = f"{SERIES}.FilingNumberIssued"
KNOWN_TOPICS = frozenset(
    {
        *(f"{FILER}.{name}" for name in (
            "FilerRegistered", "FilerRealNameVerified", "FilerApproved", "FilerRejected",
            "FilerResubmitted",
        )),
        *(f"{PRODUCT}.{name}" for name in (
            "ProductFiled", "FilingApproved", "FilingNumberAssigned", "FilingRejected",
            "ProductRevised", "ProductWithdrawn", "OwnershipDisputeRaised",
            "OwnershipDisputeAccepted", "OwnershipDisputeResolved",
        )),
        f"{RESERVATION}.ProductKeyReserved",
        f"{RESERVATION}.ProductKeyReassigned",
        f"{CONVERSION}.ConversionRecordOpened",
        f"{CONVERSION}.ConversionReported",
        SERIES_OPENED,
        SERIES_ISSUED,
    }
)  # fmt: skip
"""The topics the generator knows how to copy: the sample's. Another one (a certification, a
key migration) stops the compilation: its derived ids and cross-copy rules are not handled."""

_HOLE = re.compile(rb'"@@([0-9]+)@@"')
_MODEL = re.compile(r"[A-Z]+-[1-9][0-9A-Z]+")  # domain.sample.identities.model_designation
_USCC_LIKE = re.compile(r"[0-9A-Z]{18}")
_UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class TemplateError(RuntimeError):
    """The template store holds something the generator cannot copy faithfully."""


# --- identities of a copy -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Uscc:
    """A template USCC, taken apart: what a copy keeps and the organisation code it renews."""

    prefix: str  # registration authority + organisation type (kinds, A2; C1)
    region: str  # the region part (A4, C1)
    legacy: bool  # a pre-2015 8-digit organisation code (else "MA" + 6 characters)
    ordinal: int  # order of first appearance in the template

    def in_copy(self, copy: int) -> str:
        slot = ORGANISATION_SLOT_BASE + copy * FILER_SLOTS_PER_COPY + self.ordinal
        body = self.prefix + self.region + organisation_code(slot, legacy=self.legacy)
        return body + uscc_check_char(body)


def _parse_uscc(value: str, ordinal: int) -> _Uscc:
    if ordinal >= FILER_SLOTS_PER_COPY:
        raise TemplateError(f"more than {FILER_SLOTS_PER_COPY} USCCs in the template")
    code = value[8:17]
    return _Uscc(value[:2], value[2:8], code[:8].isdigit(), ordinal)


def copy_tag(copy: int) -> str:
    """``copy`` in base 8 written with the digits 2-9, six of them: digits that key rule v2
    folds to themselves (it folds 0 to o and 1 to l) and that no variant word contains."""
    digits = []
    for _ in range(TAG_DIGITS):
        copy, digit = divmod(copy, len(TAG_ALPHABET))
        digits.append(TAG_ALPHABET[digit])
    if copy:
        raise ValueError(f"copy number beyond {TAG_COPIES - 1}")
    return "".join(reversed(digits))


def _copy_model(model: str, copy: int) -> str:
    """The model with the copy's tag after its initials (``ZD-8543WN`` -> ``ZD-2222238543WN``).

    Why this keeps screening exact (audit.offline.screening): the tag is fixed-width, made of
    digits 2-9 that both key rules keep as they are, and sits right after the letters of the
    initials, the first digit of every folded form. So two models' forms (v1 and v2 parts,
    keys, forms without variant words, which only ever lose letters at either end) are equal
    in one copy exactly when they are equal in the template, and never across two copies.
    """
    if not _MODEL.fullmatch(model):
        raise TemplateError(f"model {model!r}: want the sample's designation, like ZD-8543WN")
    initials, rest = model.split("-", 1)
    return f"{initials}-{copy_tag(copy)}{rest}"


def _copy_product_id(product_id: UUID, copy: int) -> UUID:
    """The high 64 bits (version included) kept, so ids sort in a copy as in the template; the
    RFC variant, the copy number and 40 bits of the old id's hash below."""
    low = int.from_bytes(hashlib.sha256(product_id.bytes).digest()[:5], "big")
    return UUID(int=(product_id.int >> 64 << 64) | (0b10 << 62) | (copy << 40) | low)


def _copy_dispute_id(dispute_id: str, copy: int) -> str:
    return hashlib.sha256(f"cost-curve:{copy}:dispute:{dispute_id}".encode()).hexdigest()[:32]


# --- the compiled template ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Event:
    """One template event: which aggregate, its version, topic and state with holes."""

    aggregate: int  # index into Template.aggregates
    version: int
    topic: str
    segments: tuple[bytes | int, ...]  # literal bytes and hole numbers
    issued: tuple[str, tuple[bytes | int, ...]] | None  # series opened: as an issue (copy >= 1)
    starts_save: bool


@dataclass
class _Holes:
    """The values a copy replaces, numbered: (kind, template value) -> hole number."""

    numbers: dict[tuple[str, Any], int] = field(default_factory=dict)

    def number(self, kind: str, value: Any) -> int:
        return self.numbers.setdefault((kind, value), len(self.numbers))


@dataclass
class Template:
    """The events of one sample seed, compiled for copying (``compile_template``)."""

    events: list[_Event]
    aggregates: list[tuple[str, Any, UUID]]  # (kind, what its id derives from, template id)
    holes: list[tuple[str, Any]]
    usccs: dict[str, _Uscc]
    filer_usccs: dict[str, str]  # filer id (text) -> its USCC
    patents: dict[str, tuple[int, int, str]]  # number -> (rank in its year/type, group size, head)
    models: set[str]
    series: dict[str, tuple[int, str, int]]  # series id (text) -> (year, region, numbers issued)

    @property
    def size(self) -> int:
        return len(self.events)

    def max_copies(self) -> int:
        """Copies before some identity space runs out (patent serials, the model tag)."""
        largest = max((size for _, size, _ in self.patents.values()), default=1)
        return min(TAG_COPIES - 1, (PATENT_SERIALS - PATENT_SERIAL_BASE) // largest - 1)

    # --- a copy's values ------------------------------------------------------------------
    def _identities(self, copy: int) -> Callable[[str, Any], str]:
        """The new value of a template value of each kind, in copy ``copy`` (>= 1)."""
        usccs = {old: parsed.in_copy(copy) for old, parsed in self.usccs.items()}
        patents = {}
        for old, (rank, size, head) in self.patents.items():
            digits = f"{head}{PATENT_SERIAL_BASE + copy * size + rank:07d}"
            patents[old] = f"{digits}.{patent_check_char(digits)}"
        models = {model: _copy_model(model, copy) for model in self.models}

        def key(old: tuple[int, str, str, str]) -> str:
            rule, name, model, _ = old
            return product_key(KeyRule(rule), name, models[model])

        def number(old: tuple[str, int, str]) -> str:
            series, sequence, _ = old
            year, region, issued = self.series[series]
            return format_filing_number(year, region, copy * issued + sequence)

        rules: dict[str, Callable[[Any], str]] = {
            "uscc": usccs.__getitem__,
            "uscc_in": lambda old: f"{old[0]}{usccs[old[1]]}{old[2]}",
            "filer_id": lambda old: str(filer_id_for(usccs[self.filer_usccs[old]])),
            "product_id": lambda old: str(_copy_product_id(UUID(old), copy)),
            "patent": patents.__getitem__,
            "model": models.__getitem__,
            "filer_name": lambda old: f"{old}{COPY_MARK.format(copy=copy)}",
            "dispute_id": lambda old: _copy_dispute_id(old, copy),
            "filing_number": number,
            "sequence": lambda old: str(copy * self.series[old[0]][2] + old[1]),
        }

        keys: dict[tuple[int, str, str], str] = {}  # a key is a hole and names a reservation

        def value(kind: str, old: Any) -> str:
            if kind == "key":
                found = keys.get(old[:3])
                if found is None:
                    found = keys[old[:3]] = key(old)
                return found
            return rules[kind](old)

        return value

    def _hole_bytes(self, copy: int, value: Callable[[str, Any], str]) -> list[bytes]:
        if copy == 0:
            return [_encoded(kind, _template_value(kind, old)) for kind, old in self.holes]
        return [_encoded(kind, value(kind, old)) for kind, old in self.holes]

    def _aggregate_ids(self, copy: int, value: Callable[[str, Any], str]) -> list[UUID]:
        ids: list[UUID] = []
        for kind, source, template_id in self.aggregates:
            if copy == 0 or kind == "series":
                ids.append(template_id)
            elif kind == "filer":
                ids.append(filer_id_for(value("uscc", source)))
            elif kind == "product":
                ids.append(_copy_product_id(source, copy))
            elif kind == "reservation":
                rule, name, model = source
                key = value("key", (rule, name, model, ""))
                ids.append(reservation_id(KeyRule(rule), key))
            elif kind == "conversion":
                uscc, patent = source
                ids.append(conversion_record_id(value("uscc", uscc), value("patent", patent)))
            else:
                raise TemplateError(f"unknown aggregate kind {kind!r}")
        return ids

    def copy(self, copy: int, stop: int | None = None) -> Iterator[list[UnsignedEvent]]:
        """Copy ``copy``'s events (the template's first ``stop`` events at most, cut at a save
        boundary at or after ``stop``), save by save, unsigned."""
        if not 0 <= copy <= self.max_copies():
            raise ValueError(f"copy {copy}: want 0..{self.max_copies()}")
        value = self._identities(copy)
        values = self._hole_bytes(copy, value)
        ids = self._aggregate_ids(copy, value)
        issued_offsets = {
            index: copy * self.series[str(source)][2]
            for index, (kind, source, _) in enumerate(self.aggregates)
            if kind == "series"
        }
        save: list[UnsignedEvent] = []
        for number, event in enumerate(self.events):
            if event.starts_save:
                if save:
                    yield save
                save = []
                if stop is not None and number >= stop:
                    return
            topic, segments = event.topic, event.segments
            if copy and event.issued is not None:
                topic, segments = event.issued
            state = b"".join(part if isinstance(part, bytes) else values[part] for part in segments)
            version = event.version + issued_offsets.get(event.aggregate, 0)
            save.append(UnsignedEvent(ids[event.aggregate], version, topic, state))
        if save:
            yield save


def _template_value(kind: str, old: Any) -> str:
    """The template's own value of a hole (copy 0)."""
    if kind == "uscc_in":
        return "".join(old)
    if kind in ("key", "filing_number"):
        return str(old[-1])  # (rule, name, model, key), (series, sequence, number)
    if kind == "sequence":
        return str(old[1])  # (series, sequence)
    return str(old)


def _encoded(kind: str, value: str) -> bytes:
    if kind == "sequence":
        return value.encode()
    return encode_canonical_plain(value)


def compile_template(database: Path) -> Template:
    """Read a store the sample was loaded into and compile its events for copying.

    Raises:
        TemplateError: the store holds an event the generator cannot copy faithfully (an
            unknown topic, a save larger than one seal chunk, a state that is not canonical,
            an identity of two kinds).
    """
    rows = _read_events(database)
    states = [_parse_state(oid, version, stored) for oid, version, _, stored, _ in rows]
    facts = _Facts()
    for (oid, version, topic, _, _), (_, tree) in zip(rows, states, strict=True):
        facts.learn(UUID(oid), version, topic, tree)
    holes = _Holes()
    aggregates: dict[UUID, int] = {}
    aggregate_list: list[tuple[str, Any, UUID]] = []
    events: list[_Event] = []
    for (oid, version, topic, _, starts_save), (raw, tree) in zip(rows, states, strict=True):
        originator = UUID(oid)
        if originator not in aggregates:
            aggregates[originator] = len(aggregate_list)
            aggregate_list.append((*facts.aggregate(originator, topic), originator))
        issued = None
        if topic == SERIES_OPENED:
            issued_tree = {
                key: value
                for key, value in tree.items()
                if key not in ("originator_topic", "region_code", "year")
            }
            issued = (SERIES_ISSUED, facts.segments(str(originator), issued_tree, holes, None))
        segments = facts.segments(str(originator), tree, holes, raw)
        events.append(_Event(aggregates[originator], version, topic, segments, issued, starts_save))
    series = {
        str(oid): (year, region, facts.versions[oid])
        for oid, (year, region) in facts.series.items()
    }
    return Template(
        events,
        aggregate_list,
        list(holes.numbers),
        facts.usccs,
        facts.filer_ids,
        facts.patent_ranks(),
        facts.models,
        series,
    )


def _read_events(database: Path) -> list[tuple[str, int, str, bytes, bool]]:
    """(originator id, version, topic, stored state, starts a save) in notification order."""
    connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        ).fetchall()
    finally:
        connection.close()
    out = []
    for oid, version, topic, stored in rows:
        envelope = parse_envelope(UUID(oid), version, stored)
        if envelope.save_size > SEAL_CHUNK:
            raise TemplateError(f"a save of {envelope.save_size} events: want one seal chunk")
        out.append((str(UUID(oid)), int(version), str(topic), bytes(stored), envelope.index == 0))
    return out


def _parse_state(originator: str, version: int, stored: bytes) -> tuple[bytes, dict[str, Any]]:
    state = parse_envelope(UUID(originator), version, stored).state
    tree = json.loads(state)
    if encode_canonical_plain(tree) != state:
        raise TemplateError(f"event {originator} v{version}: its state does not re-encode")
    if b"@@" in state:
        raise TemplateError(f"event {originator} v{version}: '@@' would be taken for a hole")
    return state, tree


class _Facts:
    """What the compilation learns of the template's identities before it compiles events."""

    def __init__(self) -> None:
        self.usccs: dict[str, _Uscc] = {}
        self.filer_ids: dict[str, str] = {}  # filer id text -> USCC
        self.filer_names: set[str] = set()
        self.products: set[str] = set()
        self.patents: set[str] = set()
        self.models: set[str] = set()
        self.keys: dict[str, tuple[int, str, str]] = {}  # key -> (rule, name, model)
        self.reservations: dict[UUID, tuple[int, str, str]] = {}  # (rule, name, model)
        self.conversions: dict[UUID, tuple[str, str]] = {}
        self.disputes: set[str] = set()
        self.series: dict[UUID, tuple[int, str]] = {}
        self.versions: dict[UUID, int] = {}
        self.numbers: dict[str, tuple[str, int]] = {}  # filing number -> (series id, sequence)
        self.kinds: dict[UUID, str] = {}

    def _uscc(self, value: str) -> None:
        if value not in self.usccs:
            self.usccs[value] = _parse_uscc(value, len(self.usccs))

    def learn(self, originator: UUID, version: int, topic: str, tree: dict[str, Any]) -> None:
        if topic not in KNOWN_TOPICS:
            raise TemplateError(f"topic {topic}: the generator does not know how to copy it")
        self.versions[originator] = version
        aggregate_topic, event = topic.rsplit(".", 1)
        self.kinds.setdefault(originator, aggregate_topic)
        if event == "FilerRegistered":
            self._uscc(tree["uscc"])
            self.filer_ids[str(originator)] = tree["uscc"]
            self.filer_names.add(tree["name"])
        elif event == "ProductFiled":
            self.products.add(str(originator))
            self.models.add(tree["model"])
            for rule in KeyRule:
                key = product_key(rule, tree["name"], tree["model"])
                # One key string under both rules (they fold this name and model alike): the
                # copy's key is then one string under both as well (its tag is ASCII digits).
                known = self.keys.setdefault(key, (int(rule), tree["name"], tree["model"]))
                if known[1:] != (tree["name"], tree["model"]):
                    raise TemplateError(f"key {key!r} of two filings")
            self._patents(tree["patents"])
        elif event == "ProductRevised":
            self._patents(tree["patents"])
        elif event == "ProductKeyReserved":
            rule, key = tree.get("key_rule", 1), tree["canonical_key"]
            _, name, model = self.keys[key]
            self.reservations[originator] = (rule, name, model)
        elif event == "ConversionRecordOpened":
            self._uscc(tree["institution_uscc"])
            self.patents.add(tree["patent_number"])
            self.conversions[originator] = (tree["institution_uscc"], tree["patent_number"])
        elif event == "OwnershipDisputeRaised":
            self.disputes.add(tree["dispute_id"])
        elif event == "FilingNumberSeriesOpened":
            self.series[originator] = (tree["year"], tree["region_code"])
        if "filing_number" in tree and aggregate_topic == SERIES:
            number = parse_filing_number(tree["filing_number"])
            self.numbers[tree["filing_number"]] = (str(originator), number.sequence)

    def _patents(self, declarations: Sequence[dict[str, Any]]) -> None:
        self.patents.update(declaration["number"] for declaration in declarations)

    def patent_ranks(self) -> dict[str, tuple[int, int, str]]:
        """Each patent's rank within its (year, type) group, the group's size and the head
        (year and type digit) its copies keep: new serials in the old order."""
        groups: dict[str, list[str]] = {}
        for number in self.patents:
            digits = number.split(".")[0]
            if len(digits) != 12:
                raise TemplateError(f"patent {number}: want a 12-digit application number")
            groups.setdefault(digits[:5], []).append(number)
        ranks = {}
        for head, numbers in groups.items():
            for rank, number in enumerate(sorted(numbers)):
                ranks[number] = (rank, len(numbers), head)
        return ranks

    def aggregate(self, originator: UUID, topic: str) -> tuple[str, Any]:
        kind = topic.rsplit(".", 1)[0]
        if kind == FILER:
            return "filer", self.filer_ids[str(originator)]
        if kind == PRODUCT:
            return "product", originator
        if kind == RESERVATION:
            return "reservation", self.reservations[originator]
        if kind == CONVERSION:
            return "conversion", self.conversions[originator]
        if kind == SERIES:
            return "series", originator
        raise TemplateError(f"aggregate of {topic}: unknown kind")

    def _plain_kinds(self) -> tuple[tuple[str, Container[str]], ...]:
        """The kinds whose hole is the template value itself."""
        return (
            ("uscc", self.usccs),
            ("filer_id", self.filer_ids),
            ("product_id", self.products),
            ("patent", self.patents),
            ("model", self.models),
            ("filer_name", self.filer_names),
            ("dispute_id", self.disputes),
        )

    def kind_of(self, value: str) -> tuple[str, Any] | None:
        """The hole a template string is, or None (a literal)."""
        found: list[tuple[str, Any]] = [
            (kind, value) for kind, known in self._plain_kinds() if value in known
        ]
        if value in self.keys:  # only as a canonical_key (``_mark``)
            raise TemplateError(f"product key {value!r} outside a canonical_key")
        if value in self.numbers:
            found.append(("filing_number", self.numbers[value]))
        if len(found) > 1:
            raise TemplateError(f"{value!r} is an identity of two kinds: {found}")
        if found:
            return found[0]
        for match in _USCC_LIKE.finditer(value):  # an actor id or a reference naming a USCC
            if match.group() in self.usccs:
                return "uscc_in", (value[: match.start()], match.group(), value[match.end() :])
        if _UUID_TEXT.fullmatch(value) and UUID(value) in self.kinds:
            raise TemplateError(f"id {value} of a {self.kinds[UUID(value)]} is not replaced")
        return None

    def segments(
        self, originator: str, tree: dict[str, Any], holes: _Holes, raw: bytes | None
    ) -> tuple[bytes | int, ...]:
        """The state as literal bytes and hole numbers (``raw``: its stored bytes, to check)."""
        marked = self._mark(tree, holes, originator)
        encoded = encode_canonical_plain(marked)
        parts: list[bytes | int] = []
        position = 0
        for match in _HOLE.finditer(encoded):
            parts.append(encoded[position : match.start()])
            parts.append(int(match.group(1)))
            position = match.end()
        parts.append(encoded[position:])
        if raw is not None:
            kinds = list(holes.numbers)
            rebuilt = b"".join(
                part
                if isinstance(part, bytes)
                else _encoded(kinds[part][0], _template_value(*kinds[part]))
                for part in parts
            )
            if rebuilt != raw:
                raise TemplateError(f"event {originator}: its compiled state differs")
        return tuple(part for part in parts if part != b"")

    def _mark(self, tree: Any, holes: _Holes, originator: str) -> Any:
        if isinstance(tree, dict):
            marked = {}
            for key, value in tree.items():
                if key == "sequence" and isinstance(value, int):
                    number = holes.number("sequence", (originator, value))
                    marked[key] = f"@@{number}@@"
                elif key == "canonical_key":  # its rule: the reservation's, else v1 (a filing)
                    _, name, model = self.keys[value]
                    rule = tree.get("key_rule", int(KeyRule.V1))
                    number = holes.number("key", (rule, name, model, value))
                    marked[key] = f"@@{number}@@"
                elif key == "_type_" and value == "uuid_hex":
                    raise TemplateError(f"event {originator}: a typed UUID, not handled")
                else:
                    marked[key] = self._mark(value, holes, originator)
            return marked
        if isinstance(tree, list):
            return [self._mark(item, holes, originator) for item in tree]
        if isinstance(tree, str):
            hole = self.kind_of(tree)
            if hole is None:
                return tree
            if hole[0] == "filing_number":
                hole = ("filing_number", (*hole[1], tree))
            return f"@@{holes.number(*hole)}@@"
        return tree


# --- the template store -------------------------------------------------------------------------
def ensure_template(cache: Path, seed: int = TEMPLATE_SEED) -> Path:
    """The SQLite file of the sample of ``seed`` loaded through the commands (cached)."""
    directory = cache / f"template-seed{seed}"
    database = directory / "ledger.sqlite3"
    if database.exists():
        return database
    building = cache / f"template-seed{seed}.building"
    shutil.rmtree(building, ignore_errors=True)
    started = time.perf_counter()
    ledger = open_ledger(settings_for(building / "data", fresh_sqlite_url(building, "ledger")))
    try:
        summary = load_sample(ledger, seed)
    finally:
        ledger.close()
    print(
        f"template: sample seed {seed} loaded through the commands, {summary.events_added:,} "
        f"events in {time.perf_counter() - started:.1f} s (cached in {directory})",
        flush=True,
    )
    building.rename(directory)
    return database


# --- a generated store --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GeneratedStore:
    """A cached generated store: its SQLite file, key directory and what it holds."""

    directory: Path
    events: int
    copies: int  # copies begun (the last one may be cut short)
    checkpoint_every: int
    seconds: float  # generation time, end to end
    template_events: int

    @property
    def database(self) -> Path:
        return self.directory / "ledger.sqlite3"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def settings(self) -> Settings:
        return settings_for(self.data_dir, f"sqlite:///{self.database}")

    @classmethod
    def load(cls, directory: Path) -> GeneratedStore | None:
        description = directory / "store.json"
        if not description.exists():
            return None
        facts = json.loads(description.read_text(encoding="utf-8"))
        return cls(
            directory,
            facts["events"],
            facts["copies"],
            facts["checkpoint_every"],
            facts["seconds"],
            facts["template_events"],
        )

    def describe(self) -> None:
        facts = {
            "events": self.events,
            "copies": self.copies,
            "checkpoint_every": self.checkpoint_every,
            "seconds": round(self.seconds, 1),
            "template_events": self.template_events,
            "generator": GENERATOR_VERSION,
        }
        (self.directory / "store.json").write_text(json.dumps(facts, indent=2) + "\n", "utf-8")


def store_directory(cache: Path, events: int, checkpoint_every: int = CHECKPOINT_EVERY) -> Path:
    suffix = "" if checkpoint_every == CHECKPOINT_EVERY else f"-cp{checkpoint_every}"
    return cache / f"store-{events}{suffix}"


def ensure_store(
    cache: Path,
    events: int,
    *,
    checkpoint_every: int = CHECKPOINT_EVERY,
    producers: int = 1,
    index_process: bool = True,
    progress: Callable[[int, float], None] | None = None,
) -> GeneratedStore:
    """The cached generated store of ``events`` events (generated if missing)."""
    directory = store_directory(cache, events, checkpoint_every)
    cached = GeneratedStore.load(directory)
    if cached is not None:
        return cached
    template = compile_template(ensure_template(cache))
    building = directory.with_name(directory.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    store = generate_store(
        building,
        template,
        events,
        checkpoint_every=checkpoint_every,
        producers=producers,
        index_process=index_process,
        progress=progress,
    )
    building.rename(directory)
    moved = GeneratedStore.load(directory)
    if moved is None:
        raise RuntimeError(f"{directory}: the store was not described")
    return moved if moved.events == store.events else store


SealedEvent = tuple[bytes, int, str, bytes]  # originator id bytes, version, topic, envelope
_producer: tuple[Template, EventSigner] | None = None  # a producer process's own


def _start_producer(template: Template, key_file: Path) -> None:
    global _producer  # noqa: PLW0603 (one per worker process, set once by its initializer)
    _producer = (template, EventSigner(load_private_key(key_file)))


def _sealed_copy(copy: int, stop: int | None) -> list[SealedEvent]:
    """Copy ``copy`` of the producer's template, each save sealed by its signer."""
    if _producer is None:
        raise RuntimeError("the producer process was not started")
    return seal_copy(*_producer, copy, stop)


def seal_copy(
    template: Template, signer: EventSigner, copy: int, stop: int | None
) -> list[SealedEvent]:
    """Copy ``copy``'s events, each save sealed as ``SigningEventStore`` seals a save."""
    sealed: list[SealedEvent] = []
    for save in template.copy(copy, stop):
        envelopes = signer.seal_save(save)
        sealed += [
            (event.originator_id.bytes, event.version, event.topic, envelope)
            for event, envelope in zip(save, envelopes, strict=True)
        ]
    return sealed


class _Writer:
    """Inserts sealed events through the ledger's recorder in large transactions, sequencing
    after each (checkpoints every sequencer batch, then the product index)."""

    def __init__(self, ledger: SignedPatentLedger, log: TransparencyLog, batch: int) -> None:
        self.ledger = ledger
        self.log = log
        self.batch = batch
        self.pending: list[StoredEvent] = []
        self.written = 0

    def add(self, sealed: Sequence[SealedEvent]) -> None:
        for start in range(0, len(sealed), self.batch):
            part = sealed[start : start + self.batch]
            self.pending += [
                StoredEvent(UUID(bytes=oid), version, topic, state)
                for oid, version, topic, state in part
            ]
            if len(self.pending) >= self.batch:
                self.flush()

    def flush(self) -> None:
        if self.pending:
            self.ledger.recorder.insert_events(self.pending)
            self.written += len(self.pending)
            self.pending = []
        self.log.sequence()


def signing_key_file(settings: Settings) -> Path:
    """The file of the key the ledger signs with (``open_keyring``'s choice)."""
    return settings.signing_key_file or settings.key_dir / DEV_KEY_FILENAME


def _follow_index(data_dir: Path, database_url: str, done: Event) -> None:
    """The product index of the store, kept up in a process of its own until ``done`` (then
    brought up to the last checkpoint): ``ProductIndexLog.catch_up``, as the log's loop runs
    it, reading the events back from the store."""
    settings = settings_for(data_dir, database_url)
    ledger = open_ledger(settings)
    log = open_transparency_log(ledger, settings)
    try:
        if log.index is None:
            raise RuntimeError("the log keeps no product index")
        while True:
            finished = done.is_set()
            log.index.catch_up()
            if finished:
                return
            time.sleep(INDEX_POLL_SECONDS)
    finally:
        log.store.close()
        ledger.close()


def _produce(
    template: Template,
    key_file: Path,
    stops: Sequence[int | None],
    producers: int,
    processes: BaseContext,
    write: Callable[[Sequence[SealedEvent]], None],
) -> None:
    """Copies sealed by ``producers`` processes, written in order as they come."""
    with ProcessPoolExecutor(
        producers, mp_context=processes, initializer=_start_producer, initargs=(template, key_file)
    ) as pool:
        ahead: deque[Future[list[SealedEvent]]] = deque()
        for copy, stop in enumerate(stops):
            ahead.append(pool.submit(_sealed_copy, copy, stop))
            if len(ahead) > producers + 1:
                write(ahead.popleft().result())
        while ahead:
            write(ahead.popleft().result())


def generate_store(
    directory: Path,
    template: Template,
    events: int,
    *,
    checkpoint_every: int = CHECKPOINT_EVERY,
    producers: int = 1,
    index_process: bool = True,
    progress: Callable[[int, float], None] | None = None,
) -> GeneratedStore:
    """Write a store of ``events`` events (cut at the first save boundary at or after it)
    into a new ``directory``: copies 0, 1, 2, ... of the template, sequenced and indexed.

    Three kinds of work, in parallel when there are cores for them: ``producers`` processes
    copy and seal (0: this process does); this process inserts and sequences; with
    ``index_process`` the product index follows the checkpoints in a process of its own (as
    ``ppl log follow`` beside the API would), else this process indexes after each sequencing.

    Raises:
        ValueError: more events than the template's identities allow.
        RuntimeError: the index process failed.
    """
    copies = -(-events // template.size)
    if copies - 1 > template.max_copies():
        raise ValueError(f"{events:,} events need {copies:,} copies: at most "
                         f"{template.max_copies() + 1:,} fit")  # fmt: skip
    stops = [events - copy * template.size if copy == copies - 1 else None
             for copy in range(copies)]  # fmt: skip
    url = fresh_sqlite_url(directory, "ledger")
    settings = settings_for(directory / "data", url)
    ledger = open_ledger(settings)
    log = open_transparency_log(ledger, settings)
    log.sequencer.batch_size = checkpoint_every
    keyring = ledger.keyring
    if keyring is None:
        raise ValueError("the generated store must be signed")
    processes = multiprocessing.get_context("spawn")  # no SQLite connection crosses a fork
    done = processes.Event()
    indexer = None
    if index_process:
        log.index, log.sequencer.recent = None, None  # the index process reads the store
        indexer = processes.Process(
            target=_follow_index, args=(directory / "data", url, done), name="ppl-index"
        )
        indexer.start()
    started = time.perf_counter()
    try:
        writer = _Writer(ledger, log, INSERT_BATCH)

        def write(sealed: Sequence[SealedEvent]) -> None:
            writer.add(sealed)
            if progress is not None:
                progress(writer.written + len(writer.pending), time.perf_counter() - started)

        if producers < 1:
            for copy, stop in enumerate(stops):
                write(seal_copy(template, keyring.signer, copy, stop))
        else:
            key_file = signing_key_file(settings)
            _produce(template, key_file, stops, producers, processes, write)
        writer.flush()
        written = writer.written
    finally:
        done.set()
        if indexer is not None:
            indexer.join()
        log.store.close()
        ledger.close()
    if indexer is not None and indexer.exitcode != 0:
        raise RuntimeError(f"the index process failed (exit code {indexer.exitcode})")
    seconds = time.perf_counter() - started
    _check_indexed(directory / "ledger.sqlite3", written)
    _checkpoint_wal(directory / "ledger.sqlite3")
    store = GeneratedStore(directory, written, copies, checkpoint_every, seconds, template.size)
    store.describe()
    return store


def _check_indexed(database: Path, events: int) -> None:
    """The log and the product index both reached the last event."""
    connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        (logged,) = connection.execute("SELECT tree_size FROM ppl_log_position").fetchone()
        (indexed,) = connection.execute("SELECT tree_size FROM ppl_index_position").fetchone()
    finally:
        connection.close()
    if not logged == indexed == events:
        raise RuntimeError(f"log at {logged}, index at {indexed}: want both at {events}")


def _checkpoint_wal(database: Path) -> None:
    """Fold the WAL into the file, so a copy of the file alone is the whole store."""
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


# --- checking it --------------------------------------------------------------------------------
def export_and_verify(store: GeneratedStore, bundle: Path) -> tuple[VerificationReport, float]:
    """Export the store's bundle (as ``ppl audit export``) and verify it with the keys pinned
    (as ``ppl audit verify --keys --log-key``); (report, verification seconds)."""
    settings = store.settings()
    ledger = open_ledger(settings)
    log = open_transparency_log(ledger, settings)
    try:
        export_bundle(
            bundle,
            store=log.store,
            origin=log.origin,
            log_key=log.signer.verifier_key_string(),
            event_keys=KeyManifest.load(settings.public_keys_file).to_json(),
            read_notifications=lambda start, limit: ledger.recorder.select_notifications(
                start=start, limit=limit
            ),
            exported_at=system_now(),
            index_notes=list(log.index.store.notes(log.size()).values()) if log.index else [],
        )
        log_key = NoteVerifier.from_verifier_key_string(log.signer.verifier_key_string())
    finally:
        log.store.close()
        ledger.close()
    started = time.perf_counter()
    report = verify_bundle(
        bundle, event_keys=KeyManifest.load(settings.public_keys_file), log_key=log_key
    )
    return report, time.perf_counter() - started


class Progress:
    """Prints the events written and sequenced so far, at most every ``every`` seconds (the
    index process may lag behind: the store is complete when the generator returns)."""

    def __init__(self, every: float = 30.0, label: str = "  ") -> None:
        self.every = every
        self.label = label
        self.last = 0.0

    def __call__(self, written: int, seconds: float) -> None:
        if seconds - self.last >= self.every:
            self.last = seconds
            print(f"{self.label}{written:>11,} events written and sequenced  {seconds:7.0f} s  "
                  f"{written / seconds:8,.0f} ev/s (the index follows)", flush=True)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.log_generator",
        description="Generate (and cache) a large signed, sequenced, indexed store (issue #20).",
    )
    parser.add_argument("--events", type=float, default=1e5, help="events (e.g. 1e6)")
    parser.add_argument("--checkpoint-every", type=int, default=CHECKPOINT_EVERY)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--rebuild", action="store_true", help="generate it again")
    parser.add_argument("--verify", action="store_true", help="export and verify_bundle it")
    parser.add_argument(
        "--producers", type=int, default=1, help="processes that copy and seal (0: none)"
    )
    parser.add_argument(
        "--index-here", action="store_true", help="index in this process, not in one of its own"
    )
    args = parser.parse_args(argv)
    events = int(args.events)
    if events < 1 or args.checkpoint_every < 1:
        parser.error("want --events >= 1 and --checkpoint-every >= 1")
    cache: Path = args.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    if args.rebuild:
        shutil.rmtree(store_directory(cache, events, args.checkpoint_every), ignore_errors=True)

    store = ensure_store(
        cache,
        events,
        checkpoint_every=args.checkpoint_every,
        producers=args.producers,
        index_process=not args.index_here,
        progress=Progress(),
    )
    print(
        f"store: {store.events:,} events ({store.copies:,} copies of {store.template_events:,}), "
        f"a checkpoint every {store.checkpoint_every:,}; generated in {store.seconds:.1f} s = "
        f"{store.rate:,.0f} events/s; {store.directory}"
    )
    if args.verify:
        bundle = store.directory / "bundle.jsonl"
        report, seconds = export_and_verify(store, bundle)
        bundle.unlink()
        print(
            f"verify_bundle: {report.events:,} events, {len(report.checkpoints):,} checkpoints, "
            f"{seconds:.1f} s = {report.events / seconds:,.0f} events/s; warnings: "
            f"{report.warnings or 'none'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
