"""Problem titles in the caller's language: Chinese (zh-CN) or English, by ``Accept-Language``.

Why only the title: RFC 9457 lets a problem's ``title`` change "for localization" while its
``type`` stays the stable identifier clients branch on; ``detail`` is the occurrence's own
text (it quotes the values refused) and stays English, as the event and log texts do.

Negotiation: the caller's languages in order of preference (``q``, werkzeug parses the header);
the first whose primary subtag is ``zh`` (any script or region: zh, zh-CN, zh-Hans, zh-TW)
gives Chinese, ``en`` gives English; without either — or without the header — English, so a
client of an earlier release sees what it saw. A response that depends on the header says so
(``Content-Language``, ``Vary: Accept-Language``). A recorded refusal replayed under the same
Idempotency-Key returns the title it was first given.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from http import HTTPStatus
from types import MappingProxyType
from typing import Final

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header


class Language(StrEnum):
    """The languages a problem title is given in (the ``Content-Language`` tag)."""

    EN = "en"
    ZH = "zh-CN"


_PRIMARY: Final[Mapping[str, Language]] = MappingProxyType({"zh": Language.ZH, "en": Language.EN})


def language_of(accept_language: str | None) -> Language:
    """The caller's first language among ours, by preference; English when none is."""
    for tag, quality in parse_accept_header(accept_language or "", LanguageAccept):
        chosen = _PRIMARY.get(tag.split("-", 1)[0].lower())
        if chosen is not None and quality > 0:
            return chosen
    return Language.EN


ZH_API_TITLES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "request_invalid": "请求不符合该操作的格式",
        "body_not_json": "请求体不是 JSON",
        "body_too_large": "请求体超过服务接受的大小",
        "unsupported_media_type": "请求体须为 application/json",
        "not_authenticated": "需要提供令牌（Bearer）",
        "token_invalid": "令牌无效、格式错误或已吊销",
        "token_expired": "令牌已过期",
        "rate_limited": "此类请求过多：请在 Retry-After 秒后重试",
        "headers_too_large": "请求头过大",
        "forbidden": "调用者的角色或范围不允许此操作",
        "cross_site_request": "其他网站发起的请求不得更改任何内容",
        "not_found": "资源不存在",
        "method_not_allowed": "该资源不支持此方法",
        "query_invalid": "查询参数无法应答",
        "position_invalid": "PPL-Min-Position 请求头不是通知编号",
        "idempotency_key_invalid": "Idempotency-Key 请求头不可接受",
        "idempotency_key_reused": "该 Idempotency-Key 已用于另一请求",
        "idempotency_key_in_progress": "使用该 Idempotency-Key 的请求正在处理中",
        "if_match_invalid": "If-Match 须携带一个记录版本号",
        "projection_not_built": "读模型尚未建成",
        "store_unavailable": "数据库无法连接：请稍后重试",
        "log_not_available": "默克尔日志中没有该检查点或叶子",
        "proof_unavailable": "无法按这些大小或序号生成证明",
        "event_too_large": "本命令将记录的事件超过日志条目的大小上限",
        "ledger_integrity_failure": "存储的事件或日志未通过校验",
        "malformed_tile_path": "该路径不是 tlog-tiles 格式的任何瓦片",
        "tile_not_found": "日志最新的已签名检查点尚未覆盖该瓦片",
        "index_not_available": "产品索引尚未为任何检查点建立",
        "index_busy": "读取时产品索引已更新，请重试",
        "entry_too_large": "某条日志条目超出条目包长度前缀的上限",
        "read_model_failed": "读模型无法应用日志中的某个事件",
        "internal": "服务器内部错误",
    }
)
"""The Chinese title of every API problem (api.problems.API_PROBLEMS; a test keeps the two
lists equal)."""

ZH_STATUS_TITLES: Final[Mapping[int, str]] = MappingProxyType(
    {
        400: "请求错误",
        401: "未认证",
        403: "禁止访问",
        404: "未找到",
        405: "方法不允许",
        409: "冲突",
        412: "前提条件不满足",
        413: "请求体过大",
        415: "不支持的媒体类型",
        422: "无法处理的内容",
        429: "请求过多",
        431: "请求头过大",
        500: "服务器内部错误",
        503: "服务不可用",
    }
)
"""The Chinese of the HTTP status phrase, the title of a domain refusal (api.problems
``domain_problem``), for every status a problem of this API has."""


def api_title(code: str, english: str, language: Language) -> str:
    """The title of the API problem ``code`` in ``language``."""
    return ZH_API_TITLES[code] if language is Language.ZH else english


def status_title(status: int, language: Language) -> str:
    """The title of a domain refusal answered with ``status``, in ``language``."""
    if language is Language.ZH:
        return ZH_STATUS_TITLES[status]
    return HTTPStatus(status).phrase


def language_headers(language: Language) -> dict[str, str]:
    """What a problem response says of its language."""
    return {"Content-Language": language.value, "Vary": "Accept-Language"}
