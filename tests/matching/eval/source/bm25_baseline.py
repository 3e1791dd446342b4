"""Lexical reference baseline for the eval set (stdlib only).

Character-bigram BM25 over title+abstract+claims+field+scenarios, query = demand title +
description. Reports nDCG@10 (gain = grade, discount log2(rank+1), the same definition as
../evaluate.py), recall@10 over all labelled patents, recall@10 over grade-2 patents and the MRR
of the first grade-2 patent. Use it as a floor: an engine that does not
beat this on the set is not using anything beyond surface overlap.

Run:  python3 tests/matching/eval/source/bm25_baseline.py
"""
import collections
import json
import math
import os

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUNCT = set("，。、；：（）() ,.%“”")


def bigrams(text):
    return [text[i:i + 2] for i in range(len(text) - 1) if not (set(text[i:i + 2]) & PUNCT)]


def main():
    patents = [json.loads(l) for l in open(os.path.join(HERE, "patents.jsonl"), encoding="utf-8")]
    demands = [json.loads(l) for l in open(os.path.join(HERE, "demands.jsonl"), encoding="utf-8")]
    docs = [collections.Counter(bigrams(p["title"] + p["abstract"] + p["claims"] + p["technical_field"]
                                        + p["application_scenarios"])) for p in patents]
    df = collections.Counter()
    for d in docs:
        df.update(d.keys())
    n_docs = len(docs)
    avg_len = sum(sum(d.values()) for d in docs) / n_docs
    lengths = [sum(d.values()) for d in docs]

    def score(query, i):
        d, s = docs[i], 0.0
        for t in set(query):
            f = d.get(t)
            if f:
                idf = math.log(1 + (n_docs - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * lengths[i] / avg_len))
        return s

    tot = collections.Counter()
    for dm in demands:
        q = bigrams(dm["title"] + dm["description"])
        ranking = [patents[i]["id"] for i in sorted(range(n_docs), key=lambda i: (-score(q, i), i))]
        rel = dm["relevant"]
        dcg = sum(rel.get(p, 0) / math.log2(k + 2) for k, p in enumerate(ranking[:10]))
        ideal = sorted(rel.values(), reverse=True)[:10]
        idcg = sum(g / math.log2(k + 2) for k, g in enumerate(ideal))
        top10 = set(ranking[:10])
        g2 = [p for p, g in rel.items() if g == 2]
        tot["ndcg"] += dcg / idcg
        tot["recall"] += len(top10 & set(rel)) / len(rel)
        tot["recall2"] += len(top10 & set(g2)) / len(g2)
        tot["mrr"] += 1.0 / (1 + min(ranking.index(p) for p in g2))
    m = len(demands)
    print("char-bigram BM25 on %d demands x %d patents" % (m, n_docs))
    print("nDCG@10=%.3f  recall@10=%.3f  recall@10(grade2)=%.3f  MRR(grade2)=%.3f"
          % (tot["ndcg"] / m, tot["recall"] / m, tot["recall2"] / m, tot["mrr"] / m))


if __name__ == "__main__":
    main()
