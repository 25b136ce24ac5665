# ruff: noqa: RUF001  (Chinese prose takes full-width commas and parentheses, as Chinese does)
"""The words the sample is written in, and the officials who act on its filings.

Product templates per industry category; the parts of enterprise, institution and person names;
what reviewers, claimants and withdrawing filers write; the patent pools and the usual sequel
of each kind of conversion; the reviewers and the real-name service.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from domain.actor import Actor, Role
from domain.product import DisputeOutcome
from domain.values import ConversionCategory, FilerKind, IndustryCategory


class Template(NamedTuple):
    name: str
    initials: str
    variants: tuple[str, ...]


_COLOURS: Final = ("白色", "黑色", "银灰色", "深空灰", "蓝色")

TEMPLATES: Final[dict[IndustryCategory, tuple[Template, ...]]] = {
    IndustryCategory.ict_manufacturing: (
        Template("5G工业网关", "GW", ("导轨式", "壁挂式", "4口", "8口")),
        Template("工业以太网交换机", "SW", ("8口", "16口", "24口")),
        Template("智能电能表", "DB", ("单相", "三相")),
        Template("车载摄像头模组", "CM", ("200万像素", "800万像素")),
        Template("光纤收发器", "GX", ("单模", "多模")),
        Template("物联网温湿度传感器", "WS", _COLOURS),
        Template("激光雷达", "LR", ("64线", "128线")),
        Template("射频前端模组", "RF", ("Sub-6GHz", "毫米波")),
        Template("边缘计算服务器", "ES", ("2U", "4U")),
        Template("智能门锁", "ZS", _COLOURS),
    ),
    IndustryCategory.ict_services: (
        Template("智慧园区管理系统", "YQ", ("标准版", "企业版")),
        Template("工业设备远程运维平台", "YW", ("私有化部署版", "云服务版")),
        Template("数据安全审计系统", "SJ", ("标准版", "旗舰版")),
        Template("智能客服机器人系统", "KF", ("标准版", "企业版")),
        Template("医疗影像云平台", "YX", ("医院版", "区域版")),
    ),
    IndustryCategory.new_equipment_manufacturing: (
        Template("智能巡检机器人", "XJ", ("轮式", "履带式", "挂轨式")),
        Template("协作机器人", "CR", ("负载5kg", "负载10kg", "负载16kg")),
        Template("立式数控加工中心", "VMC", ("850型", "1160型")),
        Template("精密行星减速器", "PX", ("60机座", "90机座", "120机座")),
        Template("智能仓储穿梭车", "CS", ("单深位", "双深位")),
        Template("高压变频器", "BP", ("6kV", "10kV")),
        Template("电动汽车驱动电机", "QD", ("120kW", "180kW")),
        Template("工业无人机", "UAV", ("四旋翼", "六旋翼")),
        Template("伺服电动缸", "DG", ("行程100mm", "行程300mm")),
        Template("轨道交通制动控制装置", "ZD", ("A型车", "B型车")),
    ),
    IndustryCategory.new_materials: (
        Template("碳纤维复合材料板", "CF", ("厚度1mm", "厚度3mm", "厚度5mm")),
        Template("聚酰亚胺薄膜", "PI", ("厚度12.5μm", "厚度25μm")),
        Template("石墨烯导热膜", "GT", ("宽幅300mm", "宽幅500mm")),
        Template("光伏封装胶膜", "EVA", ("透明", "白色")),
        Template("锂电池隔膜", "GM", ("湿法", "涂覆")),
        Template("高纯铝溅射靶材", "BC", ("圆形", "矩形")),
        Template("水性工业涂料", "SX", ("哑光", "高光")),
        Template("特种不锈钢无缝管", "BG", ("Φ25mm", "Φ57mm", "Φ108mm")),
    ),
    IndustryCategory.pharmaceuticals_and_medical: (
        Template("一次性使用输液器", "SY", ("带针", "不带针")),
        Template("电子胃肠内窥镜", "NJ", ("胃镜", "肠镜")),
        Template("冠状动脉药物洗脱支架", "ZJ", ("直径2.5mm", "直径3.0mm", "直径3.5mm")),
        Template("血糖监测仪", "XT", _COLOURS),
        Template("新型冠状病毒抗原检测试剂盒", "KY", ("1人份/盒", "20人份/盒")),
        Template("髋关节假体", "KG", ("生物型", "骨水泥型")),
        Template("医用外科口罩", "KZ", ("成人", "儿童")),
        Template("便携式彩色超声诊断仪", "CD", ("标准配置", "心脏配置")),
    ),
    IndustryCategory.environmental_protection: (
        Template("MBR膜生物反应器组件", "MBR", ("帘式", "平板式")),
        Template("VOCs催化燃烧装置", "RCO", ("处理风量5000m³/h", "处理风量20000m³/h")),
        Template("脉冲袋式除尘器", "CC", ("单室", "多室")),
        Template("污泥低温干化机", "GH", ("日处理10吨", "日处理50吨")),
        Template("SCR脱硝催化剂", "SCR", ("蜂窝式", "板式")),
        Template("智能垃圾分类回收箱", "LJ", ("四分类", "六分类")),
    ),
    IndustryCategory.rnd_design_and_technical_services: (
        Template("三维激光扫描仪", "SM", ("手持式", "桌面式")),
        Template("高低温湿热试验箱", "SH", ("容积225L", "容积1000L")),
        Template("实验室自动化移液工作站", "YY", ("8通道", "96通道")),
        Template("电能质量分析仪", "DN", ("手持式", "机架式")),
        Template("材料万能试验机", "WN", ("50kN", "300kN")),
        Template("工业CT检测系统", "CT", ("225kV", "450kV")),
    ),
}

CATEGORY_WEIGHTS: Final[dict[IndustryCategory, int]] = {
    IndustryCategory.ict_manufacturing: 18,
    IndustryCategory.ict_services: 8,
    IndustryCategory.new_equipment_manufacturing: 30,
    IndustryCategory.new_materials: 15,
    IndustryCategory.pharmaceuticals_and_medical: 14,
    IndustryCategory.environmental_protection: 7,
    IndustryCategory.rnd_design_and_technical_services: 8,
}

TRADE_WORDS: Final[dict[IndustryCategory, tuple[str, ...]]] = {
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
LEGAL_FORMS: Final = ("有限公司", "股份有限公司", "集团有限公司")
LEGAL_FORM_WEIGHTS: Final = (70, 25, 5)
BRAND_CHARS: Final = (
    "华联瑞科创新睿博威恒泰达通鑫盛宏嘉诚明德航智微光合信"
    "海东浦申汇卓远天锐凯安润康晟昊驰拓鼎益诺精元思迈"
)
INSTITUTION_PATTERNS: Final[dict[FilerKind, tuple[str, ...]]] = {
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
SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈任姚卢陆钱顾"
)
GIVEN_CHARS: Final = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚文华建国志海晨宇欣怡佳俊浩婷雪琳晓颖斌峰瑞"
)

FILER_REJECTIONS: Final = (
    "营业执照扫描件不清晰，请重新上传",
    "诚信承诺书未加盖单位公章",
    "统一社会信用代码与营业执照不一致",
    "实名认证信息与单位名称不符",
)
PRODUCT_REJECTIONS: Final = (
    "所列专利已因未缴年费失效，不满足至少涉及一件有效专利的要求",
    "专利权人与备案主体不一致，且未提供专利实施许可合同",
    "销售额证明材料不足，请补充发票或审计报告",
    "产品型号与证明材料中的型号不一致",
    "同一型号不同颜色、尺寸应合并为一个产品备案",
    "产品尚未形成市场销售，经济效益数据不足",
)
WITHDRAWALS: Final = (
    "产品已停产退市",
    "所涉专利权已转让给关联公司",
    "所涉专利均已失效",
    "企业经营调整，不再生产该产品",
)
REFILING_REASON: Final = "经济数据误以千元为单位填报，撤回后重新备案"
UPHELD_REJECTION: Final = "所涉专利经裁决归他人所有，备案主体不再是专利权人或被许可人"
DISPUTE_CLAIM: Final = "主张该专利系其前员工的职务发明创造，请求确认专利权属"
DISPUTE_ENDINGS: Final[tuple[tuple[DisputeOutcome, str], ...]] = (
    (DisputeOutcome.SETTLED, "经知识产权局调解，双方达成和解"),
    (DisputeOutcome.CLAIM_DISMISSED, "经审查，请求人主张缺乏证据，予以驳回"),
)
UPHELD_NOTE: Final = "生效判决确认专利权归请求人所有"
CLAIMANT_WORDS: Final = ("精工", "微创", "联合", "远航", "中科")
POOLS: Final = ("长三角生物医药专利池", "上海智能制造专利池", "长三角新材料专利池")
FOLLOW_UPS: Final[dict[ConversionCategory, ConversionCategory]] = {
    ConversionCategory.ordinary_licence: ConversionCategory.industrialised_by_licensee,
    ConversionCategory.sole_licence: ConversionCategory.industrialised_by_licensee,
    ConversionCategory.exclusive_licence: ConversionCategory.industrialised_by_licensee,
    ConversionCategory.open_licence: ConversionCategory.ordinary_licence,
    ConversionCategory.industrialised_by_partner: ConversionCategory.equity_contribution,
    ConversionCategory.assigned: ConversionCategory.patent_pool,
}

REVIEWERS: Final = tuple(Actor(id=f"reviewer-{n:02d}", role=Role.REVIEWER) for n in range(1, 7))
REAL_NAME_SERVICE: Final = Actor(id="realname-service", role=Role.SYSTEM)

NEAR_DUPLICATE_REJECTION: Final = "与已备案产品型号相同、专利与经济数据出自同一产品，系重复备案"
DISTINCT_PRODUCT_REASON: Final = "经核查，两者为不同产品：型号、专利与销售凭证均各自独立"
