"""Quality of the matching engine on the labelled evaluation set (tests/matching/eval/*.jsonl).

``patents.jsonl``: one open-licence patent a line (id, title, abstract, claims, ipc_codes,
technical_field, application_scenarios, patentee_type). ``demands.jsonl``: one demand a line
(id, title, description, technical_field, ipc_hints, industry_code, budget_max_cny, relevant:
{patent id: grade 2 = answers the demand, 1 = partly}). Every patent is indexed as an open
licence with region, industry and fee terms unknown (those components are neutral), so the set
measures text, IPC and the stock-patent boost.

Metrics, averaged over the demands that have at least one relevant patent:
* nDCG@10: gain = grade (2 or 1), discount log2(rank + 1), normalised by the ideal ordering of
  the demand's labels;
* recall@10: relevant (grade ≥ 1) patents in the top 10 / all relevant patents.
Reported for the blend (``SearchIndex.search``) and for BM25 alone (``search_text``).

Usage: python -m tests.matching.eval.evaluate
"""

from __future__ import annotations

import json
import math
import statistics
import time
from decimal import Decimal
from pathlib import Path

from services.matching.engine.index import Doc, Query, SearchIndex, document_tokens, query_tokens

EVAL_DIR = Path(__file__).resolve().parent
K = 10


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        raise FileNotFoundError(str(path))
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def to_doc(p: dict) -> Doc:
    return Doc(doc_id=p["id"], application_no=p["id"], title=p["title"],
               tokens=document_tokens(title=p["title"], abstract=p.get("abstract"),
                                      claims=p.get("claims"),
                                      technical_field=p.get("technical_field"),
                                      application_scenarios=p.get("application_scenarios")),
               ipc_codes=tuple(p.get("ipc_codes") or ()),
               patentee_type=p.get("patentee_type") or "other")


def to_query(d: dict) -> Query:
    budget = d.get("budget_max_cny")
    return Query(tokens=query_tokens(title=d["title"], description=d.get("description"),
                                     technical_field=d.get("technical_field")),
                 ipc_codes=tuple(d.get("ipc_hints") or ()), industry_code=d.get("industry_code"),
                 budget_max_cny=None if budget in (None, "") else Decimal(str(budget)))


def ndcg(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    dcg = sum(grades.get(doc_id, 0) / math.log2(i + 2) for i, doc_id in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    relevant = {d for d, g in grades.items() if g >= 1}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def evaluate(directory: Path = EVAL_DIR) -> dict:
    """Build the index from the patents, run every demand; the mean metrics per ranking mode."""
    patents = read_jsonl(directory / "patents.jsonl")
    demands = read_jsonl(directory / "demands.jsonl")
    started = time.perf_counter()
    docs = [to_doc(p) for p in patents]
    tokenise_s = time.perf_counter() - started
    started = time.perf_counter()
    index = SearchIndex(docs)
    build_s = time.perf_counter() - started
    scores: dict[str, dict[str, list[float]]] = {m: {"ndcg@10": [], "recall@10": []}
                                                 for m in ("blend", "text_only")}
    judged = 0
    for d in demands:
        grades = {pid: int(g) for pid, g in (d.get("relevant") or {}).items() if int(g) > 0}
        if not grades:
            continue
        judged += 1
        q = to_query(d)
        rankings = {"blend": [m.doc_id for m in index.search(q, K)],
                    "text_only": [doc_id for doc_id, _ in index.search_text(q, K)]}
        for mode, ranked in rankings.items():
            scores[mode]["ndcg@10"].append(ndcg(ranked, grades))
            scores[mode]["recall@10"].append(recall(ranked, grades))
    result: dict = {"patents": len(patents), "demands": judged,
                    "pairs": sum(len([g for g in (d.get("relevant") or {}).values() if int(g) > 0])
                                 for d in demands),
                    "tokenise_seconds": round(tokenise_s, 2), "build_seconds": round(build_s, 2)}
    for mode, metrics in scores.items():
        result[mode] = {name: statistics.fmean(v) if v else 0.0 for name, v in metrics.items()}
    return result


def main() -> None:
    r = evaluate()
    print(f"matching evaluation: {r['patents']} patents, {r['demands']} demands, "
          f"{r['pairs']} relevant pairs (index built in {r['build_seconds']} s)")
    print(f"{'ranking':32} {'nDCG@10':>8} {'recall@10':>10}")
    for mode, label in (("text_only", "BM25 alone (text)"),
                        ("blend", "blend (text+IPC+fit+stock)")):
        print(f"{label:32} {r[mode]['ndcg@10']:8.3f} {r[mode]['recall@10']:10.3f}")


if __name__ == "__main__":
    main()
