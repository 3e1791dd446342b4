"""The matching engine as pure functions and an in-memory index (no database, no service)."""

from __future__ import annotations

import random
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.matching.engine import packs
from services.matching.engine.bruteforce import BruteForce, brute_force_search
from services.matching.engine.index import (Doc, Query, SearchIndex, document_tokens,
                                            query_tokens)
from services.matching.engine.ipc import ipc_proximity, normalise_hint
from services.matching.engine.scoring import (budget_component, industry_component,
                                              region_component, stock_component)
from services.matching.engine.tokenize import TOKENIZER_VERSION, tokenize
from shared.policy import PolicyPackError, load_pack

PACK = packs.current()


def with_index(**changes) -> packs.MatchingPack:
    """The 2024 pack with other index maintenance settings (to exercise the delta path)."""
    data = PACK.data.model_copy(update={"index": PACK.data.index.model_copy(update=changes)})
    return PACK.model_copy(update={"data": data})


DELTA_PACK = with_index(sync_rebuild_below_docs=0, rebuild_after_pending=10_000,
                        rebuild_after_fraction=1.0)


def doc(doc_id: str, title: str, abstract: str = "", *, ipc: tuple[str, ...] = (),
        **fields) -> Doc:
    return Doc(doc_id=doc_id, application_no=f"2023{doc_id[-4:]:0>8}.X", title=title,
               tokens=document_tokens(title=title, abstract=abstract), ipc_codes=ipc, **fields)


def query(title: str, description: str | None = None, **fields) -> Query:
    return Query(tokens=query_tokens(title=title, description=description), **fields)


CORPUS = [
    doc("P0001", "一种锂离子电池正极材料及其制备方法", "高镍三元正极材料，提高循环寿命和能量密度",
        ipc=("H01M 4/525",), patentee_type="university"),
    doc("P0002", "基于深度学习的煤矿瓦斯浓度预测方法", "利用神经网络对井下瓦斯浓度进行预测预警",
        ipc=("E21F 17/18",), patentee_type="enterprise"),
    doc("P0003", "一种光伏组件清洗机器人", "光伏电站组件表面自动清洗，节水", ipc=("H02S 40/10",),
        patentee_type="research_institute"),
    doc("P0004", "一种动力电池热管理系统", "电动汽车电池包液冷散热", ipc=("H01M 10/613",),
        patentee_type="enterprise"),
    doc("P0005", "数控机床刀具磨损在线检测方法", "采用机器视觉检测刀具磨损", ipc=("B23Q 17/09",)),
    doc("P0006", "一种电解液添加剂", "改善电芯高温存储性能", ipc=("H01M 10/0567",)),
]


# -- tokenizer --------------------------------------------------------------------------------

def test_domain_terms_stay_whole_and_boilerplate_goes():
    tokens = tokenize("本发明公开了一种锂离子电池正极材料及其制备方法和装置，所述方法采用机器视觉")
    for term in ("锂离子电池", "正极材料", "机器视觉"):
        assert term in tokens
    assert "电池" in tokens  # search mode: the sub-word too
    for stop in ("本发明", "一种", "及其", "所述", "方法", "装置", "，"):
        assert stop not in tokens


def test_empty_latin_numbers_and_single_characters():
    assert tokenize(None) == [] and tokenize("") == [] and tokenize("  \n") == []
    assert tokenize("LED 与 ＰＩＤ 控制 10 个") == ["led", "pid", "控制"]
    assert "煤" in tokenize("煤 的 洗选")  # a meaningful single character stays
    assert isinstance(TOKENIZER_VERSION, str) and TOKENIZER_VERSION.startswith("jieba-")


def test_tokenize_is_thread_safe():
    text = "基于深度学习的煤矿瓦斯浓度预测方法，光伏组件清洗机器人"
    expected = tokenize(text)
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(tokenize(text))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 8


# -- IPC --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("h01m10/0525", "H01M 10/0525"), ("H01M 10/0525", "H01M 10/0525"),
    ("H01M0010/0525", "H01M 10/0525"), ("H01M 10/0525 (2010.01)", "H01M 10/0525"),
    ("H", "H"), ("h01", "H01"), ("H01M", "H01M"), ("H01M 10", "H01M 10"),
    ("X01M", None), ("H01M10/", None), ("", None), ("电池", None),
])
def test_normalise_hint(raw, expected):
    assert normalise_hint(raw) == expected


@pytest.mark.parametrize("query_codes,level", [
    (["H01M 10/0525"], "subgroup"), (["H01M 10/058"], "main_group"), (["H01M 10"], "main_group"),
    (["H01M 4/13"], "subclass"), (["H01M"], "subclass"), (["H01G 11/00"], "class"),
    (["H02J 7/00"], "section"), (["E21F 17/18"], "none"),
    (["E21F 17/18", "h01m10/0525"], "subgroup"),  # the best pair over both lists
])
def test_ipc_proximity_levels(query_codes, level):
    score, name = ipc_proximity(query_codes, ["G06F 16/30", "H01M 10/0525"], pack=PACK)
    assert name == level
    assert score == PACK.data.ipc_levels.level(level)


# -- components -------------------------------------------------------------------------------

def test_budget_fit():
    q = Query(tokens=(), budget_max_cny=Decimal("100000"))
    fee = lambda v: doc("P9", "x", lump_sum_cny=Decimal(v))  # noqa: E731
    assert budget_component(q, fee("80000"), PACK)[0] == 1.0
    assert budget_component(q, fee("200000"), PACK)[0] == pytest.approx(0.5)
    royalty = doc("P9", "x", royalty_rate=Decimal("0.03"), payment_method="royalty")
    score, detail = budget_component(q, royalty, PACK)
    assert score == PACK.data.budget.royalty_only and "3.00%" in detail
    assert budget_component(q, doc("P9", "x", lump_sum_cny=Decimal("0")), PACK)[0] == 1.0
    score, detail = budget_component(q, doc("P9", "x"), PACK)
    assert score == 0.5 and "unknown" in detail
    score, detail = budget_component(Query(tokens=()), fee("1"), PACK)
    assert score == 0.5 and "no budget" in detail


def test_region_industry_stock():
    d = doc("P9", "x", region_code="140202", industry_codes=("C3841",),
            patentee_type="university")
    assert region_component(Query(tokens=(), region_code="140211"), d, PACK)[0] == 1.0
    assert region_component(Query(tokens=(), region_code="140100"), d, PACK)[0] == 0.6
    assert region_component(Query(tokens=(), region_code="420281"), d, PACK)[0] == 0.0
    assert region_component(Query(tokens=()), d, PACK)[0] == 0.3
    assert industry_component(Query(tokens=(), industry_code="C3849"), d, PACK)[0] == 1.0
    assert industry_component(Query(tokens=(), industry_code="C2614"), d, PACK)[0] == 0.5
    assert industry_component(Query(tokens=(), industry_code="3841"), d, PACK)[0] == 1.0
    assert industry_component(Query(tokens=(), industry_code="I6513"), d, PACK)[0] == 0.0
    assert industry_component(Query(tokens=()), d, PACK)[0] == 0.3
    score, detail = stock_component(d, PACK)
    assert score == 1.0 and "存量专利盘活" in detail
    assert stock_component(doc("P9", "x", patentee_type="enterprise"), PACK)[0] == 0.0


def test_blend_is_the_sum_of_explained_contributions():
    index = SearchIndex(CORPUS, pack=PACK)
    q = query("寻求高能量密度锂电池正极材料", "用于电动汽车", ipc_codes=("H01M",),
              budget_max_cny=Decimal("100000"))
    matches = index.search(q, k=5)
    assert [m.doc_id for m in matches][:1] == ["P0001"]
    for m in matches:
        assert set(m.components) == {"text", "ipc", "budget", "region", "industry", "stock"}
        for name, c in m.components.items():
            assert c["weight"] == PACK.data.weight(name)
            assert c["contribution"] == pytest.approx(c["score"] * c["weight"])
            assert 0.0 <= c["score"] <= 1.0 and c["detail"]
        assert m.score == pytest.approx(sum(c["contribution"] for c in m.components.values()))
    top = matches[0].components
    assert "正极材料" in top["text"]["detail"] and top["ipc"]["score"] == 0.6
    assert top["stock"]["score"] == 1.0


def test_text_component_zero_when_no_query_word_is_in_the_patent():
    index = SearchIndex(CORPUS, pack=PACK)
    m = index.explain(query("量子计算"), "P0001")
    assert m.components["text"]["score"] == 0.0
    assert "no query term" in m.components["text"]["detail"]


def test_explain_equals_the_search_result():
    index = SearchIndex(CORPUS, pack=PACK)
    q = query("电池热管理与电解液", ipc_codes=("H01M 10/0525",))
    for m in index.search(q, k=3):
        assert index.explain(q, m.doc_id) == m
    assert index.explain(q, "P9999") is None


# -- index maintenance ------------------------------------------------------------------------

@pytest.mark.parametrize("pack", [PACK, DELTA_PACK], ids=["sync-rebuild", "delta"])
def test_remove_is_immediate_and_upsert_visible(pack):
    index = SearchIndex(CORPUS, pack=pack)
    q = query("光伏组件清洗")
    assert index.search(q, k=1)[0].doc_id == "P0003"
    index.remove("P0003")
    assert "P0003" not in index and all(m.doc_id != "P0003" for m in index.search(q, k=10))
    assert index.explain(q, "P0003") is None
    index.upsert(doc("P0007", "光伏组件自动清洗装置", "光伏电站无水清洗"))
    assert index.search(q, k=1)[0].doc_id == "P0007"
    # a replaced version: the old words no longer find it, the new ones do
    index.upsert(doc("P0007", "一种矿用带式输送机", "煤矿井下输送"))
    assert all(m.doc_id != "P0007" for m in index.search(q, k=10))
    assert index.search(query("带式输送机"), k=1)[0].doc_id == "P0007"
    assert len(index) == len(CORPUS)


def test_delta_scores_exactly_like_the_base():
    """A doc added since the build scores as its twin already in the base (same statistics)."""
    index = SearchIndex(CORPUS, pack=DELTA_PACK)
    twin = CORPUS[0]
    index.upsert(Doc(**{**{f: getattr(twin, f) for f in Doc.__slots__}, "doc_id": "P0000"}))
    assert index.stats()["delta_docs"] == 1
    q = query("锂离子电池正极材料")
    first, second = index.search(q, k=2)
    assert {first.doc_id, second.doc_id} == {"P0000", "P0001"}
    assert first.components == second.components and first.doc_id == "P0000"  # tie → doc_id


@pytest.mark.parametrize("pending,fraction", [(3, 1.0), (1000, 0.3)],
                         ids=["pending-count", "fraction-of-docs"])
def test_pending_changes_trigger_a_background_rebuild(pending, fraction):
    """Three changes start a rebuild: 3 pending, or 30 % of 9 docs."""
    index = SearchIndex(CORPUS, pack=with_index(sync_rebuild_below_docs=0,
                                                 rebuild_after_pending=pending,
                                                 rebuild_after_fraction=fraction))
    before = index.stats()["builds"]
    for i in range(3):
        index.upsert(doc(f"P01{i:02d}", f"瓦斯抽采钻孔封孔装置{i}", "煤矿瓦斯抽采"))
    index.wait_for_rebuild(timeout=30)
    stats = index.stats()
    assert stats["builds"] == before + 1 and stats["pending"] == 0 and stats["delta_docs"] == 0
    assert stats["docs"] == len(CORPUS) + 3
    found = {m.doc_id for m in index.search(query("瓦斯抽采"), k=10)}
    assert {"P0100", "P0101", "P0102", "P0002"} <= found


def test_changes_during_a_rebuild_are_kept(monkeypatch: pytest.MonkeyPatch):
    """A remove and an upsert that land while the new base is being built survive the swap."""
    from services.matching.engine import index as index_module

    index = SearchIndex(CORPUS, pack=DELTA_PACK)
    real_base = index_module._Base

    def base_built_while_changes_arrive(docs, pack):
        index.remove("P0001")
        index.upsert(doc("P0200", "钠离子电池负极材料", "硬碳负极"))
        return real_base(docs, pack)

    monkeypatch.setattr(index_module, "_Base", base_built_while_changes_arrive)
    index.rebuild()
    stats = index.stats()
    assert stats["pending"] == 2 and stats["delta_docs"] == 1
    ids = [m.doc_id for m in index.search(query("电池负极材料"), k=10)]
    assert "P0001" not in ids and "P0200" in ids


# -- ranking ----------------------------------------------------------------------------------

def test_ipc_only_candidates_are_found_without_shared_words():
    index = SearchIndex(CORPUS, pack=PACK)
    matches = index.search(query("超级电容储能", ipc_codes=("H01M",)), k=10)
    ids = {m.doc_id for m in matches}
    assert {"P0001", "P0004", "P0006"} <= ids  # no word in common, same subclass
    assert "P0005" not in ids


def test_exclude():
    index = SearchIndex(CORPUS, pack=PACK)
    q = query("锂离子电池正极材料")
    assert index.search(q, k=1, exclude={"P0001"})[0].doc_id != "P0001"


def test_deterministic_with_ties_broken_by_doc_id():
    twins = [doc(f"P{n:04d}", "一种煤矸石制备建筑材料的方法", "煤矸石资源化利用") for n in (30, 10, 20)]
    corpus = CORPUS + twins
    shuffled = corpus[:]
    random.Random(7).shuffle(shuffled)
    q = query("煤矸石资源化利用")
    a = SearchIndex(corpus, pack=PACK).search(q, k=5)
    b = SearchIndex(shuffled, pack=PACK).search(q, k=5)
    assert a == b
    assert [m.doc_id for m in a[:3]] == ["P0010", "P0020", "P0030"]


WORDS = ["锂离子电池", "正极材料", "煤矿", "瓦斯", "光伏组件", "深度学习", "数控机床", "刀具",
         "焊接", "催化剂", "污水处理", "传感器", "芯片", "疫苗", "水稻", "混凝土"]
IPCS = ["H01M 4/525", "H01M 10/0525", "E21F 17/18", "H02S 40/10", "G06N 3/08", "B23K 26/00",
        "C02F 3/00", "A61K 39/00"]

corpora = st.lists(
    st.tuples(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6),
              st.lists(st.sampled_from(IPCS), max_size=2),
              st.sampled_from(["university", "enterprise"]),
              st.one_of(st.none(), st.integers(0, 300_000))),
    min_size=1, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=corpora, words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
       hints=st.lists(st.sampled_from(IPCS + ["H01M", "G06"]), max_size=2),
       budget=st.one_of(st.none(), st.integers(0, 200_000)))
def test_index_ranks_exactly_like_brute_force(corpus, words, hints, budget):
    docs = [Doc(doc_id=f"D{i:03d}", application_no=f"A{i}", title="".join(w),
                tokens=document_tokens(title=" ".join(w[:2]), abstract=" ".join(w)),
                ipc_codes=tuple(ipc), patentee_type=kind,
                lump_sum_cny=None if fee is None else Decimal(fee))
            for i, (w, ipc, kind, fee) in enumerate(corpus)]
    q = Query(tokens=query_tokens(title=" ".join(words)), ipc_codes=tuple(hints),
              budget_max_cny=None if budget is None else Decimal(budget))
    index = SearchIndex(docs, pack=DELTA_PACK)
    assert index.search(q, k=10) == brute_force_search(docs, q, k=10, pack=DELTA_PACK)
    text = BruteForce(docs, pack=DELTA_PACK).search(q, k=10, text_only=True)
    got = index.search_text(q, k=10)
    assert [d for d, _ in got] == [d for d, _ in text] or all(
        abs(a[1] - b[1]) < 1e-5 for a, b in zip(got, text))


# -- the pack ---------------------------------------------------------------------------------

def test_pack_figures_and_push_settings():
    data = PACK.data
    assert sum(data.weight(c) for c in packs.COMPONENTS) == pytest.approx(1.0)
    assert data.push.top_n >= 1 and 0 < data.push.min_score < 1 and data.push.pool_first
    assert PACK.data.weight_sources["stock"].confidence == "C"
    assert all(data.weight_sources[c].confidence == "U" for c in packs.COMPONENTS
               if c != "stock")


@pytest.mark.parametrize("change,message", [
    (("text: 0.55", "text: 0.65"), "weights must sum to 1"),
    (("    stock: 0.05\n  weight_sources", "    stock: 0.05\n    bonus: 0.0\n  weight_sources"),
     "bonus"),
    (("    subgroup: 1.0", "    subgroup: 0.1"), "must not increase"),
])
def test_pack_validation_names_the_problem(tmp_path: Path, change, message):
    text = (packs.PACK_DIR / "matching-2024.yaml").read_text(encoding="utf-8")
    assert change[0] in text
    bad = tmp_path / "matching-2024.yaml"
    bad.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(PolicyPackError, match=message):
        load_pack(bad, packs.MatchingRules)


def test_one_shared_generic_word_is_a_weak_match_even_in_a_tiny_index():
    """A bakery's demand shares only 自动 with a gas-monitoring patent: the words the index has
    never seen (面包, 烘焙) still count in what the demand asked for, so the text score stays
    low and the patent is not pushed to the bakery (a province starts with a handful of open
    licences, where df-based weights say little)."""
    gas = doc("G1", title="一种煤矿井下瓦斯浓度在线监测与超限自动报警系统",
              abstract="瓦斯浓度超限时自动断电并声光报警。")
    index = SearchIndex([gas], pack=PACK)
    m = index.explain(query("面包烘焙自动化", description="想改进面包烘焙线的温控。"), "G1")
    assert 0 < m.components["text"]["score"] < 0.3
    assert m.score < PACK.data.push.min_score
    strong = index.explain(query("瓦斯浓度监测报警"), "G1")
    assert strong.components["text"]["score"] > 0.8


def test_documents_without_a_word_do_not_stop_the_index():
    """A declaration whose text tokenises to nothing (a bare "一种装置") is indexed by its IPC
    codes alone; an index of only such documents still builds, answers, and takes the next
    declaration (bm25s cannot build over a corpus without a word)."""
    bare = doc("B1", "一种装置", ipc=("E21F 17/18",))
    assert bare.tokens == ()
    index = SearchIndex([bare], pack=PACK)
    assert [m.doc_id for m in index.search(query("瓦斯", ipc_codes=("E21F",)))] == ["B1"]
    index.upsert(doc("G1", "一种煤矿瓦斯浓度监测系统"))
    index.rebuild()
    assert index.search(query("瓦斯浓度监测"))[0].doc_id == "G1"


def test_grades_and_model_numbers_are_words_short_numbers_are_not():
    """An SME asking for 304 stainless or 18650 cells means those grades; "10 台" means nothing
    without its unit."""
    from services.matching.engine.tokenize import tokenize
    assert "304" in tokenize("304不锈钢管") and "18650" in tokenize("18650锂电池组")
    assert "10" not in tokenize("年产10台") and "2.5" not in tokenize("厚度2.5毫米")
    index = SearchIndex([doc("S304", "一种304不锈钢管的焊接方法"),
                         doc("S316", "一种316不锈钢管的焊接方法")], pack=PACK)
    assert index.search(query("304不锈钢管焊接"))[0].doc_id == "S304"
