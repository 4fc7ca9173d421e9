"""Line-item score: F1 over items, an item matching a ground-truth item when its amount is
equal (as decimals) and its description similar (token F1 >= 0.5). Each ground-truth item is
matched at most once (greedy, best description first). Documents without items in their
ground truth (`extra.line_items`), or whose items are not what the page prints
(`extra.line_items_as_printed: false`), are not scored.

    python3 scripts/lib/item_score.py GT.jsonl EXTRACT.jsonl [--json OUT] [--show-errors N]

EXTRACT.jsonl is `ocrlty extract`'s output (one result per line, `data.line_items`).
"""
import argparse
import json
import os
import re
import sys
from decimal import Decimal, InvalidOperation


def tokens(text):
    return re.findall(r"\w+", (text or "").lower())


def token_f1(a, b):
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 0.0
    common = 0
    rest = list(tb)
    for t in ta:
        if t in rest:
            rest.remove(t)
            common += 1
    if common == 0:
        return 0.0
    p, r = common / len(ta), common / len(tb)
    return 2 * p * r / (p + r)


def dec(v):
    try:
        return Decimal(str(v))
    except (InvalidOperation, TypeError, ValueError):
        return None


def match(pred, gold):
    """Greedy matching; returns the number of matched pairs."""
    pairs = []
    for i, p in enumerate(pred):
        for j, g in enumerate(gold):
            pa, ga = dec(p.get("amount")), dec(g.get("amount"))
            if pa is None or ga is None or pa != ga:
                continue
            f = token_f1(p.get("description"), g.get("description"))
            if f >= 0.5:
                pairs.append((f, i, j))
    pairs.sort(reverse=True)
    used_p, used_g = set(), set()
    for _, i, j in pairs:
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
    return len(used_p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gt")
    ap.add_argument("extract")
    ap.add_argument("--json")
    ap.add_argument("--show-errors", type=int, default=0)
    a = ap.parse_args()
    gold = {}
    for line in open(a.gt):
        if line.strip():
            d = json.loads(line)
            extra = d.get("extra") or {}
            items = extra.get("line_items")
            if items and extra.get("line_items_as_printed") is not False:
                gold[d["id"]] = items
    pred = {}
    for line in open(a.extract):
        if line.strip():
            d = json.loads(line)
            doc = os.path.splitext(os.path.basename(d.get("file", "")))[0]
            pred[doc] = (d.get("data") or {}).get("line_items") or []
    tp = n_pred = n_gold = 0
    errors = []
    for doc, g in sorted(gold.items()):
        p = pred.get(doc, [])
        m = match(p, g)
        tp += m
        n_pred += len(p)
        n_gold += len(g)
        if m < max(len(p), len(g)):
            errors.append((doc, p, g))
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out = {"documents": len(gold), "gold_items": n_gold, "predicted_items": n_pred,
           "matched": tp, "precision": precision, "recall": recall, "f1": f1}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    for doc, p, g in errors[: a.show_errors]:
        print(f"-- {doc}", file=sys.stderr)
        print(f"   gold: {[(x.get('description'), x.get('amount')) for x in g]}", file=sys.stderr)
        print(f"   pred: {[(x.get('description'), x.get('amount')) for x in p]}", file=sys.stderr)
    print(f"line items: {len(gold)} documents, {n_gold} items; precision {precision:.3f} "
          f"recall {recall:.3f} F1 {f1:.3f}")


if __name__ == "__main__":
    main()
