"""Measure roleplay/spelling.py against the hand-labelled replies (labelled.jsonl).

    .venv/bin/python evals/character/spelling_measure.py            # dev: distributions, sweep
    .venv/bin/python evals/character/spelling_measure.py --heldout  # heldout: aggregates only

On dev it prints, per language, the unknown share of every gibberish reply, of every reply in
character and of the other out-of-character replies, a threshold sweep, and precision/recall
of "gibberish" at the thresholds of roleplay/spelling.yaml. On heldout it prints only the
aggregate figures at those thresholds (held-out replies are never read one by one). The
persona's own words count as known, as they do in the character check.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

from roleplay.harness.character_labels import judge, load_labelled
from roleplay.personas import load_personas
from roleplay.spelling import load_settings, looks_misspelt, persona_words, spelling

ROOT = Path(__file__).resolve().parents[2]
LABELLED = ROOT / "evals" / "character" / "labelled.jsonl"


def _rows(split: str) -> list[dict]:
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["split"] == split]


def _kind(row: dict) -> str:
    if row["category"] == "gibberish":
        return "gibberish"
    return "in" if row["in_character"] else "other-out"


def _pr(flagged: list[bool], gold: list[bool]) -> tuple[float | None, float | None, int, int]:
    tp = sum(f and g for f, g in zip(flagged, gold))
    fp = sum(f and not g for f, g in zip(flagged, gold))
    fn = sum(g and not f for f, g in zip(flagged, gold))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return precision, recall, tp, fp


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", action="store_true", help="aggregate figures on heldout")
    args = parser.parse_args()
    split = "heldout" if args.heldout else "dev"
    personas = load_personas(ROOT / "personas")
    known = {pid: persona_words(p) for pid, p in personas.items()}
    rows = _rows(split)
    scored = []
    for lang in sorted({r["language"] for r in rows}):
        spelling("warm up", lang)  # load the dictionary outside the timing
    cost: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        start = time.perf_counter()
        result = spelling(row["reply"], row["language"], known.get(row["persona"], ()))
        flagged = looks_misspelt(row["reply"], row["language"], known.get(row["persona"], ()))
        cost[row["language"]].append((time.perf_counter() - start) * 1000 / 2)
        scored.append((row, result, flagged is not None))

    by_lang: dict[str, list] = defaultdict(list)
    for item in scored:
        by_lang[item[0]["language"]].append(item)
    settings = load_settings()
    print(f"{split}: {len(rows)} replies")
    print("language replies gibberish threshold precision(gib) recall(gib) tp fp "
          "precision(out) ms/reply(median,max)")
    for lang, items in sorted(by_lang.items()) + [("all", scored)]:
        flagged = [f for _, _, f in items]
        gib = [_kind(r) == "gibberish" for r, _, _ in items]
        out = [not r["in_character"] for r, _, _ in items]
        p, rc, tp, fp = _pr(flagged, gib)
        p_out = _pr(flagged, out)[0]
        ms = [c for lg, cs in cost.items() if lang in (lg, "all") for c in cs]
        thr = settings.languages[lang].threshold if lang in settings.languages else "-"
        print(f"{lang:8} {len(items):7} {sum(gib):9} {thr!s:9} {_fmt(p):14} {_fmt(rc):11} "
              f"{tp:2} {fp:2} {_fmt(p_out):14} {statistics.median(ms):.2f},{max(ms):.2f}")
    if args.heldout:
        return

    print("\nper language: unknown share (unknown/checked) by label")
    for lang, items in sorted(by_lang.items()):
        for kind in ("gibberish", "in", "other-out"):
            shares = sorted((f"{s.share:.2f}({len(s.unknown)}/{s.checked})" if s else "None")
                            for r, s, _ in items if _kind(r) == kind)
            print(f"  {lang} {kind:9} n={len(shares):2}: {' '.join(shares)}")
    print("\nsweep (flag when share >= t and unknown >= min_unknown): precision and recall "
          "of gibberish, flagged non-gibberish, flagged in character")
    for lang, items in sorted(by_lang.items()):
        line = []
        for t in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
            flagged = [bool(s and len(s.unknown) >= settings.min_unknown and s.share >= t)
                       for _, s, _ in items]
            p, rc, tp, fp = _pr(flagged, [_kind(r) == "gibberish" for r, _, _ in items])
            in_fp = sum(f and r["in_character"] for f, (r, _, _) in zip(flagged, items))
            line.append(f"{t:.2f}:P{_fmt(p)}/R{_fmt(rc)}/fp{fp}/in{in_fp}")
        print(f"  {lang}: " + "  ".join(line))
    _combined(personas, known)
    print("\nunknown words of dev replies in character (the false alarms to avoid):")
    for row, s, _ in scored:
        if s and s.unknown and row["in_character"]:
            print(f"  {row['id']} {row['language']} {s.share:.2f} {list(s.unknown)}")


def _combined(personas: dict, known: dict) -> None:
    """Out-of-character precision/recall on dev: the character check alone, and with spelling."""
    items = [i for i in load_labelled(LABELLED) if i.split == "dev"]
    judged = judge(items, personas, ROOT / "prompts")
    print("\ndev, out of character: the character check alone -> or spelling (P, R, tp, fp)")
    by_lang: dict[str, list] = defaultdict(list)
    for j in judged:
        spelt = looks_misspelt(j.item.reply, j.item.language, known.get(j.item.persona, ()))
        by_lang[j.item.language].append((j.out, j.out or spelt is not None,
                                         not j.item.in_character))
    for lang, rows in sorted(by_lang.items()) + [("all", [r for v in by_lang.values()
                                                          for r in v])]:
        gold = [g for _, _, g in rows]
        alone = _pr([a for a, _, _ in rows], gold)
        both = _pr([b for _, b, _ in rows], gold)
        print(f"  {lang:4} n={len(rows):3} out={sum(gold):3}  "
              f"P {_fmt(alone[0])} R {_fmt(alone[1])} ({alone[2]},{alone[3]}) -> "
              f"P {_fmt(both[0])} R {_fmt(both[1])} ({both[2]},{both[3]})")


if __name__ == "__main__":
    main()
