"""The domain event classes the read models handle, named once.

Why: eventsourcing creates these classes from the ``@event`` decorators, so type checkers do
not see them as attributes; looking each up here, checked, keeps the handlers' tables typed
and fails at import (not at the first event) if a domain event is renamed.
"""

from __future__ import annotations

from domain.benchmarks import BenchmarkTable
from domain.certification import ProductCertification
from domain.certification_opt_in import CertificationOptIn
from domain.certification_round import CertificationRound
from domain.conversion import PatentConversion
from domain.filer import Filer
from domain.objection import Objection
from domain.product import Product
from domain.reservation import ProductKeyReservation
from domain.statistics_publication import StatisticsPublication


def _event_class(aggregate: type, name: str) -> type:
    found = getattr(aggregate, name, None)
    if not isinstance(found, type):
        raise ImportError(f"{aggregate.__name__} has no event class {name}")
    return found


FILER_REGISTERED = _event_class(Filer, "FilerRegistered")
FILER_REAL_NAME_VERIFIED = _event_class(Filer, "FilerRealNameVerified")
FILER_APPROVED = _event_class(Filer, "FilerApproved")
FILER_REJECTED = _event_class(Filer, "FilerRejected")
FILER_RESUBMITTED = _event_class(Filer, "FilerResubmitted")
FILER_MOVE_CONFIRMED = _event_class(Filer, "FilerRegionMoveConfirmed")

PRODUCT_FILED = _event_class(Product, "ProductFiled")
FILING_APPROVED = _event_class(Product, "FilingApproved")
FILING_REJECTED = _event_class(Product, "FilingRejected")
PRODUCT_REVISED = _event_class(Product, "ProductRevised")
PRODUCT_WITHDRAWN = _event_class(Product, "ProductWithdrawn")
DISPUTE_RAISED = _event_class(Product, "OwnershipDisputeRaised")
DISPUTE_RESOLVED = _event_class(Product, "OwnershipDisputeResolved")
DISPUTE_ACCEPTED = _event_class(Product, "OwnershipDisputeAccepted")
FILING_NUMBER_ASSIGNED = _event_class(Product, "FilingNumberAssigned")

KEY_RESERVED = _event_class(ProductKeyReservation, "ProductKeyReserved")
KEY_REASSIGNED = _event_class(ProductKeyReservation, "ProductKeyReassigned")
KEY_MIGRATED = _event_class(ProductKeyReservation, "ProductKeyMigrated")

CONVERSION_OPENED = _event_class(PatentConversion, "ConversionRecordOpened")
CONVERSION_REPORTED = _event_class(PatentConversion, "ConversionReported")

BENCHMARKS_DEFINED = _event_class(BenchmarkTable, "BenchmarkTableDefined")
BENCHMARKS_REVISED = _event_class(BenchmarkTable, "BenchmarkTableRevised")

ROUND_OPENED = _event_class(CertificationRound, "CertificationRoundOpened")
EVALUATION_STARTED = _event_class(CertificationRound, "CertificationEvaluationStarted")
CERTIFIED_LIST_PUBLISHED = _event_class(CertificationRound, "CertifiedListPublished")

OPTED_IN = _event_class(CertificationOptIn, "CertificationOptedIn")

CERTIFIED = _event_class(ProductCertification, "Certified")
NOT_CERTIFIED = _event_class(ProductCertification, "NotCertified")
NOT_ELIGIBLE = _event_class(ProductCertification, "NotEligible")
CERTIFICATION_REVOKED = _event_class(ProductCertification, "CertificationRevoked")

OBJECTION_FILED = _event_class(Objection, "ObjectionFiled")
OBJECTION_DISMISSED = _event_class(Objection, "ObjectionDismissed")
OBJECTION_UPHELD = _event_class(Objection, "ObjectionUpheld")

STATISTICS_PUBLISHED = _event_class(StatisticsPublication, "StatisticsPublished")
