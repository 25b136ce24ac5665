"""The pages' two languages: Chinese first (zh-CN), English on request.

Why a catalogue here and not gettext: the pages have about a hundred short labels, and the
Chinese ones that also exist in the domain (industry and conversion categories) are taken from
there, so a label is never translated twice. A page's language comes from ``?lang=``, then the
``ppl_lang`` cookie the switch sets, else Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from fastapi import Request

from domain.categories import IndustryCategory

Lang = Literal["zh", "en"]
LANG_COOKIE: Final = "ppl_lang"
HTML_LANG: Final[Mapping[str, str]] = {"zh": "zh-CN", "en": "en"}


def page_language(request: Request) -> Lang:
    """The language of this page: ``?lang=``, else the switch's cookie, else Chinese.

    Accept-Language is not followed: the pages are Chinese first, as the notices are, and
    a reader switches to English once (the cookie keeps the choice)."""
    for wanted in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if wanted in ("zh", "en"):
            return "zh" if wanted == "zh" else "en"
    return "zh"


def chosen_language(request: Request) -> Lang | None:
    """The language the switch asked for on this request (to remember in the cookie)."""
    wanted = request.query_params.get("lang")
    if wanted == "zh":
        return "zh"
    if wanted == "en":
        return "en"
    return None


_STATUS: Final[Mapping[str, tuple[str, str]]] = {
    "pending_review": ("待审核", "Pending review"),
    "approved": ("已备案", "Approved"),
    "rejected": ("已驳回", "Rejected"),
    "withdrawn": ("已撤回", "Withdrawn"),
    "certified": ("已认定", "Certified"),
    "not_certified": ("未认定", "Not certified"),
    "not_eligible": ("不符合条件", "Not eligible"),
    "revoked": ("已撤销", "Revoked"),
    "open": ("待决定", "Open"),
    "round_opened": ("申报中", "Open for filings"),
    "round_evaluating": ("评价中", "Evaluating"),
    "round_published": ("已公示", "Published"),
    "distinct": ("已判定为不同产品", "Decided distinct"),
    "dismissed": ("已驳回", "Dismissed"),
    "upheld": ("已支持", "Upheld"),
}

_SCREENING_REASONS: Final[Mapping[str, tuple[str, str]]] = {
    "same_key": ("产品标识相同", "Same product key"),
    "same_model": ("同一型号不同名称", "Same model under another name"),
    "shared_patent": ("其他备案主体声明了相同专利", "A patent another filer also declares"),
    "similar_name": ("名称近似且缺少型号", "Similar name, model missing"),
    "variant_words": ("仅颜色、规格或配置不同", "Differs only in colour, size or configuration"),
}

_EVENTS: Final[Mapping[str, tuple[str, str]]] = {
    "ProductFiled": ("提交备案", "Filed"),
    "FilingApproved": ("审核通过", "Approved"),
    "FilingRejected": ("审核驳回", "Rejected"),
    "ProductRevised": ("更新数据", "Revised"),
    "ProductWithdrawn": ("撤回", "Withdrawn"),
    "DisputeRaised": ("提出权属争议", "Ownership dispute raised"),
    "DisputeAccepted": ("受理权属争议", "Ownership dispute accepted"),
    "OwnershipDisputeAccepted": ("受理权属争议", "Ownership dispute accepted"),
    "DisputeResolved": ("权属争议结案", "Ownership dispute resolved"),
    "FilingNumberAssigned": ("赋予备案号", "Filing number assigned"),
    "ProductKeyReserved": ("登记产品标识", "Product key reserved"),
    "ProductKeyReleased": ("释放产品标识", "Product key released"),
}

_WORDS: Final[Mapping[str, tuple[str, str]]] = {
    "site": ("专利产品备案账本", "Patent Product Ledger"),
    "skip": ("跳到正文", "Skip to content"),
    "nav_registry": ("备案查询", "Registry"),
    "nav_rounds": ("认定公示", "Certified lists"),
    "nav_statistics": ("统计", "Statistics"),
    "nav_signin": ("登录", "Sign in"),
    "nav_signout": ("退出", "Sign out"),
    "nav_review": ("审核队列", "Review queue"),
    "nav_region": ("本地区", "My district"),
    "nav_audit": ("审计", "Audit"),
    "switch_language": ("English", "中文"),
    "search": ("查询", "Search"),
    "search_label": (
        "产品名称、型号、专利号、备案主体名称、统一社会信用代码或备案号",
        "Product name, model, patent number, filer name, USCC or filing number",
    ),
    "district": ("区县", "District"),
    "category": ("产业类别", "Category"),
    "status": ("状态", "Status"),
    "any": ("不限", "Any"),
    "results": ("查询结果", "Results"),
    "no_results": ("没有符合条件的备案产品。", "No filed product matches."),
    "next_page": ("下一页", "Next page"),
    "first_page": ("第一页", "First page"),
    "product": ("产品", "Product"),
    "name": ("产品名称", "Product name"),
    "model": ("型号", "Model"),
    "filer": ("备案主体", "Filer"),
    "uscc": ("统一社会信用代码", "USCC"),
    "region": ("所在地区", "Region"),
    "patents": ("专利", "Patents"),
    "data_year": ("数据年度", "Data year"),
    "filing_number": ("备案号", "Filing number"),
    "filed_at": ("提交时间", "Filed"),
    "updated_at": ("最近变更", "Last change"),
    "unclassified": ("未分类", "Unclassified"),
    "update_under_review": ("年度更新审核中", "Annual update under review"),
    "certifications": ("认定记录", "Certification history"),
    "no_certifications": ("暂无认定记录。", "No certification yet."),
    "round": ("认定年度", "Round"),
    "decided_at": ("决定时间", "Decided"),
    "trail": ("备案记录", "Trail"),
    "event": ("事件", "Event"),
    "version": ("版本", "Version"),
    "leaf_index": ("日志叶子序号", "Log leaf index"),
    "not_logged": ("尚未写入日志", "Not in the log yet"),
    "time": ("时间", "Time"),
    "actor": ("操作角色", "Actor"),
    "certificate": ("备案证明", "Filing certificate"),
    "certificate_pdf": ("下载 PDF", "Download PDF"),
    "print": ("打印本页即可得到纸质证明。", "Print this page for a paper copy."),
    "approved_at": ("备案日期", "Approved on"),
    "evidence": ("日志证据 (tlog-proof)", "Log evidence (tlog-proof)"),
    "evidence_file": ("下载证据文件 (.tlog-proof)", "Download the evidence file (.tlog-proof)"),
    "evidence_how": (
        "只需公钥即可核验: 下载证据后运行 ppl audit check-evidence, 或在产品页于浏览器中验证。",
        "Only the public keys are needed: download the evidence and run ppl audit "
        "check-evidence, or verify in the browser on the product page.",
    ),
    "key_fingerprints": ("签名公钥指纹", "Signing key fingerprints"),
    "no_certificate": ("该产品尚未获得备案号。", "This product has no filing number yet."),
    "rounds": ("专利密集型产品认定公示", "Certified patent-intensive products"),
    "objection_window": ("异议期", "Objection window"),
    "certified_list": ("认定名单", "Certified list"),
    "not_published": ("名单尚未公示。", "The list is not published yet."),
    "statistics": ("备案统计 (已发布)", "Filing statistics (published)"),
    "period": ("发布期", "Period"),
    "products": ("备案产品数", "Products"),
    "filers": ("备案主体数", "Filers"),
    "sales": ("销售额", "Sales"),
    "exports": ("出口额", "Exports"),
    "suppressed": ("保密", "Suppressed"),
    "no_publication": ("尚无已发布的统计。", "No statistics published yet."),
    "monthly_series": ("按月发布序列", "Monthly series"),
    "signin": ("登录", "Sign in"),
    "session_ended": (
        "会话已结束 (令牌过期或被吊销), 请重新登录。",
        "Your session ended (token expired or revoked): sign in again.",
    ),
    "token": ("访问令牌", "Access token"),
    "token_help": (
        "令牌只保存在仅限本站、脚本不可读取的会话 Cookie 中, 从不出现在网址里。",
        "The token is kept in a same-site, script-proof session cookie, never in a URL.",
    ),
    "signed_in_as": ("当前角色", "Signed in as"),
    "review_queue": ("待审核备案", "Filings awaiting review"),
    "candidates": ("疑似重复备案", "Near-duplicate candidates"),
    "no_candidates": ("没有疑似重复备案。", "No near-duplicate candidate."),
    "reasons": ("命中原因", "Reasons"),
    "decision": ("决定", "Decision"),
    "approve": ("通过", "Approve"),
    "reject": ("驳回", "Reject"),
    "distinct_reason": ("判定为不同产品的理由", "Why it is another product"),
    "reject_reason": ("驳回理由", "Reason for rejection"),
    "duplicate_of": ("与之重复的备案 (可选)", "Duplicates filing (optional)"),
    "none": ("无", "None"),
    "decided": ("已记录决定", "Decision recorded"),
    "region_dashboard": ("本地区概况", "District dashboard"),
    "region_filings": ("本地区备案", "Filings of the district"),
    "live_figures": (
        "实时数据 (不做保密处理, 仅本地区)",
        "Live figures (unsuppressed, own region)",
    ),
    "audit_page": ("审计", "Audit"),
    "checkpoints": ("已签名检查点", "Signed checkpoints"),
    "tree_size": ("树大小", "Tree size"),
    "root_hash": ("根哈希", "Root hash"),
    "bundle": ("下载审计包", "Download the audit bundle"),
    "witness_state": ("见证状态", "Witnesses"),
    "no_witness": (
        "尚未配置见证者 (见证功能将在后续版本提供)。",
        "No witness is configured yet (witnessing comes in a later release).",
    ),
    "error": ("出错了", "Something went wrong"),
    "back_home": ("返回首页", "Back to the registry"),
    "verify": ("在浏览器中验证", "Verify in the browser"),
    "verify_witness_quorum": ("见证联署要求", "Witness quorum"),
    "verify_no_witness_required": (
        "无 (不要求见证者联署)",
        "None (no witness cosignature required)",
    ),
    "verify_witness_keys": ("见证者公钥", "Witness keys"),
    "verify_pin_witness_keys": (
        "见证者公钥 (名称+密钥编号+密钥, 以空格或换行分隔; 填写后只信任这些见证者)",
        "Witness keys (name+key id+key, separated by spaces or new lines; when given, only "
        "these witnesses are trusted)",
    ),
    "verify_pin_witness_threshold": (
        "至少需要几个见证者的有效联署 (默认: 全部)",
        "How many of them must validly cosign (default: all)",
    ),
}

_ALL: Final = (_WORDS, _STATUS, _SCREENING_REASONS, _EVENTS)


def label(lang: Lang, key: str) -> str:
    """The label ``key`` in ``lang``; an unknown key shows itself (a missing label is seen,
    not hidden)."""
    index = 0 if lang == "zh" else 1
    for table in _ALL:
        if key in table:
            return table[key][index]
    return key


def category_label(lang: Lang, code: str | None) -> str:
    """An industry category's official label (domain.categories), or "unclassified"."""
    if code is None:
        return label(lang, "unclassified")
    try:
        category = IndustryCategory(code)
    except ValueError:
        return code
    return category.label_zh if lang == "zh" else category.label


CATEGORY_CODES: Final = tuple(category.value for category in IndustryCategory)
