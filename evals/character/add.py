"""Add collected replies to the hand-labelled set (evals/character/labelled.jsonl).

Two steps, so that every reply's split is fixed before anyone reads it:

    # 1. number the new replies and give each its split; writes them unlabelled
    .venv/bin/python evals/character/add.py split RAW.jsonl ... --out /tmp/pending.jsonl
    # 2. after reading each reply and writing its labels (one JSON line per id:
    #    {"id", "in_character", "category", "why", "rung_consistent", "fact_consistent"}),
    .venv/bin/python evals/character/add.py merge /tmp/pending.jsonl LABELS.jsonl

The split rule: a persona+script group already in the set keeps its split (a group is in
one split only, so the near-identical replies of one call never straddle); a new group is
`dev` when the first 8 hex digits of sha256("persona/script"), modulo 100, are below
`DEV_SHARE`, else `heldout`. Exact duplicates (same persona, same text) of a reply already in
the set, or earlier in the input, are dropped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

LABELLED = Path(__file__).with_name("labelled.jsonl")
DEV_SHARE = 55
"""Percent of new persona+script groups that go to `dev`."""

LABELS = ("in_character", "category", "why", "rung_consistent", "fact_consistent")


def group_split(persona: str, script: str) -> str:
    """The split of a new persona+script group: a fixed hash, DEV_SHARE percent dev."""
    digest = hashlib.sha256(f"{persona}/{script}".encode()).hexdigest()
    return "dev" if int(digest[:8], 16) % 100 < DEV_SHARE else "heldout"


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def split(raw: list[Path], out: Path) -> int:
    have = _read(LABELLED)
    groups = {(r["persona"], r["script"]): r["split"] for r in have}
    seen = {(r["persona"], r["reply"].strip()) for r in have}
    number = max(int(r["id"][1:]) for r in have)
    pending = []
    for path in raw:
        for r in _read(path):
            key = (r["persona"], r["reply"].strip())
            if key in seen or not r["reply"].strip():
                continue
            seen.add(key)
            number += 1
            group = (r["persona"], r["script"])
            groups.setdefault(group, group_split(*group))
            pending.append({"id": f"c{number:03d}", "split": groups[group], **r})
    out.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pending), "utf-8")
    print(f"{len(pending)} new replies -> {out}", file=sys.stderr)
    return 0


def merge(pending_path: Path, labels_path: Path) -> int:
    labels = {r["id"]: r for r in _read(labels_path)}
    pending = _read(pending_path)
    missing = [p["id"] for p in pending if p["id"] not in labels]
    if missing:
        print(f"no labels for {', '.join(missing)}: label every reply first", file=sys.stderr)
        return 1
    order = ["id", "split", "source", "persona", "language", "script", "strategy", "probe",
             "turn", "rung", "trainee", "reply", *LABELS, "said", "heard"]
    with LABELLED.open("a", encoding="utf-8") as out:
        for p in pending:
            record = {**p, **{k: labels[p["id"]][k] for k in LABELS}}
            out.write(json.dumps({k: record[k] for k in order}, ensure_ascii=False) + "\n")
    print(f"{len(pending)} replies added to {LABELLED}", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    s = sub.add_parser("split")
    s.add_argument("raw", type=Path, nargs="+")
    s.add_argument("--out", type=Path, required=True)
    m = sub.add_parser("merge")
    m.add_argument("pending", type=Path)
    m.add_argument("labels", type=Path)
    args = parser.parse_args()
    if args.step == "split":
        return split(args.raw, args.out)
    return merge(args.pending, args.labels)


if __name__ == "__main__":
    sys.exit(main())
