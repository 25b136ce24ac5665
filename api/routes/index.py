"""The product index (issue #19, docs/product-index.md): lookups with proofs, under ``/v1/index``.

* ``GET /v1/index`` — the latest index note: the maps' roots at the latest indexed checkpoint.
* ``GET /v1/index/products?name=&model=`` (or ``?key_rule=&key=``) — each key of the product
  (key rules v1 and v2) with its value and a proof of presence, or a proof of absence.
* ``GET /v1/index/patents/{number}`` — the filings that declare, lost or dropped a patent.

Every answer carries the signed index note and the checkpoint of the same tree size (with its
witness cosignatures), so ``ppl audit check-product`` / ``check-patent`` verify it with the
log's public key alone. Public: a value names filings by id with the leaf indices of their
events and a digest of their registry row — never a figure. The rows themselves (name, model,
status…) are added only for filings the caller may see in the registry (api.access).

Proofs are against the latest indexed checkpoint (the maps' rows are their current state): 404
``index_not_available`` before the first, 503 ``index_busy`` when the index moved under every
attempt to read it, 500 ``ledger_integrity_failure`` when the stored maps do not prove the
signed roots.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParameter
from pydantic import BaseModel, Field, JsonValue

from api.access import sees_product
from api.deps import Caller, ReadModels, merkle_log
from api.problems import ApiProblemError, problem_responses
from api.responses import OrjsonResponse
from api.tokens import Principal
from api.wire import response_examples
from audit.log.index_lookup import (
    IndexBusyError,
    IndexIntegrityError,
    IndexLookup,
    IndexNotAvailableError,
    IndexReader,
    IndexSnapshot,
)
from audit.log.log_store import CheckpointRecord
from audit.offline.product_index import (
    INDEXED_RULES,
    KEY_SEPARATOR,
    PATENTS,
    PRODUCT_KEYS,
    keys_of,
    patent_key_bytes,
    product_key_bytes,
)
from audit.offline.product_key import KeyRule
from domain.values import PatentNumber, clean_text
from projections import queries
from projections.store import ProjectionStore

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/index", tags=["product index"])

_PROBLEMS = problem_responses(404, 422, 500, 503)


class IndexLookupView(BaseModel):
    """One key's answer."""

    map: str = Field(description="`product-keys` or `patents`")
    key: str = Field(description="The map key as text (`<rule>` U+001E `<product key>`)")
    key_rule: int | None = Field(default=None, description="The key rule (product keys)")
    product_key: str | None = Field(default=None, description="The product key (product keys)")
    path: str = Field(description="SHA-256 map path of the key, hex")
    present: bool
    value: dict[str, Any] | None = Field(description="The value (parsed), null when absent")
    value_bytes: str | None = Field(description="The value's exact bytes, base64")
    proof: str = Field(description="The sparse map v1 proof, base64")


_NOTE_EXAMPLE = (
    "ppl-product-index/v1\nppl.local/patent-product-ledger\n5539\n"
    "5bqY…Q5c=\nproduct-keys 3690 Vk…7as=\npatents 2410 yA…3b8=\n\n"
    "— ppl.local/patent-product-ledger Az3c…==\n"
)
_CHECKPOINT_EXAMPLE = (
    "ppl.local/patent-product-ledger\n5539\n5bqY…Q5c=\n\n"
    "— ppl.local/patent-product-ledger Az3c…==\n"
)
_VALUE_EXAMPLE: dict[str, JsonValue] = {
    "filings": [{"leaves": [120, 121, 904], "product_id": "1f0c…", "row": "77aa…2678"}],
    "format": "ppl-index/product-key/v1", "holder": "1f0c…", "key": "智能温控阀\u001ftv100",
    "key_rule": 1, "reservation": {"id": "9b1e…", "leaves": [121]},
}  # fmt: skip


class IndexAnswer(BaseModel):
    """Lookups against one signed index note and its checkpoint."""

    model_config = response_examples(
        {
            "tree_size": 5539, "checkpoint": _CHECKPOINT_EXAMPLE, "index_note": _NOTE_EXAMPLE,
            "lookups": [
                {"map": "product-keys", "key": "1\u001e智能温控阀\u001ftv100", "key_rule": 1,
                 "product_key": "智能温控阀\u001ftv100", "path": "627b…d77a", "present": True,
                 "value": _VALUE_EXAMPLE, "value_bytes": "eyJmaWxpbmdzIjpb…", "proof": "AQAV…AQ=="},
            ],
            "rows": {},
        }
    )  # fmt: skip

    tree_size: int
    checkpoint: str = Field(description="The C2SP checkpoint of this tree size, cosigned")
    index_note: str = Field(description="The signed index note of this tree size")
    lookups: list[IndexLookupView]
    rows: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Committed registry rows of the filings named, for those the caller "
        "may see in the registry",
    )


class IndexHead(BaseModel):
    """The latest index note, its checkpoint and each map's root and entries."""

    model_config = response_examples(
        {
            "tree_size": 5539, "checkpoint": _CHECKPOINT_EXAMPLE, "index_note": _NOTE_EXAMPLE,
            "maps": {"product-keys": {"entries": 3690, "root": "5662…eeab"},
                     "patents": {"entries": 2410, "root": "c80f…dfbf"}},
        }
    )  # fmt: skip

    tree_size: int
    checkpoint: str
    index_note: str
    maps: dict[str, dict[str, Any]]


def _reader(request: Request) -> IndexReader:
    reader = merkle_log(request).index_reader()
    if reader is None:
        raise ApiProblemError("index_not_available", "this ledger keeps no product index")
    return reader


def _checkpoint(request: Request, snapshot: IndexSnapshot) -> str:
    """The checkpoint of the index note's size with its witness cosignatures (its signed note
    read with the index note when the lookup read it)."""
    log = merkle_log(request)
    size = snapshot.tree_size
    if snapshot.checkpoint_note is not None and snapshot.cosigned:
        return snapshot.checkpoint_note
    if snapshot.checkpoint_note is not None:
        record = CheckpointRecord(size, snapshot.note.log_root, snapshot.checkpoint_note, "")
    else:
        found = log.store.checkpoint(size)
        if found is None:  # the index only indexes stored checkpoints
            raise ApiProblemError("ledger_integrity_failure", f"no checkpoint of size {size}")
        record = found
    return log.cosigned_note(record)


def _lookup(
    request: Request, keys: list[tuple[bytes, bytes]]
) -> tuple[IndexSnapshot, list[IndexLookup]]:
    try:
        return _reader(request).lookup(keys)
    except IndexNotAvailableError as exc:
        raise ApiProblemError("index_not_available", str(exc)) from exc
    except IndexBusyError as exc:
        raise ApiProblemError("index_busy", str(exc), headers={"Retry-After": "1"}) from exc
    except IndexIntegrityError as exc:
        logger.error("product index: %s", exc)
        raise ApiProblemError("ledger_integrity_failure", str(exc)) from exc


def _view(found: IndexLookup) -> dict[str, Any]:
    """One lookup as IndexLookupView documents it (a plain dict: the answer is rendered
    without pydantic's validation of values it built itself, a large share of a lookup's
    time)."""
    text = found.key.decode("utf-8")
    rule: int | None = None
    product_key: str | None = None
    if found.map_id == PRODUCT_KEYS:
        head, _, product_key = text.partition(KEY_SEPARATOR)
        rule = int(head)
    return {
        "map": found.map_id.decode("ascii"),
        "key": text,
        "key_rule": rule,
        "product_key": product_key,
        "path": found.path.hex(),
        "present": found.value is not None,
        "value": None if found.value is None else json.loads(found.value),
        "value_bytes": None if found.value is None else base64.b64encode(found.value).decode(),
        "proof": base64.b64encode(found.proof.encode()).decode("ascii"),
    }


def _visible_rows(
    request: Request, principal: Principal, store: ProjectionStore, views: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The committed rows of the filings the values name that the caller may see (the
    registry rows of all of them in one read, then their committed rows in one more)."""
    values = [
        view["value"]
        for view in views
        if view["value"] is not None and view["map"] == PRODUCT_KEYS.decode()
    ]
    named = [f["product_id"] for value in values for f in value["filings"]]
    if not named:
        return {}
    registry = queries.products_by_id(store, named)
    visible = [i for i, row in registry.items() if sees_product(principal, row)]
    return _reader(request).rows(values, visible)


def _answer(
    request: Request, principal: Principal, store: ProjectionStore, keys: list[tuple[bytes, bytes]]
) -> OrjsonResponse:
    snapshot, found = _lookup(request, keys)
    views = [_view(f) for f in found]
    return OrjsonResponse(
        {
            "tree_size": snapshot.tree_size,
            "checkpoint": _checkpoint(request, snapshot),
            "index_note": snapshot.signed_note,
            "lookups": views,
            "rows": _visible_rows(request, principal, store, views),
        }
    )


@router.get(
    "",
    summary="The product index's latest roots",
    response_model=IndexHead,
    responses=problem_responses(404, 503),
)
def index_head(request: Request) -> IndexHead:
    """The latest signed index note, the checkpoint of its tree size and each map's root and
    number of entries."""
    try:
        snapshot = _reader(request).latest()
    except IndexNotAvailableError as exc:
        raise ApiProblemError("index_not_available", str(exc)) from exc
    return IndexHead(
        tree_size=snapshot.tree_size,
        checkpoint=_checkpoint(request, snapshot),
        index_note=snapshot.signed_note,
        maps={
            map_id.decode(): {"entries": head.entries, "root": head.root.hex()}
            for map_id, head in snapshot.note.maps.items()
        },
    )


NAME_MAX = 200  # a filing's name and model (domain.application.file_product)
QUERY_TEXT_MAX = 400  # a name or model as typed, before clean_text measures it against 200
KEY_MAX = 2000  # a product key as text: both parts after the key rule (NFKC may expand them)
Text = Annotated[str | None, Query(max_length=QUERY_TEXT_MAX)]
KeyText = Annotated[str | None, Query(max_length=KEY_MAX)]


def _product_keys(name: str, model: str | None) -> list[tuple[bytes, bytes]]:
    """The map keys of a product under each indexed rule, derived as a filing derives them
    (the name and model cleaned first: domain.values.clean_text)."""
    clean_name = clean_text(name, field="name", max_length=NAME_MAX)
    clean_model = (
        clean_text(model, field="model", max_length=NAME_MAX)
        if model is not None and model.strip()
        else ""
    )
    derived = keys_of(clean_name, clean_model)
    if int(KeyRule.V1) not in derived:
        raise ApiProblemError("query_invalid", "the name is empty under key rule v1", field="name")
    return [
        (PRODUCT_KEYS, product_key_bytes(rule, derived[int(rule)]))
        for rule in INDEXED_RULES
        if int(rule) in derived
    ]


@router.get(
    "/products",
    summary="Who holds a product key, with a proof",
    response_model=IndexAnswer,
    responses=_PROBLEMS,
)
def index_products(
    request: Request,
    principal: Caller,
    store: ReadModels,
    name: Text = None,
    model: Text = None,
    key_rule: Annotated[int | None, Query(ge=1, le=2)] = None,
    key: KeyText = None,
) -> OrjsonResponse:
    """The product's key under each indexed key rule (from `name` and `model`, as a filing
    derives them) — or one key given as `key_rule` and `key` — with its value and a proof of
    presence, or a proof of absence: "which filing holds this product, and which filings
    ever had its key". 422 `query_invalid` for neither or both forms, or a name the key
    rules leave empty."""
    if name is not None and key is None and key_rule is None:
        keys = _product_keys(name, model)
    elif name is None and model is None and key is not None and key_rule is not None:
        if KEY_SEPARATOR in key:
            raise ApiProblemError("query_invalid", "a product key has no U+001E", field="key")
        keys = [(PRODUCT_KEYS, product_key_bytes(key_rule, key))]
    else:
        raise ApiProblemError(
            "query_invalid", "give name (and model), or key_rule and key", field="name"
        )
    return _answer(request, principal, store, keys)


@router.get(
    "/patents/{number}",
    summary="Which filings declare a patent, with a proof",
    response_model=IndexAnswer,
    responses=_PROBLEMS,
)
def index_patent(
    request: Request,
    principal: Caller,
    store: ReadModels,
    number: Annotated[str, PathParameter(max_length=40, examples=["ZL202110182616.5"])],
) -> OrjsonResponse:
    """The filings that declare the patent now, lost it to an upheld ownership claim, or no
    longer declare it after a revision — or a proof that no filing ever declared it. The number
    is read as filings record it (`ZL` and spaces dropped); 422 `patent_number_invalid`
    otherwise."""
    canonical = PatentNumber.parse(number).value
    return _answer(request, principal, store, [(PATENTS, patent_key_bytes(canonical))])
