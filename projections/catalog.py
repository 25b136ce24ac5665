"""Every read model, by name: what ``ppl projections`` rebuilds, digests and follows."""

from __future__ import annotations

from collections.abc import Iterable

from projections.audit_trail import AuditTrail
from projections.certification_register import CertificationRegister
from projections.conversion_stats import ConversionStatistics
from projections.filer_registry import FilerRegistry
from projections.model import ReadModel
from projections.product_keys import ProductKeys
from projections.product_registry import ProductRegistry
from projections.published_stats import PublishedStatistics
from projections.regional_stats import RegionalStatistics

MODEL_CLASSES: tuple[type[ReadModel], ...] = (
    ProductRegistry,
    FilerRegistry,
    RegionalStatistics,
    ConversionStatistics,
    AuditTrail,
    CertificationRegister,
    ProductKeys,
    PublishedStatistics,
)
NAMES: tuple[str, ...] = tuple(cls.name for cls in MODEL_CLASSES)


class UnknownProjectionError(ValueError):
    """A projection name that is not one of ``NAMES``."""


def models(names: Iterable[str] = ()) -> list[ReadModel]:
    """Fresh instances of the named read models (all of them when ``names`` is empty)."""
    wanted = list(names) or list(NAMES)
    unknown = [name for name in wanted if name not in NAMES]
    if unknown:
        raise UnknownProjectionError(
            f"unknown projection {', '.join(unknown)}: want one of {', '.join(NAMES)}"
        )
    return [cls() for cls in MODEL_CLASSES if cls.name in wanted]
