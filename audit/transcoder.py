"""eventsourcing Transcoder that writes canonical JSON (audit.canonical) quickly.

orjson with sorted keys produces the same bytes as the standard-library reference encoder for
the value subset that :func:`audit.canonical.to_canonical_tree` admits (tests check this with
hypothesis), and it is several times faster on the append path.
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import Transcoder, Transcoding

from audit.canonical import from_canonical_tree, to_canonical_tree
from audit.errors import NonCanonicalValueError


class CanonicalTranscoder(Transcoder):
    """Encodes event state as canonical JSON; refuses floats and other unsigned-able values."""

    def register(self, transcoding: Transcoding) -> None:
        """Custom transcodings are refused: every signed value must have one documented form."""
        raise NonCanonicalValueError(
            f"transcoding {transcoding.name!r} refused: events carry only canonical JSON values"
        )

    def encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(to_canonical_tree(obj), option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError as exc:
            raise NonCanonicalValueError(f"cannot encode event state: {exc}") from exc

    def decode(self, data: bytes) -> Any:
        return from_canonical_tree(orjson.loads(data))
