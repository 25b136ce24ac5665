"""The transparency log as a C2SP tlog-tiles log (c2sp.org/tlog-tiles), under ``/tlog``.

Why: a tiled log is a handful of static, cacheable resources — the signed checkpoint, hash
tiles, entry bundles — from which any client computes every root and proof itself, with
off-the-shelf tooling (witnesses, monitors, the tlog-tiles clients of Go, Rust and Python)
instead of this API's own proof documents. The tiles are the stored nodes of the log
(audit.log.tiles); nothing here computes a second tree.

* ``GET /tlog/checkpoint`` — the C2SP signed note of the published checkpoint with its
  witness cosignatures, as ``served_checkpoint_note`` (the one place that decides what it
  says) gives it. Mutable: ``no-cache``. 404 ``log_not_available`` before the first checkpoint.
* ``GET /tlog/tile/<L>/<N>[.p/<W>]`` — hash tiles: hashes only, public, like the proofs by
  leaf index. Immutable: cached for a year by anyone.
* ``GET /tlog/tile/entries/<N>[.p/<W>]`` — entry bundles: each entry is the log leaf data of a
  stored event, the signed envelope byte for byte, with every figure of every filing and
  filer in it. **Auditors only**, exactly as the audit bundle, which holds the same events
  (401 without a token, 403 for another role); ``Cache-Control: private`` so no shared cache
  keeps a copy for others. Compressed (gzip) when the client accepts it, as the spec asks.

Only tiles the latest signed checkpoint covers exist; anything else well-formed is 404
``tile_not_found`` (``no-store``: it may exist soon), a path that names no tile is 400
``malformed_tile_path``. Non-200 answers are problem+json, never a page (api.problems): tiles
clients treat any of them as "absent". An entry longer than a bundle's uint16 length prefix
is 500 ``entry_too_large`` naming its leaf; a tile that does not match the stored tree is 500
``ledger_integrity_failure`` — never served. Not rate-limited: each request reads at most 256
rows (api.rate_limits classes only the requests that read the whole log or replay it).
"""

from __future__ import annotations

import gzip
import logging
from typing import Annotated, Final

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParameter
from fastapi.responses import PlainTextResponse

from api.deps import Auditor, merkle_log
from api.problems import ApiProblemError, problem_responses
from api.routes.ledger import EXAMPLE_NOTE
from audit.log.tiles import (
    EntryTooLargeError,
    FullTileCache,
    TileNotFoundError,
    TilePath,
    TilePathError,
    TileReader,
    parse_tile_path,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/tlog", tags=["tiled log (C2SP tlog-tiles)"])

TILE_MEDIA_TYPE: Final = "application/octet-stream"
CHECKPOINT_MEDIA_TYPE: Final = "text/plain; charset=utf-8"
CHECKPOINT_CACHE: Final = "no-cache"
PUBLIC_IMMUTABLE: Final = "public, max-age=31536000, immutable"
PRIVATE_IMMUTABLE: Final = "private, max-age=31536000, immutable"
GZIP_LEVEL: Final = 6


def _binary(example: str) -> dict[str, object]:
    """OpenAPI content of a binary answer (its example only says what the bytes are)."""
    return {TILE_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}, "example": example}}


def served_checkpoint_note(request: Request) -> str:
    """The checkpoint ``/tlog/checkpoint`` serves: the log's published checkpoint (under a
    witness policy, the latest its quorum cosigned — docs/witnesses.md) with the witnesses'
    cosignature lines after the log's signature, as ``GET /v1/log/checkpoint`` serves it.

    Raises:
        ApiProblemError: ``log_not_available`` before the first checkpoint.
    """
    log = merkle_log(request)
    published = log.published()
    if published is None:
        raise ApiProblemError("log_not_available", "the log has no signed checkpoint yet")
    return log.cosigned_note(published)


def _reader(request: Request) -> TileReader:
    """A reader over the app's log, sharing the app's cache of full hash tiles."""
    log = merkle_log(request)
    cache: FullTileCache = request.app.state.full_tiles
    return TileReader(log.store, log.sequencer.read_notifications, cache)


def _tile(path: str, *, entries: bool) -> TilePath:
    """The tile ``path`` (below ``/tlog/``) names, of the kind the route serves."""
    try:
        tile = parse_tile_path(path)
    except TilePathError as exc:
        raise ApiProblemError("malformed_tile_path", str(exc)) from exc
    if tile.entries is not entries:  # unreachable through the routes: "entries/" is matched first
        raise ApiProblemError("malformed_tile_path", f"tile path {path!r}: not served here")
    return tile


def _absent(exc: TileNotFoundError) -> ApiProblemError:
    return ApiProblemError("tile_not_found", str(exc), headers={"Cache-Control": "no-store"})


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Does ``Accept-Encoding`` allow gzip (RFC 9110 §12.5.3)? ``gzip`` or ``x-gzip`` with a
    quality above 0, or else ``*`` with one; an explicit ``gzip;q=0`` refuses it."""
    wildcard: bool | None = None
    for item in (accept_encoding or "").split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        coding = coding.lower()
        if coding in ("gzip", "x-gzip"):
            return quality > 0
        if coding == "*":
            wildcard = quality > 0
    return bool(wildcard)


TileLocation = Annotated[
    str,
    PathParameter(
        description="`<L>/<N>[.p/<W>]`: level 0 to 63, index in 3-digit groups (all but the last "
        "prefixed `x`: 1234067 is `x001/x234/067`), optional partial width 1 to 255",
        examples=["0/x001/234", "1/000.p/17"],
    ),
]
EntriesLocation = Annotated[
    str,
    PathParameter(
        description="`<N>[.p/<W>]`: the bundle's index in 3-digit groups (all but the last "
        "prefixed `x`), optional partial width 1 to 255",
        examples=["000", "x001/234.p/112"],
    ),
]


@router.get(
    "/checkpoint",
    summary="The tiled log's checkpoint",
    description="The published checkpoint, a C2SP signed note (c2sp.org/tlog-checkpoint) "
    "as c2sp.org/tlog-tiles serves it: origin, tree size, base64 root, the log's Ed25519 "
    "signature line (verifier key: `GET /v1/keys`), then one line per witness cosignature; "
    "under a witness policy the latest checkpoint its quorum cosigned (docs/witnesses.md). "
    "Mutable, `Cache-Control: no-cache`. "
    "Public. 404 `log_not_available` before the first checkpoint.",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "C2SP signed note",
            "content": {"text/plain": {"example": EXAMPLE_NOTE}},
        },
        **problem_responses(404, 503),
    },
)
def checkpoint(request: Request) -> PlainTextResponse:
    return PlainTextResponse(
        served_checkpoint_note(request),
        media_type=CHECKPOINT_MEDIA_TYPE,
        headers={"Cache-Control": CHECKPOINT_CACHE},
    )


@router.get(
    "/tile/entries/{location:path}",
    summary="An entry bundle",
    description='The log leaf data (docs/merkle-log.md, "Leaves") of leaves N·256 … N·256 + '
    "W - 1, each after its length as a big-endian uint16; each hashes (RFC 6962 leaf hash) to "
    "its hash in the level-0 tile. The entries are the signed events, confidential figures "
    "included: **auditors only** (401 without a token, 403 another role). gzip-encoded when "
    "`Accept-Encoding` allows it. Only bundles the latest signed checkpoint covers exist (404 "
    "`tile_not_found`); 400 `malformed_tile_path` for a path that names no bundle; 500 "
    "`entry_too_large` for an event longer than 65,535 bytes (`leaf_index` names it).",
    response_class=Response,
    responses={
        200: {
            "description": "Entry bundle",
            "content": _binary("<per entry: its length (2 bytes, big-endian), its log leaf data>"),
        },
        **problem_responses(400, 401, 403, 404, 500, 503),
    },
)
def entry_bundle(request: Request, _: Auditor, location: EntriesLocation) -> Response:
    tile = _tile(f"tile/entries/{location}", entries=True)
    try:
        bundle = _reader(request).entry_bundle(tile)
    except TileNotFoundError as exc:
        raise _absent(exc) from exc
    except EntryTooLargeError as exc:
        logger.error("entry bundle %s: %s", request.url.path, exc)
        raise ApiProblemError(
            "entry_too_large", str(exc), leaf_index=exc.leaf_index, size=exc.size
        ) from exc
    headers = {"Cache-Control": PRIVATE_IMMUTABLE, "Vary": "Accept-Encoding"}
    if accepts_gzip(request.headers.get("accept-encoding")):
        bundle = gzip.compress(bundle, compresslevel=GZIP_LEVEL, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(bundle, media_type=TILE_MEDIA_TYPE, headers=headers)


@router.get(
    "/tile/{location:path}",
    summary="A hash tile",
    description="The Merkle tree hashes of tile N at level L: hash i is the RFC 6962 hash of "
    "leaves [(N·256 + i)·256^L, (N·256 + i + 1)·256^L), i < W (W = 256 for a full tile: "
    "8,192 bytes). Hashes only: public. Immutable, cached for a year. Only tiles the latest "
    "signed checkpoint covers exist (404 `tile_not_found`); 400 `malformed_tile_path` for a "
    "path that names no tile.",
    response_class=Response,
    responses={
        200: {
            "description": "Hash tile, 32·W bytes",
            "content": _binary("<W SHA-256 hashes of 32 bytes: 8,192 bytes in a full tile>"),
        },
        **problem_responses(400, 404, 500, 503),
    },
)
def hash_tile(request: Request, location: TileLocation) -> Response:
    tile = _tile(f"tile/{location}", entries=False)
    try:
        hashes = _reader(request).hash_tile(tile)
    except TileNotFoundError as exc:
        raise _absent(exc) from exc
    return Response(hashes, media_type=TILE_MEDIA_TYPE, headers={"Cache-Control": PUBLIC_IMMUTABLE})
