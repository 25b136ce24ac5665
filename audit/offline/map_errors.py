"""The error of the verifiable map's proofs (audit.offline.sparse_map, docs/product-index.md).

Its own module so the map's core can grow beside errors.py without touching it; it joins the
one family (``VerificationError``), so every caller that handles a verification failure
handles this one too, and ``ppl audit`` gives it the family's exit code until the map has a row
of its own in the exit-code table (issue #19).
"""

from __future__ import annotations

from audit.offline.errors import VerificationError


class MapProofError(VerificationError):
    """A proof of presence or absence in a sparse map does not hold, or is not a proof at all.

    Names the key's path (hex; ``None`` when bytes are decoded without a key), the element of
    the proof that failed (``"format"``, ``"depth"``, ``"bitmap"``, ``"sibling 3"``,
    ``"terminal"``, ``"root"``, …), the depth it sits at when it has one, and why.
    """

    def __init__(
        self, path: str | None, element: str, reason: str, depth: int | None = None
    ) -> None:
        where = f"map proof for path {path}" if path is not None else "map proof"
        at = f" (depth {depth})" if depth is not None else ""
        super().__init__(f"{where}: {element}{at}: {reason}")
        self.path = path
        self.element = element
        self.reason = reason
        self.depth = depth
