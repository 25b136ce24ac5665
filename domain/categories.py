"""The industry categories, conversion categories and filer kinds a command accepts.

Why a module of its own: domain/values.py passed 1,000 lines (issue #16); these closed lists
and their Chinese labels are one concern. ``domain.values`` re-exports them.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from enum import StrEnum
from typing import ClassVar, Final, Self

from domain.errors import CategoryInvalidError


class ClosedList(StrEnum):
    """A closed list of values a command accepts; each subclass names itself with ``what``.

    Why a base: the industry categories, conversion categories and filer kinds are looked up
    and refused the same way, so the lookup and its refusal are written once (``parse``).
    """

    what: ClassVar[str]

    def __init_subclass__(cls, *, what: str, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.what = what

    @classmethod
    def parse(cls, raw: str) -> Self:
        """The member whose value is ``raw``, surrounding whitespace stripped.

        Raises:
            CategoryInvalidError: no member has that value; the message lists every value.
        """
        try:
            return cls(raw.strip())
        except ValueError:
            raise CategoryInvalidError(
                f"unknown {cls.what}: got {raw!r}, want one of {', '.join(cls)}", value=raw
            ) from None


class IndustryCategory(ClosedList, what="industry category"):
    """Top categories of 《知识产权(专利)密集型产业统计分类(2019)》.

    Benchmarks are set per industry field, so the category decides which benchmark a product
    is evaluated against. Values are the official two-digit codes.
    """

    ict_manufacturing = "01"
    ict_services = "02"
    new_equipment_manufacturing = "03"
    new_materials = "04"
    pharmaceuticals_and_medical = "05"
    environmental_protection = "06"
    rnd_design_and_technical_services = "07"

    @property
    def label(self) -> str:
        """English label, as in the domain brief."""
        return _INDUSTRY_LABELS[self][0]

    @property
    def label_zh(self) -> str:
        """Official Chinese name of the category."""
        return _INDUSTRY_LABELS[self][1]


_INDUSTRY_LABELS: Final[Mapping[IndustryCategory, tuple[str, str]]] = types.MappingProxyType(
    {
        IndustryCategory.ict_manufacturing: ("ICT manufacturing", "信息通信技术制造业"),
        IndustryCategory.ict_services: ("ICT services", "信息通信技术服务业"),
        IndustryCategory.new_equipment_manufacturing: (
            "new equipment manufacturing",
            "新装备制造业",
        ),
        IndustryCategory.new_materials: ("new materials", "新材料制造业"),
        IndustryCategory.pharmaceuticals_and_medical: (
            "pharmaceuticals and medical",
            "医药医疗产业",
        ),
        IndustryCategory.environmental_protection: ("environmental protection", "环保产业"),
        IndustryCategory.rnd_design_and_technical_services: (
            "R&D, design and technical services",
            "研发、设计和技术服务业",
        ),
    }
)

_FINER_CODE_MIN: Final = 3
_FINER_CODE_MAX: Final = 6


def parse_industry(category: str, finer_code: str | None) -> tuple[IndustryCategory, str | None]:
    """Parse a top category code and an optional finer code beneath it.

    The finer code must sit under the category (start with its two digits), otherwise a
    product would be benchmarked in one field and counted in another.

    Raises:
        CategoryInvalidError: unknown category, or a finer code that is not 3 to 6 ASCII
            digits starting with the category code.
    """
    top = IndustryCategory.parse(category)
    if finer_code is None:
        return top, None
    finer = finer_code.strip()
    if not (_FINER_CODE_MIN <= len(finer) <= _FINER_CODE_MAX and _is_ascii_digits(finer)):
        raise CategoryInvalidError(
            f"industry finer code must be 3 to 6 digits: got {finer_code!r}, "
            f"want e.g. '{top.value}01'",
            value=finer_code,
        )
    if not finer.startswith(top.value):
        raise CategoryInvalidError(
            f"industry finer code is not under category {top.value}: got {finer!r}, "
            f"want a code starting with {top.value!r}",
            value=finer_code,
        )
    return top, finer


class ConversionCategory(ClosedList, what="conversion category"):
    """What became of an institution's stock patent (存量专利盘活 feedback)."""

    assigned = "assigned"
    equity_contribution = "equity_contribution"
    open_licence = "open_licence"
    ordinary_licence = "ordinary_licence"
    sole_licence = "sole_licence"
    exclusive_licence = "exclusive_licence"
    industrialised_by_licensee = "industrialised_by_licensee"
    industrialised_by_partner = "industrialised_by_partner"
    patent_pool = "patent_pool"

    @property
    def label_zh(self) -> str:
        """The wording of the official feedback form."""
        return _CONVERSION_LABELS_ZH[self]

    @classmethod
    def parse(cls, raw: str) -> Self:
        """The category named by its value or by its Chinese label (the feedback form's
        wording, as institutions fill it in); the event records the value either way."""
        for category, label in _CONVERSION_LABELS_ZH.items():
            if raw.strip() == label:
                return cls(category.value)
        return super().parse(raw)


_CONVERSION_LABELS_ZH: Final[Mapping[ConversionCategory, str]] = types.MappingProxyType(
    {
        ConversionCategory.assigned: "已转让",
        ConversionCategory.equity_contribution: "已作价入股",
        ConversionCategory.open_licence: "已达成开放许可",
        ConversionCategory.ordinary_licence: "已达成普通许可",
        ConversionCategory.sole_licence: "已达成排他许可",
        ConversionCategory.exclusive_licence: "已达成独占许可",
        ConversionCategory.industrialised_by_licensee: "已由被许可人实现产业化",
        ConversionCategory.industrialised_by_partner: (
            "已通过技术服务合同或技术开发合同约定由合作企业实现产业化"
        ),
        ConversionCategory.patent_pool: "已参与专利池运营",
    }
)


class FilerKind(ClosedList, what="filer kind"):
    """The kinds of independent legal entity that may register as a filer."""

    enterprise = "enterprise"
    university_or_institute = "university_or_institute"
    new_rnd_institution = "new_rnd_institution"
    social_organization = "social_organization"


def _is_ascii_digits(text: str) -> bool:
    """``str.isdigit`` also accepts e.g. U+0661; codes are ASCII digits only."""
    return text.isascii() and text.isdigit()
