"""The matching engine: pure ranking of open-licence patents for demands (no database, no HTTP).

tokenize (jieba + domain dictionary) → index (bm25s + delta + mask) → scoring (explained blend of
text, IPC, budget, region, industry and stock-patent components, figures from packs.py).
"""
