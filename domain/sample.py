# ruff: noqa: RUF001  (Chinese prose takes full-width commas and parentheses, as Chinese does)
"""A deterministic sample data set: Shanghai's 2023 filing season, loaded through the commands.

Why it exists: projections, regional statistics, the audit trail and the API all need a store
that looks like the real one: exactly the published per-district numbers of filers and
successfully filed products (shanghai_2023_by_district.csv, as of 24 Jul 2023), plus everything
that must *not* show up in those numbers (filers still in review or rejected, rejected or pending
filings, filings revised to a newer data year and back in review, withdrawals, ownership
disputes, refused duplicates) and the institutions' conversion feedback.

How it is built:

1. A *plan* is drawn from ``random.Random(seed)``: filers, products, conversions and, for each,
   a story (a chain of commands with times). Every identifier (USCCs, filing ids, dispute ids)
   and every timestamp is a pure function of the seed, so two stores loaded with one seed hold
   the same events byte for byte; with the same signing key the signatures match too, as
   Ed25519 signatures are deterministic.
2. The stories are merged into one timeline over the working hours of 3 Jan - 24 Jul 2023
   (09:00-18:00 Beijing time, weekends and the 2023 public holidays off, make-up working days
   on) and run in order through ``PatentLedger`` under a simulated clock
   (:func:`domain.clock.using_clock`). Nothing is written around the commands, so the sample
   passes every rule a real filing passes and its events are signed like any other.
3. Each step knows the aggregate version it brings about and is skipped when the store already
   shows that version, so a second load of a seed adds no event and an interrupted load resumes
   where it stopped. When the last step of the timeline is already there the load returns at
   once.

Distinct seeds never share a USCC or a product key as long as they differ modulo
:data:`SEED_SPAN`: those codes come from bijections of (seed, index), not from chance, so
several seeds can coexist in one store.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final, NamedTuple
from uuid import UUID, uuid5

from domain.actor import Actor, Role
from domain.application import PatentLedger
from domain.clock import using_clock
from domain.conversion import conversion_record_id
from domain.declarations import Contact, EconomicFigures, PatentDeclaration
from domain.errors import DuplicateProductError
from domain.filer import filer_id_for
from domain.product import DisputeOutcome
from domain.values import (
    LEGACY_REGION_CODES,
    USCC_ALPHABET,
    ConversionCategory,
    FilerKind,
    IndustryCategory,
    patent_check_char,
    uscc_check_char,
)

__all__ = [
    "SAMPLE_NAMESPACE",
    "SEED_SPAN",
    "SHANGHAI_2023_BY_DISTRICT",
    "TARGET_EXPORTS_FEN",
    "TARGET_SALES_FEN",
    "SampleSummary",
    "district_targets",
    "load_sample",
]

# --------------------------------------------------------------------------------------------
# Published figures the sample reproduces
# --------------------------------------------------------------------------------------------

SHANGHAI_2023_BY_DISTRICT: Final[tuple[tuple[str, str, int, int], ...]] = (
    # (region code, district, approved filers, successfully filed products), in the CSV's order
    ("310115", "浦东新区", 133, 272),
    ("310112", "闵行区", 59, 93),
    ("310117", "松江区", 39, 76),
    ("310114", "嘉定区", 38, 77),
    ("310116", "金山区", 32, 196),
    ("310104", "徐汇区", 28, 37),
    ("310118", "青浦区", 25, 51),
    ("310120", "奉贤区", 22, 97),
    ("310151", "崇明区", 15, 26),
    ("310113", "宝山区", 14, 16),
    ("310110", "杨浦区", 11, 22),
    ("310107", "普陀区", 10, 19),
    ("310106", "静安区", 8, 17),
    ("310101", "黄浦区", 4, 17),
    ("310105", "长宁区", 4, 6),
    ("310109", "虹口区", 1, 1),
)
"""Shanghai, 24 Jul 2023, per district (shanghai_2023_by_district.csv, kept outside the repo).

The products add up to 1,023 although the notice's text says 975: the sample follows the table,
the figure an auditor can recount.
"""

TARGET_SALES_FEN: Final = 15_123_000_000_000
"""Last year's sales of the successfully filed products: 151.23 billion CNY, hit exactly."""

TARGET_EXPORTS_FEN: Final = 2_575_000_000_000
"""Their exports: 25.75 billion CNY, hit exactly."""

SAMPLE_NAMESPACE: Final = UUID("fcea4ec3-6e52-4d5e-8673-7a72172c50f6")
"""uuid5 namespace of filing ids and dispute ids: sample ids never collide with uuid4 ones."""

SEED_SPAN: Final = 10_000
"""Seeds that differ modulo this number get disjoint USCCs and product keys."""


def district_targets() -> dict[str, tuple[int, int]]:
    """Region code -> (approved filers, successfully filed products) the sample reproduces."""
    return {code: (filers, products) for code, _, filers, products in SHANGHAI_2023_BY_DISTRICT}


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleSummary:
    """What the sample of one seed contains, and what this particular load did.

    The content counts describe the plan (they are the same on every load of the seed);
    ``commands_run`` and ``events_added`` describe this call: both are 0 when the seed was
    already loaded.
    """

    seed: int
    filers_registered: int
    filers_approved: int
    filings: int
    products_filed: int
    products_pending: int
    products_rejected: int
    products_withdrawn: int
    products_revised: int
    disputes_raised: int
    disputes_open: int
    duplicates_refused: int
    conversion_records: int
    conversion_reports: int
    sales_fen: int
    exports_fen: int
    per_district: dict[str, tuple[int, int]]
    steps: int
    commands_run: int
    events_added: int


# --------------------------------------------------------------------------------------------
# Volumes of the "noise": all of it leaves the published counts unchanged
# --------------------------------------------------------------------------------------------


class _FilerFate(StrEnum):
    APPROVED = "approved"
    APPROVED_AFTER_REJECTION = "approved_after_rejection"
    PENDING_UNVERIFIED = "pending_unverified"
    PENDING_VERIFIED = "pending_verified"
    REJECTED = "rejected"
    RESUBMITTED_PENDING = "resubmitted_pending"


_APPROVED_FILER_FATES: Final = frozenset({_FilerFate.APPROVED, _FilerFate.APPROVED_AFTER_REJECTION})

_NOISE_FILERS: Final[dict[_FilerFate, int]] = {
    _FilerFate.PENDING_UNVERIFIED: 9,
    _FilerFate.PENDING_VERIFIED: 15,
    _FilerFate.REJECTED: 14,
    _FilerFate.RESUBMITTED_PENDING: 4,
}
_FILERS_APPROVED_AFTER_REJECTION: Final = 12


class _Fate(StrEnum):
    """The story of one filing; the first five end approved and count as filed."""

    APPROVED = "approved"
    REVISED_REAPPROVED = "revised_reapproved"
    DISPUTE_SETTLED = "dispute_settled"
    DISPUTE_OPEN_APPROVED = "dispute_open_approved"
    REFILED = "refiled"  # the filer withdrew a faulty filing and filed the product again
    PENDING = "pending"
    REJECTED = "rejected"
    REVISED_PENDING = "revised_pending"
    DISPUTE_UPHELD = "dispute_upheld"
    DISPUTE_OPEN_PENDING = "dispute_open_pending"
    WITHDRAWN = "withdrawn"
    WITHDRAWN_FOR_REFILING = "withdrawn_for_refiling"


_COUNTED_FATES: Final = frozenset(
    {
        _Fate.APPROVED,
        _Fate.REVISED_REAPPROVED,
        _Fate.DISPUTE_SETTLED,
        _Fate.DISPUTE_OPEN_APPROVED,
        _Fate.REFILED,
    }
)
_SPECIAL_COUNTED: Final[dict[_Fate, int]] = {
    _Fate.REVISED_REAPPROVED: 60,
    _Fate.DISPUTE_SETTLED: 25,
    _Fate.DISPUTE_OPEN_APPROVED: 8,
    _Fate.REFILED: 4,
}
_NOISE_PRODUCTS: Final[dict[_Fate, int]] = {
    _Fate.PENDING: 45,
    _Fate.REJECTED: 70,
    _Fate.REVISED_PENDING: 40,
    _Fate.DISPUTE_UPHELD: 6,
    _Fate.DISPUTE_OPEN_PENDING: 4,
    _Fate.WITHDRAWN: 30,
}
_STORIES: Final[dict[_Fate, tuple[tuple[str, float, float], ...]]] = {
    # What follows the filing: (command, fewest, most working days after the previous step).
    _Fate.APPROVED: (("approve", 1, 12),),
    _Fate.REVISED_REAPPROVED: (("approve", 1, 12), ("revise", 5, 60), ("approve", 1, 12)),
    _Fate.DISPUTE_SETTLED: (("dispute", 1, 8), ("settle", 5, 40), ("approve", 1, 6)),
    # approve_product refuses while a dispute is open, so an open one is raised afterwards.
    _Fate.DISPUTE_OPEN_APPROVED: (("approve", 1, 12), ("dispute", 5, 60)),
    _Fate.REFILED: (("approve", 1, 12),),
    _Fate.PENDING: (),
    _Fate.REJECTED: (("reject", 1, 12),),
    _Fate.REVISED_PENDING: (("approve", 1, 12), ("revise", 5, 60)),
    _Fate.DISPUTE_UPHELD: (("dispute", 1, 8), ("uphold", 5, 40), ("reject", 1, 6)),
    _Fate.DISPUTE_OPEN_PENDING: (("dispute", 0.1, 5),),
    _Fate.WITHDRAWN: (("approve", 1, 12), ("withdraw", 10, 90)),
    _Fate.WITHDRAWN_FOR_REFILING: (("approve", 1, 12), ("withdraw", 2, 30)),
}
_DUPLICATE_ATTEMPTS: Final = 12
_EXTRA_INSTITUTIONS: Final = 6  # report conversions without filing products (hospitals...)
_INSTITUTION_KINDS: Final[dict[FilerKind, int]] = {
    FilerKind.university_or_institute: 16,
    FilerKind.new_rnd_institution: 8,
    FilerKind.social_organization: 3,
}

# --------------------------------------------------------------------------------------------
# Working time, 3 Jan - 24 Jul 2023
# --------------------------------------------------------------------------------------------

_FIRST_DAY: Final = date(2023, 1, 3)
_LAST_DAY: Final = date(2023, 7, 24)
_OPENING_UTC: Final = time(1, 0)  # 09:00 in Beijing (UTC+8), the platform's working day
_DAY: Final = 9 * 3600  # working seconds per day (09:00-18:00 Beijing time)
_HOLIDAYS_2023: Final = frozenset(
    # State Council schedule for 2023: Spring Festival, Qingming, Labour Day, Dragon Boat
    [date(2023, 1, d) for d in range(23, 28)]
    + [date(2023, 4, 5), date(2023, 5, 1), date(2023, 5, 2), date(2023, 5, 3)]
    + [date(2023, 6, 22), date(2023, 6, 23)]
)
_MAKEUP_WORKDAYS_2023: Final = frozenset(
    {date(2023, 1, 28), date(2023, 1, 29), date(2023, 4, 23), date(2023, 5, 6), date(2023, 6, 25)}
)


def _working_days() -> tuple[date, ...]:
    days: list[date] = []
    day = _FIRST_DAY
    while day <= _LAST_DAY:
        if (day.weekday() < 5 and day not in _HOLIDAYS_2023) or day in _MAKEUP_WORKDAYS_2023:
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


_WORKING_DAYS: Final = _working_days()
_END: Final = len(_WORKING_DAYS) * _DAY - 1  # the last working second of the window


def _instant(offset: int) -> datetime:
    """The UTC instant ``offset`` working seconds after the window opened."""
    day, second = divmod(offset, _DAY)
    opening = datetime.combine(_WORKING_DAYS[day], _OPENING_UTC, tzinfo=UTC)
    return opening + timedelta(seconds=second)


def _chain(start: int, gaps: Sequence[int], end: int) -> list[int]:
    """Times of a story's steps: ``start``, then each gap later, squeezed to finish by ``end``.

    Every step comes at least one second after the one before, so sorting the merged timeline
    keeps each story in order.
    """
    if start + len(gaps) > end:
        raise ValueError(f"a story of {len(gaps) + 1} steps cannot start at {start}, end {end}")
    room = end - start - len(gaps)
    total = sum(gaps)
    if total > room:
        gaps = [gap * room // total for gap in gaps]
    times = [start]
    for gap in gaps:
        times.append(times[-1] + 1 + gap)
    return times


class _SimulatedClock:
    """The ledger clock during a load: the time of the step being run."""

    def __init__(self) -> None:
        self.moment = _instant(0)

    def __call__(self) -> datetime:
        return self.moment


# --------------------------------------------------------------------------------------------
# Codes: bijections of (seed, index), so distinct seeds never collide
# --------------------------------------------------------------------------------------------

_FILER_SLOTS: Final = 1_000
_PRODUCT_SLOTS: Final = 2_048
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code check


def _slot(seed: int, index: int, slots: int) -> int:
    if not 0 <= index < slots:
        raise ValueError(f"sample index {index}: want 0..{slots - 1}")
    return (seed % SEED_SPAN) * slots + index


def _scramble(slot: int, modulus: int, multiplier: int, offset: int) -> int:
    """``slot -> (slot * multiplier + offset) mod modulus``: a bijection (coprime multiplier).

    It makes consecutive sample indices look unrelated while keeping them distinct.
    """
    return (slot * multiplier + offset) % modulus


def _base31(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 31)
        chars.append(USCC_ALPHABET[digit])
    return "".join(reversed(chars))


def _organisation_code(slot: int, *, legacy: bool) -> str:
    """A 9-character GB 11714 code with a valid check character.

    Legacy (pre-2015) codes are 8 digits; newer ones are ``MA`` + 6 characters, like
    ``MA1HA5651``. The two forms never overlap (digits vs. letters in front).
    """
    if legacy:
        body = f"{_scramble(slot, 10**8, 48_271, 13_579_246):08d}"
    else:
        body = "MA" + _base31(_scramble(slot, 31**6, 69_621, 4_242_424), 6)
    remainder = 11 - sum(int(char, 36) * w for char, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    check = {10: "X", 11: "0"}.get(remainder, str(remainder))
    return body + check


def _uscc(prefix: str, region_part: str, organisation_code: str) -> str:
    body = prefix + region_part + organisation_code
    return body + uscc_check_char(body)


def _model(initials: str, slot: int) -> str:
    """A model designation such as ``XJ-307K7Q``, unique per (seed, product index)."""
    value = _scramble(slot, 900 * 31**3, 7_919, 1_234_567)
    series, tag = 100 + value % 900, _base31(value // 900, 3)
    return f"{initials}-{series}{tag}"


def _digest(*parts: object) -> str:
    """SHA-256 of a fake document, named by its parts so it is stable per seed."""
    return hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------


class _Template(NamedTuple):
    name: str
    initials: str
    variants: tuple[str, ...]


_COLOURS: Final = ("白色", "黑色", "银灰色", "深空灰", "蓝色")

_TEMPLATES: Final[dict[IndustryCategory, tuple[_Template, ...]]] = {
    IndustryCategory.ict_manufacturing: (
        _Template("5G工业网关", "GW", ("导轨式", "壁挂式", "4口", "8口")),
        _Template("工业以太网交换机", "SW", ("8口", "16口", "24口")),
        _Template("智能电能表", "DB", ("单相", "三相")),
        _Template("车载摄像头模组", "CM", ("200万像素", "800万像素")),
        _Template("光纤收发器", "GX", ("单模", "多模")),
        _Template("物联网温湿度传感器", "WS", _COLOURS),
        _Template("激光雷达", "LR", ("64线", "128线")),
        _Template("射频前端模组", "RF", ("Sub-6GHz", "毫米波")),
        _Template("边缘计算服务器", "ES", ("2U", "4U")),
        _Template("智能门锁", "ZS", _COLOURS),
    ),
    IndustryCategory.ict_services: (
        _Template("智慧园区管理系统", "YQ", ("标准版", "企业版")),
        _Template("工业设备远程运维平台", "YW", ("私有化部署版", "云服务版")),
        _Template("数据安全审计系统", "SJ", ("标准版", "旗舰版")),
        _Template("智能客服机器人系统", "KF", ("标准版", "企业版")),
        _Template("医疗影像云平台", "YX", ("医院版", "区域版")),
    ),
    IndustryCategory.new_equipment_manufacturing: (
        _Template("智能巡检机器人", "XJ", ("轮式", "履带式", "挂轨式")),
        _Template("协作机器人", "CR", ("负载5kg", "负载10kg", "负载16kg")),
        _Template("立式数控加工中心", "VMC", ("850型", "1160型")),
        _Template("精密行星减速器", "PX", ("60机座", "90机座", "120机座")),
        _Template("智能仓储穿梭车", "CS", ("单深位", "双深位")),
        _Template("高压变频器", "BP", ("6kV", "10kV")),
        _Template("电动汽车驱动电机", "QD", ("120kW", "180kW")),
        _Template("工业无人机", "UAV", ("四旋翼", "六旋翼")),
        _Template("伺服电动缸", "DG", ("行程100mm", "行程300mm")),
        _Template("轨道交通制动控制装置", "ZD", ("A型车", "B型车")),
    ),
    IndustryCategory.new_materials: (
        _Template("碳纤维复合材料板", "CF", ("厚度1mm", "厚度3mm", "厚度5mm")),
        _Template("聚酰亚胺薄膜", "PI", ("厚度12.5μm", "厚度25μm")),
        _Template("石墨烯导热膜", "GT", ("宽幅300mm", "宽幅500mm")),
        _Template("光伏封装胶膜", "EVA", ("透明", "白色")),
        _Template("锂电池隔膜", "GM", ("湿法", "涂覆")),
        _Template("高纯铝溅射靶材", "BC", ("圆形", "矩形")),
        _Template("水性工业涂料", "SX", ("哑光", "高光")),
        _Template("特种不锈钢无缝管", "BG", ("Φ25mm", "Φ57mm", "Φ108mm")),
    ),
    IndustryCategory.pharmaceuticals_and_medical: (
        _Template("一次性使用输液器", "SY", ("带针", "不带针")),
        _Template("电子胃肠内窥镜", "NJ", ("胃镜", "肠镜")),
        _Template("冠状动脉药物洗脱支架", "ZJ", ("直径2.5mm", "直径3.0mm", "直径3.5mm")),
        _Template("血糖监测仪", "XT", _COLOURS),
        _Template("新型冠状病毒抗原检测试剂盒", "KY", ("1人份/盒", "20人份/盒")),
        _Template("髋关节假体", "KG", ("生物型", "骨水泥型")),
        _Template("医用外科口罩", "KZ", ("成人", "儿童")),
        _Template("便携式彩色超声诊断仪", "CD", ("标准配置", "心脏配置")),
    ),
    IndustryCategory.environmental_protection: (
        _Template("MBR膜生物反应器组件", "MBR", ("帘式", "平板式")),
        _Template("VOCs催化燃烧装置", "RCO", ("处理风量5000m³/h", "处理风量20000m³/h")),
        _Template("脉冲袋式除尘器", "CC", ("单室", "多室")),
        _Template("污泥低温干化机", "GH", ("日处理10吨", "日处理50吨")),
        _Template("SCR脱硝催化剂", "SCR", ("蜂窝式", "板式")),
        _Template("智能垃圾分类回收箱", "LJ", ("四分类", "六分类")),
    ),
    IndustryCategory.rnd_design_and_technical_services: (
        _Template("三维激光扫描仪", "SM", ("手持式", "桌面式")),
        _Template("高低温湿热试验箱", "SH", ("容积225L", "容积1000L")),
        _Template("实验室自动化移液工作站", "YY", ("8通道", "96通道")),
        _Template("电能质量分析仪", "DN", ("手持式", "机架式")),
        _Template("材料万能试验机", "WN", ("50kN", "300kN")),
        _Template("工业CT检测系统", "CT", ("225kV", "450kV")),
    ),
}

_CATEGORY_WEIGHTS: Final[dict[IndustryCategory, int]] = {
    IndustryCategory.ict_manufacturing: 18,
    IndustryCategory.ict_services: 8,
    IndustryCategory.new_equipment_manufacturing: 30,
    IndustryCategory.new_materials: 15,
    IndustryCategory.pharmaceuticals_and_medical: 14,
    IndustryCategory.environmental_protection: 7,
    IndustryCategory.rnd_design_and_technical_services: 8,
}

_TRADE_WORDS: Final[dict[IndustryCategory, tuple[str, ...]]] = {
    IndustryCategory.ict_manufacturing: ("电子科技", "微电子", "通信技术", "半导体", "光电科技"),
    IndustryCategory.ict_services: ("信息技术", "软件", "网络科技", "数据科技", "智能科技"),
    IndustryCategory.new_equipment_manufacturing: (
        "机器人",
        "精密机械",
        "智能装备",
        "自动化科技",
        "机电设备",
    ),
    IndustryCategory.new_materials: ("新材料", "高分子材料", "复合材料", "化工科技", "纳米科技"),
    IndustryCategory.pharmaceuticals_and_medical: (
        "生物医药",
        "医疗器械",
        "生物科技",
        "医药科技",
        "医学科技",
    ),
    IndustryCategory.environmental_protection: ("环保科技", "环境工程", "节能科技", "水处理科技"),
    IndustryCategory.rnd_design_and_technical_services: (
        "检测技术",
        "仪器仪表",
        "测控技术",
        "工程技术",
    ),
}
_LEGAL_FORMS: Final = ("有限公司", "股份有限公司", "集团有限公司")
_LEGAL_FORM_WEIGHTS: Final = (70, 25, 5)
_BRAND_CHARS: Final = (
    "华联瑞科创新睿博威恒泰达通鑫盛宏嘉诚明德航智微光合信"
    "海东浦申汇卓远天锐凯安润康晟昊驰拓鼎益诺精元思迈"
)
_INSTITUTION_PATTERNS: Final[dict[FilerKind, tuple[str, ...]]] = {
    FilerKind.university_or_institute: (
        "上海{b}理工学院",
        "上海市{b}科学技术研究院",
        "上海{b}工程技术研究所",
        "上海{b}材料研究所",
        "上海{b}医学研究所",
    ),
    FilerKind.new_rnd_institution: ("上海{b}产业技术研究院", "上海{b}创新研究院"),
    FilerKind.social_organization: ("上海市{b}技术协会", "上海市{b}科技促进会"),
}
_USCC_PREFIX: Final[dict[FilerKind, str]] = {
    FilerKind.enterprise: "91",  # enterprise (market regulation)
    FilerKind.university_or_institute: "12",  # public institution
    FilerKind.new_rnd_institution: "52",  # private non-enterprise unit
    FilerKind.social_organization: "51",  # social group
}
_SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈任姚卢陆钱顾"
)
_GIVEN_CHARS: Final = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚文华建国志海晨宇欣怡佳俊浩婷雪琳晓颖斌峰瑞"
)

_FILER_REJECTIONS: Final = (
    "营业执照扫描件不清晰，请重新上传",
    "诚信承诺书未加盖单位公章",
    "统一社会信用代码与营业执照不一致",
    "实名认证信息与单位名称不符",
)
_PRODUCT_REJECTIONS: Final = (
    "所列专利已因未缴年费失效，不满足至少涉及一件有效专利的要求",
    "专利权人与备案主体不一致，且未提供专利实施许可合同",
    "销售额证明材料不足，请补充发票或审计报告",
    "产品型号与证明材料中的型号不一致",
    "同一型号不同颜色、尺寸应合并为一个产品备案",
    "产品尚未形成市场销售，经济效益数据不足",
)
_WITHDRAWALS: Final = (
    "产品已停产退市",
    "所涉专利权已转让给关联公司",
    "所涉专利均已失效",
    "企业经营调整，不再生产该产品",
)
_REFILING_REASON: Final = "经济数据误以千元为单位填报，撤回后重新备案"
_UPHELD_REJECTION: Final = "所涉专利经裁决归他人所有，备案主体不再是专利权人或被许可人"
_DISPUTE_CLAIM: Final = "主张该专利系其前员工的职务发明创造，请求确认专利权属"
_DISPUTE_ENDINGS: Final[tuple[tuple[DisputeOutcome, str], ...]] = (
    (DisputeOutcome.SETTLED, "经知识产权局调解，双方达成和解"),
    (DisputeOutcome.CLAIM_DISMISSED, "经审查，请求人主张缺乏证据，予以驳回"),
)
_UPHELD_NOTE: Final = "生效判决确认专利权归请求人所有"
_CLAIMANT_WORDS: Final = ("精工", "微创", "联合", "远航", "中科")
_POOLS: Final = ("长三角生物医药专利池", "上海智能制造专利池", "长三角新材料专利池")
_FOLLOW_UPS: Final[dict[ConversionCategory, ConversionCategory]] = {
    ConversionCategory.ordinary_licence: ConversionCategory.industrialised_by_licensee,
    ConversionCategory.sole_licence: ConversionCategory.industrialised_by_licensee,
    ConversionCategory.exclusive_licence: ConversionCategory.industrialised_by_licensee,
    ConversionCategory.open_licence: ConversionCategory.ordinary_licence,
    ConversionCategory.industrialised_by_partner: ConversionCategory.equity_contribution,
    ConversionCategory.assigned: ConversionCategory.patent_pool,
}

_REVIEWERS: Final = tuple(Actor(id=f"reviewer-{n:02d}", role=Role.REVIEWER) for n in range(1, 7))
_REAL_NAME_SERVICE: Final = Actor(id="realname-service", role=Role.SYSTEM)

# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Filer:
    """A planned filer; ``approved_at`` is when its story ends (its approval, if approved)."""

    index: int
    uscc: str
    name: str
    kind: FilerKind
    region_code: str
    category: IndustryCategory
    fate: _FilerFate
    contact: Contact
    patents: list[str] = field(default_factory=list)
    approved_at: int = 0
    product_count: int = 0

    @property
    def id(self) -> UUID:
        return filer_id_for(self.uscc)

    @property
    def actor(self) -> Actor:
        return Actor(id=f"user-{self.uscc}", role=Role.FILER, scope=self.uscc)

    @property
    def approved(self) -> bool:
        return self.fate in _APPROVED_FILER_FATES


@dataclass(slots=True)
class _Product:
    """A planned filing; ``figures`` are its final (data year 2022) figures."""

    index: int
    filing_id: UUID
    filer: _Filer
    fate: _Fate
    category: IndustryCategory
    name: str
    model: str
    variants: tuple[str, ...]
    patents: tuple[PatentDeclaration, ...]
    figures: EconomicFigures | None = None
    earlier_figures: EconomicFigures | None = None  # data year 2021, for revised filings
    refiled_as: _Product | None = None  # the new filing that replaced this withdrawn one
    filed_at: int = 0


class _Step(NamedTuple):
    """One command at one time; ``version`` is what it brings ``aggregate_id`` to."""

    at: int
    seq: int
    aggregate_id: UUID | None  # None: a refused attempt, re-run harmlessly on every load
    version: int
    run: Callable[[PatentLedger], object]


class _Planner:
    """Draws the whole sample of one seed, then its timeline of commands."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.filers: list[_Filer] = []
        self.products: list[_Product] = []
        self.steps: list[_Step] = []
        self.used_names: set[str] = set()
        self.used_patents: set[str] = set()
        self.duplicates = 0
        self.disputes = 0
        self.conversion_records = 0
        self.conversion_reports = 0

    # --- helpers ----------------------------------------------------------------------------
    def _days(self, low: float, high: float) -> int:
        return self.rng.randint(int(low * _DAY), int(high * _DAY))

    def _add(
        self,
        at: int,
        aggregate_id: UUID | None,
        version: int,
        run: Callable[[PatentLedger], object],
    ) -> None:
        self.steps.append(_Step(at, len(self.steps), aggregate_id, version, run))

    def _brand(self) -> str:
        return "".join(self.rng.sample(_BRAND_CHARS, 2))

    def _unique_name(self, make: Callable[[], str]) -> str:
        while True:
            name = make()
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def _person(self) -> str:
        given = "".join(self.rng.choices(_GIVEN_CHARS, k=self.rng.choice((1, 2))))
        return self.rng.choice(_SURNAMES) + given

    def _patent(self, *, min_year: int = 2012) -> str:
        """A new patent number of this sample, with a valid check digit."""
        kind = self.rng.choices("1238", weights=(45, 40, 12, 3))[0]
        first_year = {"1": min_year, "2": max(min_year, 2015), "3": 2016, "8": 2016}[kind]
        while True:
            year = self.rng.randint(first_year, 2022)
            digits = f"{year}{kind}{self.rng.randint(0, 1_999_999):07d}"
            number = f"{digits}.{patent_check_char(digits)}"
            if number not in self.used_patents:
                self.used_patents.add(number)
                return number

    # --- filers -----------------------------------------------------------------------------
    def plan_filers(self) -> None:
        rng = self.rng
        fates: list[tuple[str, _FilerFate]] = []
        for code, _, approved, _ in SHANGHAI_2023_BY_DISTRICT:
            fates.extend((code, _FilerFate.APPROVED) for _ in range(approved))
        weights = [approved for _, _, approved, _ in SHANGHAI_2023_BY_DISTRICT]
        codes = [code for code, _, _, _ in SHANGHAI_2023_BY_DISTRICT]
        for fate, count in _NOISE_FILERS.items():
            fates.extend((code, fate) for code in rng.choices(codes, weights=weights, k=count))
        approved_slots = [i for i, (_, fate) in enumerate(fates) if fate is _FilerFate.APPROVED]
        for i in rng.sample(approved_slots, _FILERS_APPROVED_AFTER_REJECTION):
            fates[i] = (fates[i][0], _FilerFate.APPROVED_AFTER_REJECTION)
        kinds = [FilerKind.enterprise] * len(fates)
        institution_kinds = [kind for kind, n in _INSTITUTION_KINDS.items() for _ in range(n)]
        approved_indices = [i for i, (_, fate) in enumerate(fates) if fate in _APPROVED_FILER_FATES]
        for i, kind in zip(
            rng.sample(approved_indices, len(institution_kinds)), institution_kinds, strict=True
        ):
            kinds[i] = kind
        for index, ((region_code, fate), kind) in enumerate(zip(fates, kinds, strict=True)):
            self.filers.append(self._filer(index, region_code, fate, kind))

    def _filer(self, index: int, region_code: str, fate: _FilerFate, kind: FilerKind) -> _Filer:
        rng = self.rng
        if kind is FilerKind.enterprise:
            category = rng.choices(
                list(_CATEGORY_WEIGHTS), weights=list(_CATEGORY_WEIGHTS.values())
            )[0]
            name = self._unique_name(
                lambda: (
                    "上海"
                    + self._brand()
                    + rng.choice(_TRADE_WORDS[category])
                    + rng.choices(_LEGAL_FORMS, weights=_LEGAL_FORM_WEIGHTS)[0]
                )
            )
        else:
            category = (
                IndustryCategory.rnd_design_and_technical_services
                if kind is FilerKind.social_organization
                else rng.choice(list(IndustryCategory))
            )
            patterns = _INSTITUTION_PATTERNS[kind]
            name = self._unique_name(lambda: rng.choice(patterns).format(b=self._brand()))
        # Some older filers still carry a retired district code inside their USCC (registered
        # under the current one), and those have pre-2015 organisation codes.
        legacy = next((old for old, new in LEGACY_REGION_CODES.items() if new == region_code), None)
        region_part = legacy if legacy is not None and rng.random() < 0.3 else region_code
        old_form = region_part != region_code or rng.random() < 0.45
        code = _organisation_code(_slot(self.seed, index, _FILER_SLOTS), legacy=old_form)
        uscc = _uscc(_USCC_PREFIX[kind], region_part, code)
        phone = (
            f"+86 21 {rng.randint(5000, 6999)} {rng.randint(0, 9999):04d}"
            if rng.random() < 0.6
            else f"+86 1{rng.choice('3589')}{rng.randint(0, 9)} {rng.randint(0, 9999):04d} "
            f"{rng.randint(0, 9999):04d}"
        )
        contact = Contact.parse(self._person(), phone, f"ipr.{code[:8].lower()}@example.com")
        return _Filer(index, uscc, name, kind, region_code, category, fate, contact)

    def schedule_filers(self) -> None:
        for filer in self.filers:
            self._schedule_filer(filer)

    def _schedule_filer(self, filer: _Filer) -> None:
        rng = self.rng
        fate = filer.fate
        verify = ("verify", self._days(0.01, 1))
        review = self._days(0.5, 6)
        gaps: list[tuple[str, int]]
        if fate is _FilerFate.APPROVED:
            start, gaps = rng.randint(0, _END - 45 * _DAY), [verify, ("approve", review)]
        elif fate is _FilerFate.APPROVED_AFTER_REJECTION:
            start = rng.randint(0, _END - 60 * _DAY)
            gaps = [
                verify,
                ("reject", review),
                ("resubmit", self._days(2, 20)),
                ("approve", self._days(0.5, 5)),
            ]
        elif fate is _FilerFate.PENDING_UNVERIFIED:
            start, gaps = _END - self._days(0.2, 10), []
        elif fate is _FilerFate.PENDING_VERIFIED:
            start, gaps = _END - self._days(1, 15), [verify]
        elif fate is _FilerFate.REJECTED:
            start = rng.randint(0, _END - 20 * _DAY)
            gaps = [verify, ("reject", review)] if rng.random() < 0.5 else [("reject", review)]
        else:  # RESUBMITTED_PENDING
            start = rng.randint(_END // 2, _END - 30 * _DAY)
            gaps = [verify, ("reject", review), ("resubmit", self._days(2, 20))]
        end = _END - 5 * _DAY if filer.approved else _END
        times = _chain(start, [gap for _, gap in gaps], end)
        self._add(times[0], filer.id, 1, lambda ledger: self._register(ledger, filer))
        for version, ((command, _), at) in enumerate(zip(gaps, times[1:], strict=True), start=2):
            self._add(at, filer.id, version, self._filer_command(filer, command))
        filer.approved_at = times[-1]

    def _register(self, ledger: PatentLedger, filer: _Filer) -> None:
        ledger.register_filer(
            filer.actor,
            uscc=filer.uscc,
            name=filer.name,
            kind=filer.kind.value,
            region_code=filer.region_code,
            contact=filer.contact,
            proof_digests=[
                _digest(self.seed, filer.uscc, "business-licence"),
                _digest(self.seed, filer.uscc, "legal-representative-id"),
            ],
            pledge_digest=_digest(self.seed, filer.uscc, "integrity-pledge"),
        )

    def _filer_command(self, filer: _Filer, command: str) -> Callable[[PatentLedger], object]:
        """The command ``command`` of the filer's story, with its inputs drawn now."""
        reviewer = self.rng.choice(_REVIEWERS)
        if command == "verify":
            reference = f"RN-{filer.uscc}"
            return lambda ledger: ledger.verify_filer_real_name(
                _REAL_NAME_SERVICE, filer.id, reference
            )
        if command == "approve":
            return lambda ledger: ledger.approve_filer(reviewer, filer.id)
        if command == "reject":
            reason = self.rng.choice(_FILER_REJECTIONS)
            return lambda ledger: ledger.reject_filer(reviewer, filer.id, reason)
        if command == "resubmit":
            proofs = [_digest(self.seed, filer.uscc, "business-licence", 2)]
            pledge = _digest(self.seed, filer.uscc, "integrity-pledge", 2)
            return lambda ledger: ledger.resubmit_filer(filer.actor, filer.id, proofs, pledge)
        raise ValueError(f"unknown sample command {command!r}")

    # --- products ---------------------------------------------------------------------------
    def plan_products(self) -> None:
        rng = self.rng
        counted: list[_Product] = []
        for code, _, _, product_total in SHANGHAI_2023_BY_DISTRICT:
            filers = [f for f in self.filers if f.region_code == code and f.approved]
            owners = list(filers)
            # Every approved filer has one; the rest go to a few prolific filers (heavy tail).
            weights = [rng.paretovariate(2.0) for _ in filers]
            owners += rng.choices(filers, weights=weights, k=product_total - len(filers))
            counted.extend(self._product(owner, _Fate.APPROVED) for owner in owners)
        for fate, count in _SPECIAL_COUNTED.items():
            pool = [p for p in counted if p.fate is _Fate.APPROVED]
            if fate is _Fate.REVISED_REAPPROVED:  # first filed on 2021 data: early filers
                pool.sort(key=lambda p: p.filer.approved_at)
                pool = pool[: len(pool) // 2]
            for product in rng.sample(pool, count):
                product.fate = fate
        self._allocate_figures(counted)
        approved_filers = [f for f in self.filers if f.approved]
        noise: list[_Product] = []
        for fate, count in _NOISE_PRODUCTS.items():
            for owner in rng.choices(
                approved_filers, weights=[f.product_count for f in approved_filers], k=count
            ):
                noise.append(self._product(owner, fate))
        for product in noise:
            product.figures = self._free_figures()
        for product in [p for p in counted if p.fate is _Fate.REFILED]:
            # The faulty first filing of the same product: figures entered in thousands of yuan.
            first = self._product(product.filer, _Fate.WITHDRAWN_FOR_REFILING, like=product)
            first.figures = _scaled(product.figures, 1)
            first.refiled_as = product
            noise.append(first)
        for product in [*counted, *noise]:
            if product.fate in (_Fate.REVISED_REAPPROVED, _Fate.REVISED_PENDING):
                product.earlier_figures = _scaled(product.figures, rng.randint(650, 1_050))

    def _product(self, filer: _Filer, fate: _Fate, *, like: _Product | None = None) -> _Product:
        rng = self.rng
        index = len(self.products)
        filer.product_count += 1
        if like is not None:
            category, name, model, variants = like.category, like.name, like.model, like.variants
            patents = like.patents
        else:
            category = filer.category if rng.random() < 0.85 else rng.choice(list(IndustryCategory))
            template = rng.choice(_TEMPLATES[category])
            name = template.name
            model = _model(template.initials, _slot(self.seed, index, _PRODUCT_SLOTS))
            count = rng.randint(1, min(3, len(template.variants)))
            chosen = set(rng.sample(template.variants, count))
            variants = tuple(v for v in template.variants if v in chosen)  # one model, many
            patents = self._declarations(filer)
        product = _Product(
            index=index,
            filing_id=uuid5(SAMPLE_NAMESPACE, f"filing:{self.seed}:{index}"),
            filer=filer,
            fate=fate,
            category=category,
            name=name,
            model=model,
            variants=variants,
            patents=patents,
        )
        self.products.append(product)
        return product

    def _declarations(self, filer: _Filer) -> tuple[PatentDeclaration, ...]:
        """1-4 of the filer's own patents, sometimes a licensed one (with its licence record)."""
        rng = self.rng
        while len(filer.patents) < 2 + filer.product_count * 2:
            filer.patents.append(self._patent())
        own = rng.sample(filer.patents, rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0])
        declarations = [PatentDeclaration.parse("ZL" + number, "owner") for number in own]
        if rng.random() < 0.15 or filer.kind is FilerKind.social_organization:
            number = self._patent()
            reference = f"X{rng.randint(2018, 2022)}31{rng.randint(0, 99_999_999):08d}"
            declarations.append(PatentDeclaration.parse("ZL" + number, "licensee", reference))
        return tuple(declarations)

    def _allocate_figures(self, counted: list[_Product]) -> None:
        """Give the counted products sales and exports that add up to the published totals."""
        rng = self.rng
        sales = _allocate(
            TARGET_SALES_FEN, [int(rng.lognormvariate(0, 1.4) * 1_000_000) + 1 for _ in counted]
        )
        shares = [0 if rng.random() < 0.55 else rng.randint(30, 750) for _ in counted]
        exports = _allocate_capped(
            TARGET_EXPORTS_FEN, [s * share for s, share in zip(sales, shares, strict=True)], sales
        )
        for product, sale, export in zip(counted, sales, exports, strict=True):
            product.figures = self._figures(sale, export)

    def _free_figures(self) -> EconomicFigures:
        mean = TARGET_SALES_FEN // 1_023
        sale = int(self.rng.lognormvariate(math.log(mean) - 1.4**2 / 2, 1.4))
        share = 0 if self.rng.random() < 0.55 else self.rng.randint(30, 750)
        return self._figures(sale, sale * share // 1_000)

    def _figures(self, sales: int, exports: int) -> EconomicFigures:
        return EconomicFigures.of_fen(
            sales=sales,
            exports=exports,
            profit=sales * self.rng.randint(40, 220) // 1_000,
            ip_spending=sales * self.rng.randint(8, 60) // 1_000,
        )

    def schedule_products(self) -> None:
        for product in self.products:
            if product.fate is _Fate.REFILED:
                continue  # scheduled after the withdrawal of its first filing
            if product.refiled_as is None:
                self._schedule_product(product, self._product_start(product))
            else:
                start = self._product_start(product)
                withdrawn = self._schedule_product(product, start, end=_END - 3 * _DAY)
                self._schedule_product(product.refiled_as, withdrawn + self._days(0.2, 2))

    def _product_start(self, product: _Product) -> int:
        after = product.filer.approved_at + 600
        if product.fate in (_Fate.PENDING, _Fate.DISPUTE_OPEN_PENDING):
            return max(after, _END - self._days(1, 12))
        if product.fate in (_Fate.REVISED_REAPPROVED, _Fate.REVISED_PENDING):
            return min(after + self._days(0, 10), _END - 4 * _DAY)
        return min(after + self._days(0, 40), _END - 4 * _DAY)

    def _schedule_product(self, product: _Product, start: int, end: int = _END) -> int:
        """Add the filing's story to the timeline; returns the time of its last step."""
        story = self._story(product.fate)
        times = _chain(start, [gap for _, gap in story], end)
        product.filed_at = times[0]
        self._add(times[0], product.filing_id, 1, lambda ledger: self._file(ledger, product))
        for version, ((command, _), at) in enumerate(zip(story, times[1:], strict=True), start=2):
            self._add(at, product.filing_id, version, self._product_command(product, command))
        return times[-1]

    def _story(self, fate: _Fate) -> list[tuple[str, int]]:
        """The commands after the filing, each with its delay in working seconds."""
        return [(command, self._days(low, high)) for command, low, high in _STORIES[fate]]

    def _file(self, ledger: PatentLedger, product: _Product) -> None:
        revised = product.earlier_figures is not None
        figures = product.earlier_figures if revised else product.figures
        if figures is None:
            raise ValueError(f"sample filing {product.index} has no figures")
        ledger.file_product(
            product.filer.actor,
            filer_id=product.filer.id,
            name=product.name,
            model=product.model,
            variants=list(product.variants),
            category=product.category.value,
            finer_code=None,  # the official finer codes are not carried; top categories suffice
            patents=list(product.patents),
            data_year=2021 if revised else 2022,
            figures=figures,
            proof_digests=[
                _digest(self.seed, product.filing_id, "sales-invoices"),
                _digest(self.seed, product.filing_id, "patent-certificates"),
            ],
            filing_id=product.filing_id,
        )

    def _product_command(self, product: _Product, command: str) -> Callable[[PatentLedger], object]:
        """The command ``command`` of the filing's story, with its inputs drawn now."""
        rng = self.rng
        reviewer = rng.choice(_REVIEWERS)
        pid = product.filing_id
        dispute_id = uuid5(SAMPLE_NAMESPACE, f"dispute:{self.seed}:{product.index}").hex
        if command == "approve":
            return lambda ledger: ledger.approve_product(reviewer, pid)
        if command == "reject":
            reason = (
                _UPHELD_REJECTION
                if product.fate is _Fate.DISPUTE_UPHELD
                else rng.choice(_PRODUCT_REJECTIONS)
            )
            return lambda ledger: ledger.reject_product(reviewer, pid, reason)
        if command == "revise":
            return self._revision(product)
        if command == "dispute":
            self.disputes += 1
            disputed = [rng.choice(product.patents).number.value]
            claimant = "上海" + self._brand() + rng.choice(_CLAIMANT_WORDS) + "科技有限公司"
            return lambda ledger: ledger.raise_dispute(
                reviewer,
                pid,
                patent_numbers=disputed,
                claimant=claimant,
                description=_DISPUTE_CLAIM,
                dispute_id=dispute_id,
            )
        if command in ("settle", "uphold"):
            outcome, note = (
                (DisputeOutcome.CLAIM_UPHELD, _UPHELD_NOTE)
                if command == "uphold"
                else rng.choice(_DISPUTE_ENDINGS)
            )
            return lambda ledger: ledger.resolve_dispute(
                reviewer, pid, dispute_id, outcome.value, note
            )
        if command == "withdraw":
            reason = _REFILING_REASON if product.refiled_as else rng.choice(_WITHDRAWALS)
            return lambda ledger: ledger.withdraw_product(product.filer.actor, pid, reason)
        raise ValueError(f"unknown sample command {command!r}")

    def _revision(self, product: _Product) -> Callable[[PatentLedger], object]:
        """The annual update: data year 2021 -> 2022, sometimes with a newly granted patent."""
        patents = list(product.patents)
        if self.rng.random() < 0.3:
            patents.append(PatentDeclaration.parse(self._patent(min_year=2021), "owner"))
        figures = product.figures
        if figures is None:
            raise ValueError(f"sample filing {product.index} has no figures")
        digest = _digest(self.seed, product.filing_id, "sales-invoices", 2022)

        def run(ledger: PatentLedger) -> None:
            ledger.revise_product(
                product.filer.actor,
                product.filing_id,
                data_year=2022,
                figures=figures,
                patents=patents,
                proof_digests=[digest],
            )

        return run

    # --- refused duplicates -----------------------------------------------------------------
    def schedule_duplicates(self) -> None:
        """Attempts to file an already filed product again, spelled differently; all refused."""
        rng = self.rng
        targets = [
            p for p in self.products if p.fate is _Fate.APPROVED and p.filed_at < _END - 20 * _DAY
        ]
        approved_filers = [f for f in self.filers if f.approved]
        for n, target in enumerate(rng.sample(targets, _DUPLICATE_ATTEMPTS)):
            attempter = target.filer if n % 3 == 0 else rng.choice(approved_filers)
            spelling = (
                target.model.lower().replace("-", " "),
                _full_width(target.model),
                target.model.replace("-", ""),
            )[n % 3]
            start = max(target.filed_at, attempter.approved_at)
            at = _chain(start, [self._days(0.5, 15)], _END)[1]
            filing_id = uuid5(SAMPLE_NAMESPACE, f"duplicate:{self.seed}:{n}")
            self._add(at, None, 0, self._duplicate(target, attempter, spelling, filing_id))
            self.duplicates += 1

    def _duplicate(
        self, target: _Product, attempter: _Filer, model: str, filing_id: UUID
    ) -> Callable[[PatentLedger], object]:
        seed = self.seed
        figures = self._free_figures()
        patents = self._declarations(attempter)

        def run(ledger: PatentLedger) -> None:
            try:
                ledger.file_product(
                    attempter.actor,
                    filer_id=attempter.id,
                    name=target.name,
                    model=model,
                    variants=list(target.variants),
                    category=target.category.value,
                    finer_code=None,
                    patents=list(patents),
                    data_year=2022,
                    figures=figures,
                    proof_digests=[_digest(seed, filing_id, "sales-invoices")],
                    filing_id=filing_id,
                )
            except DuplicateProductError:
                return
            raise RuntimeError(f"sample duplicate {filing_id} was accepted: the plan is wrong")

        return run

    # --- conversion feedback ----------------------------------------------------------------
    def schedule_conversions(self) -> None:
        """Public institutions (USCC prefix 12) report what became of their patents.

        The reporters are the approved filers that are universities or institutes, plus a few
        institutions (hospitals, colleges) that never file products. Every one of the nine
        categories occurs; about a third of the patents get a second, later report, so the
        record keeps its history.
        """
        rng = self.rng
        reporters = [
            f.uscc
            for f in self.filers
            if f.approved and f.kind is FilerKind.university_or_institute
        ]
        codes = [code for code, _, _, _ in SHANGHAI_2023_BY_DISTRICT]
        for n in range(_EXTRA_INSTITUTIONS):
            slot = _slot(self.seed, _FILER_SLOTS - 1 - n, _FILER_SLOTS)
            reporters.append(_uscc("12", rng.choice(codes), _organisation_code(slot, legacy=True)))
        enterprises = [f.name for f in self.filers if f.kind is FilerKind.enterprise]
        categories = list(ConversionCategory)
        deck: list[ConversionCategory] = []
        for uscc in reporters:
            for _ in range(rng.randint(2, 6)):
                if not deck:  # deal all nine before repeating any
                    deck = rng.sample(categories, len(categories))
                reports = [deck.pop()]
                if rng.random() < 0.3:
                    reports.append(_FOLLOW_UPS.get(reports[0]) or rng.choice(categories))
                self._schedule_conversion(uscc, self._patent(), reports, enterprises)

    def _schedule_conversion(
        self,
        uscc: str,
        number: str,
        categories: list[ConversionCategory],
        enterprises: list[str],
    ) -> None:
        rng = self.rng
        record_id = conversion_record_id(uscc, number)
        start = rng.randint(0, _END - 30 * _DAY)
        times = _chain(start, [self._days(10, 80) for _ in categories[1:]], _END)
        actor = Actor(id=f"institution-{uscc}", role=Role.INSTITUTION, scope=uscc)
        self.conversion_records += 1
        previous = date(2021, 1, 4)
        # The record's first report opens it (versions 1 and 2); each later one adds a version.
        for version, (category, at) in enumerate(zip(categories, times, strict=True), start=2):
            occurred = max(previous, _instant(at).date() - timedelta(days=rng.randint(5, 400)))
            previous = occurred
            counterparty = (
                rng.choice(_POOLS)
                if category is ConversionCategory.patent_pool
                else rng.choice(enterprises)
            )
            unpaid = category in (ConversionCategory.open_licence, ConversionCategory.patent_pool)
            amount = None if unpaid and rng.random() < 0.6 else rng.randint(50_000, 8_000_000) * 100
            report = _report(actor, uscc, number, category, counterparty, occurred, amount)
            self._add(at, record_id, version, report)
            self.conversion_reports += 1


def _report(
    actor: Actor,
    uscc: str,
    number: str,
    category: ConversionCategory,
    counterparty: str,
    occurred: date,
    amount: int | None,
) -> Callable[[PatentLedger], object]:
    def run(ledger: PatentLedger) -> None:
        ledger.report_conversion(
            actor,
            institution_uscc=uscc,
            patent_number=number,
            category=category.value,
            counterparty=counterparty,
            occurred_on=occurred.isoformat(),
            amount_fen=amount,
        )

    return run


def _scaled(figures: EconomicFigures | None, per_mille: int) -> EconomicFigures:
    if figures is None:
        raise ValueError("no figures to scale")
    return EconomicFigures.of_fen(
        sales=figures.sales.fen * per_mille // 1_000,
        exports=figures.exports.fen * per_mille // 1_000,
        profit=figures.profit.fen * per_mille // 1_000,
        ip_spending=figures.ip_spending.fen * per_mille // 1_000,
    )


def _allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    weight_sum = sum(weights)
    parts = [total * weight // weight_sum for weight in weights]
    by_remainder = sorted(
        range(len(weights)), key=lambda i: (-(total * weights[i] % weight_sum), i)
    )
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _allocate_capped(total: int, weights: Sequence[int], caps: Sequence[int]) -> list[int]:
    """Like :func:`_allocate`, but no part exceeds its cap (exports never exceed sales)."""
    parts = [min(part, cap) for part, cap in zip(_allocate(total, weights), caps, strict=True)]
    missing = total - sum(parts)
    for i in sorted(range(len(parts)), key=lambda i: -weights[i]):
        if missing == 0:
            break
        if weights[i] == 0:
            continue
        extra = min(missing, caps[i] - parts[i])
        parts[i] += extra
        missing -= extra
    if missing:
        raise ValueError(f"cannot place {total} under the caps: {missing} left over")
    return parts


def _full_width(text: str) -> str:
    """ASCII letters, digits and ``-`` as their full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _plan(seed: int) -> _Planner:
    """Draw the sample of ``seed``; the order of the draws is part of what the seed means."""
    planner = _Planner(seed)
    planner.plan_filers()
    planner.schedule_filers()
    planner.plan_products()
    planner.schedule_products()
    planner.schedule_duplicates()
    planner.schedule_conversions()
    planner.steps.sort(key=lambda step: (step.at, step.seq))
    return planner


def load_sample(
    ledger: PatentLedger, seed: int, *, progress: Callable[[int, int], None] | None = None
) -> SampleSummary:
    """Load the sample of ``seed`` into ``ledger`` through its commands; idempotent.

    A step whose aggregate already has the version the step would produce is skipped, so a
    repeated load adds no event and an interrupted one resumes. ``progress(done, total)`` is
    called after every step. ``events_added`` counts the notifications recorded after the
    load started, so it includes any other writer's events recorded meanwhile.

    Raises:
        domain.errors.DomainError: a command was refused: the store holds other facts about
            the sample's filers or products than the sample's own (never on a fresh store).
    """
    planner = _plan(seed)
    steps = planner.steps
    before = ledger.recorder.max_notification_id() or 0
    commands = 0
    last = next((step for step in reversed(steps) if step.aggregate_id is not None), None)
    if (
        last is None
        or last.aggregate_id is None
        or _stored_version(ledger, last.aggregate_id) < last.version
    ):
        clock = _SimulatedClock()
        with using_clock(clock):
            for done, step in enumerate(steps, start=1):
                if (
                    step.aggregate_id is None
                    or _stored_version(ledger, step.aggregate_id) < step.version
                ):
                    clock.moment = _instant(step.at)
                    step.run(ledger)
                    commands += 1
                if progress is not None:
                    progress(done, len(steps))
    elif progress is not None:
        progress(len(steps), len(steps))
    return _summary(planner, commands, _events_after(ledger, before))


def _stored_version(ledger: PatentLedger, aggregate_id: UUID) -> int:
    """The stored version of an aggregate (0 if absent), read without rebuilding it."""
    events = ledger.recorder.select_events(aggregate_id, desc=True, limit=1)
    return events[0].originator_version if events else 0


def _events_after(ledger: PatentLedger, notification_id: int) -> int:
    """How many events were recorded after ``notification_id`` (ids may have gaps)."""
    count, start = 0, notification_id + 1
    while batch := ledger.recorder.select_notifications(start=start, limit=1_000):
        count += len(batch)
        start = batch[-1].id + 1
    return count


def _summary(planner: _Planner, commands: int, events: int) -> SampleSummary:
    fates = [product.fate for product in planner.products]
    filed = [product for product in planner.products if product.fate in _COUNTED_FATES]
    per_district: dict[str, tuple[int, int]] = {}
    for code, _, _, _ in SHANGHAI_2023_BY_DISTRICT:
        filers = sum(1 for f in planner.filers if f.approved and f.region_code == code)
        products = sum(1 for p in filed if p.filer.region_code == code)
        per_district[code] = (filers, products)
    return SampleSummary(
        seed=planner.seed,
        filers_registered=len(planner.filers),
        filers_approved=sum(1 for f in planner.filers if f.approved),
        filings=len(planner.products),
        products_filed=len(filed),
        products_pending=sum(
            fates.count(fate)
            for fate in (_Fate.PENDING, _Fate.REVISED_PENDING, _Fate.DISPUTE_OPEN_PENDING)
        ),
        products_rejected=fates.count(_Fate.REJECTED) + fates.count(_Fate.DISPUTE_UPHELD),
        products_withdrawn=fates.count(_Fate.WITHDRAWN) + fates.count(_Fate.WITHDRAWN_FOR_REFILING),
        products_revised=fates.count(_Fate.REVISED_PENDING) + fates.count(_Fate.REVISED_REAPPROVED),
        disputes_raised=planner.disputes,
        disputes_open=fates.count(_Fate.DISPUTE_OPEN_APPROVED)
        + fates.count(_Fate.DISPUTE_OPEN_PENDING),
        duplicates_refused=planner.duplicates,
        conversion_records=planner.conversion_records,
        conversion_reports=planner.conversion_reports,
        sales_fen=sum(p.figures.sales.fen for p in filed if p.figures is not None),
        exports_fen=sum(p.figures.exports.fen for p in filed if p.figures is not None),
        per_district=per_district,
        steps=len(planner.steps),
        commands_run=commands,
        events_added=events,
    )
