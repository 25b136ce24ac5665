"""Checks an index answer offline: who holds a product key, which filings declare a patent.

An *answer* is what ``GET /v1/index/products`` or ``GET /v1/index/patents/{number}`` returns
(docs/product-index.md, "Lookups"): a checkpoint, the index note of its tree size, and per key
the value bytes with a proof of presence, or a proof of absence. ``check_answer`` trusts
nothing of it but the log's key (and, with a policy, the witnesses'):

(1) the checkpoint verifies under the log's key and origin (and meets the witness quorum);
(2) the index note verifies under the same key and names that checkpoint (origin, size, root);
(3) the caller's own keys: the map keys are derived *here* from the name and model (both key
    rules, audit.offline.product_key) or the patent number — every one must be answered, and
    nothing else;
(4) each proof verifies against its map's root in the note; a value is the canonical JSON of
    what the key maps to, for this very key;
(5) optionally, the filing's trail: given single-event evidence (audit.offline.tlog_proof,
    verified by the caller) for events of a filing the value names, each must sit at the leaf
    the value lists for its version, and with evidence for every listed leaf the trail is
    complete — versions 1…n, none left out;
(6) optionally, registry rows (the answer's ``rows``, or a row a registry showed): each must
    hash to the digest the value commits to, or the differing fields are named.

Every failure raises a ``VerificationError`` naming the element (MapProofError: exit code 25;
IndexNoteError: 26; the note and checkpoint errors: 20, 24). Standard library and
``cryptography`` only.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audit.offline.canonical import decode_canonical
from audit.offline.checkpoint import Checkpoint, verify_checkpoint
from audit.offline.cosignature import WitnessPolicy
from audit.offline.errors import MapProofError, NonCanonicalValueError
from audit.offline.index_encoding import PRODUCT_KEY_VALUE, REGISTRY_ROW
from audit.offline.index_note import IndexNote, verify_index_note
from audit.offline.note import NoteVerifier
from audit.offline.product_index import (
    PATENT_VALUE,
    PATENTS,
    PRODUCT_KEYS,
    keys_of,
    patent_key_bytes,
    product_key_bytes,
    row_digest,
)
from audit.offline.sparse_map import MapProof, map_path, verify_absence, verify_presence
from audit.offline.tlog_proof import VerifiedEvidence

ROW_FIELDS = (
    "product_id", "filer_uscc", "name", "model", "status", "data_year", "filing_number",
    "patents", "removed_patents", "version",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CheckedKey:
    """One map key's proven answer: its value (``None``: proven absent)."""

    map_id: bytes
    key: bytes
    value: dict[str, Any] | None


@dataclass
class CheckedAnswer:
    """What an answer proves, at one checkpoint."""

    checkpoint: Checkpoint
    note: IndexNote
    keys: list[CheckedKey]
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # product id -> checked row
    complete_trails: list[str] = field(default_factory=list)  # product ids


def _fail(key: bytes | None, element: str, reason: str) -> MapProofError:
    path = None if key is None else repr(key.decode("utf-8", "replace"))
    return MapProofError(path, element, reason)


def _b64(text: object, key: bytes, element: str) -> bytes:
    if not isinstance(text, str):
        raise _fail(key, element, f"got {type(text).__name__}, want base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise _fail(key, element, "not standard base64") from None


def product_map_keys(name: str, model: str) -> list[tuple[bytes, bytes]]:
    """The map keys a product has under the indexed key rules (what an answer must cover)."""
    return [(PRODUCT_KEYS, product_key_bytes(r, k)) for r, k in keys_of(name, model).items()]


def patent_map_keys(number: str) -> list[tuple[bytes, bytes]]:
    return [(PATENTS, patent_key_bytes(number))]


def check_answer(
    answer: Mapping[str, Any],
    wanted: Sequence[tuple[bytes, bytes]],
    *,
    log_key: NoteVerifier,
    origin: str,
    witnesses: WitnessPolicy | None = None,
    evidence: Sequence[VerifiedEvidence] = (),
    rows: Sequence[object] = (),
    now: int | None = None,
) -> CheckedAnswer:
    """Verify an index answer for the map keys ``wanted`` (steps in the module docstring).

    Raises:
        audit.offline.errors.VerificationError: the first check that fails, naming it.
    """
    # (1) checkpoint, (2) index note
    if not isinstance(answer, Mapping):
        raise _fail(None, "answer", f"got {type(answer).__name__}, want a JSON object")
    signed_checkpoint, signed_note = answer.get("checkpoint"), answer.get("index_note")
    if not isinstance(signed_checkpoint, str) or not isinstance(signed_note, str):
        raise _fail(None, "answer", "want the checkpoint and index_note texts")
    checkpoint = verify_checkpoint(signed_checkpoint, log_key, origin=origin)
    if witnesses is not None and witnesses.requires_witnesses:
        witnesses.require(signed_checkpoint, now=int(time.time()) if now is None else now)
    note = verify_index_note(signed_note, log_key, checkpoint)
    # (3) the keys asked for, and only those
    lookups = answer.get("lookups")
    if not isinstance(lookups, list):
        raise _fail(None, "answer", "want a list of lookups")
    given: dict[tuple[bytes, bytes], Mapping[str, Any]] = {}
    for lookup in lookups:
        if not isinstance(lookup, Mapping) or not isinstance(lookup.get("key"), str):
            raise _fail(None, "answer", "a lookup without its key")
        map_name = lookup.get("map")
        map_id = PRODUCT_KEYS if map_name == "product-keys" else PATENTS
        if map_name not in ("product-keys", "patents"):
            raise _fail(None, "answer", f"a lookup in map {map_name!r}")
        given[(map_id, lookup["key"].encode("utf-8"))] = lookup
    missing = [key for key in wanted if key not in given]
    if missing:
        raise _fail(missing[0][1], "answer", "the answer has no lookup of this key")
    extra = sorted(set(given) - set(wanted))
    if extra:
        raise _fail(extra[0][1], "answer", "the answer looks up a key that was not asked for")
    # (4) each proof, each value
    checked = [_check_lookup(note, map_id, key, given[(map_id, key)]) for map_id, key in wanted]
    result = CheckedAnswer(checkpoint, note, checked)
    filings = {
        f["product_id"]: f
        for c in checked
        if c.value is not None and c.map_id == PRODUCT_KEYS
        for f in c.value["filings"]
    }
    # (5) trails, (6) rows
    result.complete_trails = _check_trails(filings, evidence)
    for row in rows:
        if not isinstance(row, Mapping):
            raise MapProofError(None, "row", f"got {type(row).__name__}, want a JSON object")
        result.rows[str(row.get("product_id"))] = check_row(row, filings)
    return result


def _check_lookup(
    note: IndexNote, map_id: bytes, key: bytes, lookup: Mapping[str, Any]
) -> CheckedKey:
    path = map_path(map_id, key)
    proof = MapProof.decode(_b64(lookup.get("proof"), key, "proof"))
    root = note.head(map_id).root
    raw = lookup.get("value_bytes")
    if raw is None:
        verify_absence(root, path, proof)
        return CheckedKey(map_id, key, None)
    value_bytes = _b64(raw, key, "value")
    verify_presence(root, path, value_bytes, proof)
    try:
        value = decode_canonical(value_bytes)
    except NonCanonicalValueError as exc:
        raise _fail(key, "value", f"not canonical JSON: {exc}") from None
    if not isinstance(value, dict):
        raise _fail(key, "value", "want a JSON object")
    _check_value(map_id, key, value)
    return CheckedKey(map_id, key, value)


def _check_value(map_id: bytes, key: bytes, value: Mapping[str, Any]) -> None:
    """The value is of its map's format and names its own key (a value is committed by the
    log's signature on the root; a value of another key would be the log's own error)."""
    if map_id == PRODUCT_KEYS:
        rule, _, text = key.decode("utf-8").partition("\x1e")
        want = {"format": PRODUCT_KEY_VALUE, "key_rule": int(rule), "key": text}
        filings = value.get("filings")
        if not isinstance(filings, list) or not all(
            isinstance(f, Mapping)
            and isinstance(f.get("product_id"), str)
            and isinstance(f.get("leaves"), list)
            and isinstance(f.get("row"), str)
            for f in filings
        ):
            raise _fail(key, "value", "want filings with product_id, leaves and row")
    else:
        want = {"format": PATENT_VALUE, "number": key.decode("utf-8")}
    for name, expected in want.items():
        if value.get(name) != expected:
            raise _fail(key, "value", f"{name} is {value.get(name)!r}, want {expected!r}")


def _check_trails(
    filings: Mapping[str, Mapping[str, Any]], evidence: Sequence[VerifiedEvidence]
) -> list[str]:
    """Each proven event of a named filing sits where the value says; returns the filings
    whose every listed event was proven (their trail is complete)."""
    proven: dict[str, dict[int, int]] = {}
    for event in evidence:
        product_id = str(event.originator_id)
        if product_id not in filings:
            continue
        leaves = filings[product_id]["leaves"]
        at = leaves[event.version - 1] if 1 <= event.version <= len(leaves) else None
        if at != event.leaf_index:
            raise MapProofError(
                product_id,
                "trail",
                f"event v{event.version} is at leaf {event.leaf_index}, the index lists "
                + ("no such version" if at is None else f"leaf {at}")
                + ": the committed trail leaves it out",
            )
        proven.setdefault(product_id, {})[event.version] = event.leaf_index
    return sorted(
        product_id
        for product_id, versions in proven.items()
        if len(versions) == len(filings[product_id]["leaves"])
    )


def committed_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """A registry row reduced to what the index commits to: a committed row as it is, or a
    registry view (``GET /v1/products/{id}``) with its patents as numbers."""
    fields = {name: row.get(name) for name in ROW_FIELDS}
    patents = fields["patents"]
    if isinstance(patents, list) and patents and isinstance(patents[0], Mapping):
        fields["patents"] = sorted(str(p.get("number")) for p in patents)
    if fields["removed_patents"] is None:
        fields["removed_patents"] = []
    return {"format": REGISTRY_ROW, **fields}


def check_row(row: Mapping[str, Any], filings: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The row of a filing the answer names hashes to the digest committed for it.

    Raises:
        MapProofError: element ``row``: the filing is not named, or the digest differs.
    """
    product_id = str(row.get("product_id"))
    filing = filings.get(product_id)
    if filing is None:
        raise MapProofError(product_id, "row", "no value of the answer names this filing")
    fields = committed_fields(row)
    if row_digest(fields) != filing["row"]:
        raise MapProofError(
            product_id,
            "row",
            "this row is not the one committed (a registry ahead of the checkpoint shows a "
            f"newer version; committed version {len(filing['leaves'])}, shown "
            f"{fields['version']})",
        )
    return fields


@dataclass(frozen=True, slots=True)
class KeyVerdict:
    """What one proven product key says about "never filed twice"."""

    rule: int
    key: str
    holder: str | None
    filings: tuple[str, ...]
    judgement: str  # what the filings of the key say, in words
    filed_twice: bool = False


def judge_key(found: CheckedKey, rows: Mapping[str, Mapping[str, Any]]) -> KeyVerdict:
    """Judge a proven product key by its filings (docs/product-index.md, "Never filed twice,
    from one proof"): one filing; or earlier filings withdrawn by the holder's own filer and
    the key moved to its re-filing (the rule of docs/never-filed-twice.md); filings from
    before the key's rule with no reservation are one product for a reviewer, not a
    duplicate. Anything else with a holder is filed twice — judged from the committed rows,
    so filings whose rows the caller may not see leave it unjudged."""
    rule, _, text = found.key.decode("utf-8").partition("\x1e")
    if found.value is None:
        return KeyVerdict(int(rule), text, None, (), "absent: no filing has this key")
    holder = found.value["holder"]
    filings = tuple(str(f["product_id"]) for f in found.value["filings"])
    verdict = KeyVerdict(int(rule), text, holder, filings, "")
    if len(filings) == 1:
        return _with(verdict, "one filing holds it")
    if holder is None:
        return _with(verdict, f"{len(filings)} filings from before key rule v{rule} (a reviewer's)")
    others = [p for p in filings if p != holder]
    if any(p not in rows for p in [holder, *others]):
        return _with(verdict, f"{len(filings)} filings: rows not shown, not judged")
    owner = rows[holder]["filer_uscc"]
    if all(rows[p]["status"] == "withdrawn" and rows[p]["filer_uscc"] == owner for p in others):
        return _with(verdict, "re-filed by its filer after withdrawal: one product, one holder")
    return KeyVerdict(int(rule), text, holder, filings, "FILED TWICE", filed_twice=True)


def _with(verdict: KeyVerdict, judgement: str) -> KeyVerdict:
    return KeyVerdict(verdict.rule, verdict.key, verdict.holder, verdict.filings, judgement)


def answer_rows(answer: object) -> list[object]:
    """The committed rows an answer carries (its ``rows`` object's values), as given: each is
    checked by ``check_answer`` like any other row. Raises: MapProofError: ``rows`` is not an
    object."""
    if not isinstance(answer, Mapping):
        return []
    rows = answer.get("rows", {})
    if not isinstance(rows, Mapping):
        raise MapProofError(None, "rows", f"got {type(rows).__name__}, want a JSON object")
    return list(rows.values())
