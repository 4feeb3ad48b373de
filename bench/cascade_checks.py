"""How well the cascade's quality checks separate a weak model's wrong answers from its right
ones, on labelled data that holds the weak model's answer text (the routing dev set's GSM8K rows:
``prompt``, ``weak_answer``, ``weak``, ``strong``).

Prints precision and recall of "a check failed" for "the weak answer is wrong", the time per
answer, and what the cascade would do to accuracy and to the share of requests that reach the
strong model, next to always-cheap and always-strong.

    python bench/cascade_checks.py data/routing/dev.jsonl
"""

from __future__ import annotations

import argparse
import collections
import json
import time

from app.canonical import Message, Request, Response, TextPart
from app.routing.quality import failed_checks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    args = ap.parse_args()
    rows = []
    with open(args.data, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("weak_answer") is not None:
                rows.append(row)
    if not rows:
        raise SystemExit("no rows with weak_answer text in this file")
    flagged = wrong = both = 0
    by_check: collections.Counter[str] = collections.Counter()
    cascade_score = 0.0
    spent = 0.0
    for row in rows:
        req = Request(model="m", messages=[Message("user", [TextPart(row["prompt"])])], style="openai-chat")
        resp = Response(id="x", model="m", content=[TextPart(row["weak_answer"])])
        t0 = time.perf_counter()
        failed = failed_checks(req, resp)
        spent += time.perf_counter() - t0
        is_wrong = row["weak"] < 1.0
        flagged += bool(failed)
        wrong += is_wrong
        both += bool(failed) and is_wrong
        by_check.update(failed)
        cascade_score += row["strong"] if failed else row["weak"]
    n = len(rows)
    precision = both / flagged if flagged else float("nan")
    print(f"answers: {n}, weak model wrong: {wrong} ({wrong / n:.1%})")
    print(f"flagged by a check: {flagged} ({flagged / n:.1%}); precision {precision:.2f}, recall {both / wrong:.2f}")
    print(f"time per answer: {spent / n * 1000:.3f} ms (all checks)")
    print("checks that fired:", dict(by_check.most_common()))
    always_cheap = sum(r["weak"] for r in rows) / n
    always_strong = sum(r["strong"] for r in rows) / n
    print(f"accuracy: always cheap {always_cheap:.3f}, cascade {cascade_score / n:.3f} "
          f"(strong calls {flagged / n:.1%}), always strong {always_strong:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
