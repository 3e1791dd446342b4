"""Chinese tokenisation for matching: jieba search mode + a domain dictionary + patent stopwords.

Search mode (``cut_for_search``) emits a long dictionary word *and* its dictionary sub-words
(锂离子电池 → 锂离子, 电池, 锂离子电池), so a demand that says 电池 still meets a patent about
锂离子电池 while an exact compound match counts more. The domain dictionary
(``domain_dict.txt``) keeps technical compounds whole that jieba's general dictionary would split
(正极材料, 机器视觉, 瓦斯抽采 ...). Text is NFKC-normalised and lower-cased first, so full-width
and upper-case latin (ＬＥＤ, LED) meet ``led``.

Dropped: patent and demand boilerplate (stopwords: 一种, 所述, 本发明, 方法, 装置 ...),
punctuation, pure numbers, single latin letters, and single Chinese characters except a short
list that carry meaning alone in technical text (煤, 钢, 锂, 氢 ...).

One private ``jieba.Tokenizer`` is initialised once, lazily, under a lock, with jieba's logging
silenced; after that ``tokenize`` only reads it, so it is safe from several threads.
``TOKENIZER_VERSION`` includes a hash of the dictionary and of the rules below: store it with
cached tokens and re-tokenise when it changes.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
import unicodedata
from pathlib import Path

import jieba

DICT_PATH = Path(__file__).resolve().parent / "domain_dict.txt"

STOPWORDS = frozenset("""
的 了 和 与 及 或 其 之 以 于 在 对 由 将 被 把 为 是 有 无 不 可 并 而 且 等 各 每 该 此 这 那 个 中 上 下 内 外
及其 以及 或者 和/或 一种 一个 一些 多个 若干 至少 所述 所示 上述 下述 如下 如上 其中 其特征 特征 特征在于 其特征在于 在于
本发明 发明 本实用新型 实用新型 本申请 申请 本公开 公开 公开了 提供 提供了 涉及 属于 领域 技术领域 背景技术 现有技术
方法 装置 设备 用于 包括 包含 含有 具有 设有 设置 设置有 通过 采用 利用 使用 进行 实现 使得 从而 能够 可以 以便 用以 所需
步骤 权利 要求 权利要求 根据 依据 基于 相应 对应 分别 依次 然后 之后 以后 之前 同时 并且 以上 以下 左右 大约 优选 优选地 具体 具体地
针对 存在 适用 适用于 结合 相结合 一侧 一端 另一端
技术 问题 解决 目前 现有 我们 我司 我公司 本公司 公司 企业 需求 需要 寻求 希望 急需 求购 合作 意向 相关 方面 主要
""".split())

# Single characters that name a material, an element, a crop or a physical quantity.
MEANINGFUL_CHARS = frozenset("""
煤 钢 铁 铜 铝 锂 钠 钾 镁 锌 镍 钴 钛 锰 铬 钒 钼 钨 锡 铅 金 银 硅 碳 氢 氧 氮 硫 磷 氟 氯 硼 油 气 水 电 光 热 声 磁
茶 米 稻 麦 棉 麻 竹 木 纸 砖 瓦 胶 漆 盐 碱 酸 药 酒 醋 猪 牛 羊 鸡 鸭 鱼 虾 蟹 蚕 蜂 菌 藻 奶 蛋 肉 菜 果 花 泵 阀 锅 炉 窑
""".split())

_RULES = "v2:nfkc,lower,search-mode,hmm,stopwords,single-char-whitelist,numbers-of-3-digits"

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def _dictionary_terms() -> list[str]:
    terms = []
    for line in DICT_PATH.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            terms.append(line.split()[0].lower())
    return terms


def _version() -> str:
    digest = hashlib.sha256(DICT_PATH.read_bytes() + _RULES.encode()
                            + "".join(sorted(STOPWORDS | MEANINGFUL_CHARS)).encode())
    return f"jieba-{jieba.__version__}+{digest.hexdigest()[:12]}"


TOKENIZER_VERSION: str = _version()


def _get() -> jieba.Tokenizer:
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                logging.getLogger("jieba").setLevel(logging.WARNING)
                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                for term in _dictionary_terms():
                    tk.add_word(term)  # freq suggested by jieba: enough to keep the term whole
                _tokenizer = tk
    return _tokenizer


def warm_up() -> None:
    """Load jieba and the domain dictionary now (about 0.6 s) rather than on the first call."""
    _get()


def _keep(token: str) -> bool:
    if token in STOPWORDS:
        return False
    if not any(ch.isalnum() for ch in token):
        return False  # punctuation, spaces, symbols
    if token.isdigit() and len(token) >= 3:
        return True  # grades and models (304 不锈钢, 6061 铝合金, 18650 电池) name the product
    if token.isdigit() or token.replace(".", "", 1).isdigit():
        return False  # short bare numbers (10, 2.5) say nothing without their unit
    if len(token) == 1:
        return token in MEANINGFUL_CHARS
    return True


def tokenize(text: str | None) -> list[str]:
    """Tokens of ``text`` for BM25 (interned strings; empty for None or blank text)."""
    if not text or not text.strip():
        return []
    normalised = unicodedata.normalize("NFKC", text).lower()
    return [sys.intern(t) for t in _get().cut_for_search(normalised)
            if t == t.strip() and _keep(t)]
