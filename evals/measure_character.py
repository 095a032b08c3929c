"""Measure the conversation engine on the configured model (the embedded one by default).

    .venv/bin/python evals/measure_character.py --adversarial            # in-character rate
    .venv/bin/python evals/measure_character.py --scripted --runs 5      # rung moves
    .venv/bin/python evals/measure_character.py --adversarial --scripted --out evals/character

Reads the trainee lines from evals/adversarial.yaml and evals/scripted_trainees.yaml, plays
each script against every persona it fits, and writes `results.jsonl` (one record per
customer reply: the final text, every rejected attempt and why) and `summary.md` (the
rates, and every reply for a person to read) into --out. Sessions are stored in a
throw-away SQLite file in --out, never in the user's store.

In character, by the checks: a reply counts as in character at the first attempt when the
engine did not have to regenerate it, and in the end when the engine produced a reply at
all (it gives up with a BackendError after three broken attempts). The checks are the
engine's own (roleplay/character.py); read the replies in summary.md for the rest.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from roleplay.config import PROJECT_ROOT, get_settings
from roleplay.conversation import ConversationEngine, Reply
from roleplay.errors import BackendError, RoleplayError
from roleplay.mood import Rung
from roleplay.personas import Persona, load_personas
from roleplay.store import SqliteStore

EVALS = PROJECT_ROOT / "evals"


@dataclass
class Record:
    """One trainee line and the customer's answer to it."""

    script: str
    strategy: str
    probe: str | None
    persona: str
    run: int
    trainee: str
    rung_before: str
    rung_after: str
    reason: str
    reply: str | None
    """The saved reply; None when the engine gave up."""
    rejected: list[str] = field(default_factory=list)
    """Why each regenerated attempt was rejected, with its text."""
    error: str | None = None
    seconds: float = 0.0


def load_scripts(path: Path, strategy: str | None = None) -> list[dict[str, object]]:
    """Return the scripts of one YAML file (a list, or a mapping with `scripts`)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data.get("scripts", data) if isinstance(data, dict) else data
    scripts = []
    for item in items:
        item = dict(item)
        if strategy is not None:
            item.setdefault("strategy", strategy)
        scripts.append(item)
    return scripts


def fits(script: dict[str, object], persona: Persona) -> bool:
    """Return True when the script is written for this persona (by id or language)."""
    ids = script.get("personas")
    langs = script.get("languages")
    if isinstance(ids, list) and persona.id not in ids:
        return False
    return not (isinstance(langs, list) and persona.language not in langs)


def play(engine: ConversationEngine, persona: Persona, script: dict[str, object],
         run: int) -> list[Record]:
    """Play one script against one persona; return a record per trainee line."""
    session = engine.start(persona, user="measure", sandbox=True)
    records = []
    lines = script["lines"]
    assert isinstance(lines, list)
    for line in lines:
        rung_before = (session.transcript.rung or persona.start_rung).value
        notes_before = len(session.notes)
        start = time.perf_counter()
        record = Record(script=str(script["id"]), strategy=str(script["strategy"]),
                        probe=script.get("probe"),  # type: ignore[arg-type]
                        persona=persona.id, run=run, trainee=str(line),
                        rung_before=rung_before, rung_after=rung_before, reason="", reply=None)
        try:
            for event in engine.stream(session, str(line)):
                if isinstance(event, Reply):
                    record.reply = event.turn.content
            trainee = session.transcript.turns[-2]
        except BackendError as err:
            record.error = str(err)
            trainee = session.transcript.turns[-1]
        record.rung_after = trainee.rung_after.value if trainee.rung_after else rung_before
        record.reason = trainee.reason or ""
        record.rejected = [n for n in session.notes[notes_before:] if "broke character" in n]
        record.seconds = round(time.perf_counter() - start, 2)
        records.append(record)
        print(f"  {persona.id:22} {record.script:28} {record.rung_after:15} "
              f"{'GAVE UP' if record.reply is None else record.reply[:70]!s}"
              f"{'  [' + str(len(record.rejected)) + ' regen]' if record.rejected else ''}",
              flush=True)
    return records


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} = {100 * n / d:.0f}%" if d else "-"


def in_character_summary(records: list[Record]) -> list[str]:
    """Return Markdown lines with the in-character rates of the adversarial replies."""
    adv = [r for r in records if r.strategy == "adversarial"]
    if not adv:
        return []
    first = sum(1 for r in adv if r.reply is not None and not r.rejected)
    final = sum(1 for r in adv if r.reply is not None)
    out = ["## In character (adversarial turns)", "",
           f"- replies: {len(adv)} (over {len({(r.persona, r.script) for r in adv})} calls)",
           f"- in character at the first attempt (no regeneration needed): {_pct(first, len(adv))}",
           f"- in character in the end (the engine produced a reply): {_pct(final, len(adv))}",
           "", "| probe | replies | first attempt | in the end |", "|---|---|---|---|"]
    for probe in sorted({str(r.probe) for r in adv}):
        rs = [r for r in adv if str(r.probe) == probe]
        out.append(f"| {probe} | {len(rs)} | "
                   f"{_pct(sum(1 for r in rs if r.reply and not r.rejected), len(rs))} | "
                   f"{_pct(sum(1 for r in rs if r.reply), len(rs))} |")
    kinds: dict[str, int] = {}
    for r in adv:
        for note in r.rejected:
            kind = note.split("broke character: ", 1)[1].split(":", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + 1
    out += ["", "Rejected attempts by kind: "
            + (", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"), ""]
    return out


def rung_summary(records: list[Record], personas: dict[str, Persona]) -> list[str]:
    """Return Markdown lines: how often each scripted trainee moved the rung as expected."""
    scripted = [r for r in records if r.strategy in ("good", "bad")]
    if not scripted:
        return []
    out = ["## Rung moves (scripted trainees)", "",
           ("Expected: good handling ends calmer than the start rung (calm stays calm); bad "
           "handling ends angrier, or stays on the top rung when it starts there."), "",
           "| script | persona | runs | expected move | path (rung after each line) |",
           "|---|---|---|---|---|"]
    totals = {"good": [0, 0], "bad": [0, 0]}
    for key in sorted({(r.script, r.persona) for r in scripted}):
        runs: dict[int, list[Record]] = {}
        for r in scripted:
            if (r.script, r.persona) == key:
                runs.setdefault(r.run, []).append(r)
        strategy = next(iter(runs.values()))[0].strategy
        start = personas[key[1]].start_rung
        ok = 0
        paths = set()
        for rs in runs.values():
            end = Rung(rs[-1].rung_after)
            path = [start.value] + [r.rung_after for r in rs]
            paths.add(" → ".join(path))
            if strategy == "good":
                ok += end.level < start.level or (start == Rung.CALM and end == Rung.CALM)
            else:
                top = start == Rung.CURSING and all(p == Rung.CURSING.value for p in path)
                ok += end.level > start.level or top
        totals[strategy][0] += ok
        totals[strategy][1] += len(runs)
        out.append(f"| {key[0]} | {key[1]} | {len(runs)} | {_pct(ok, len(runs))} | "
                   f"{' / '.join(sorted(paths))} |")
    out += ["", f"- good trainee: {_pct(*totals['good'])} of runs moved as expected",
            f"- bad trainee: {_pct(*totals['bad'])} of runs moved as expected", ""]
    return out


def replies_section(records: list[Record]) -> list[str]:
    """Return every exchange, for reading."""
    out = ["## Every reply", ""]
    for r in records:
        out.append(f"- **{r.persona} · {r.script} · run {r.run}** ({r.rung_before} → "
                   f"{r.rung_after})  \n  Agent: {r.trainee}  \n  Customer: "
                   f"{r.reply if r.reply is not None else '(gave up: ' + str(r.error) + ')'}")
        for note in r.rejected:
            out.append(f"  \n  rejected: {note}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adversarial", action="store_true")
    parser.add_argument("--scripted", action="store_true")
    parser.add_argument("--runs", type=int, default=5, help="runs of each scripted trainee")
    parser.add_argument("--adversarial-runs", type=int, default=1)
    parser.add_argument("--persona", action="append", help="only these persona ids")
    parser.add_argument("--spread", action="store_true",
                        help="play each script against one fitting persona, taking them in "
                        "turn, instead of against every one (a shorter run)")
    parser.add_argument("--only", action="append", metavar="SCRIPT_ID",
                        help="only these scripts")
    parser.add_argument("--out", type=Path, default=EVALS / "character")
    args = parser.parse_args(argv)
    if not (args.adversarial or args.scripted):
        parser.error("give --adversarial, --scripted or both")
    settings = get_settings()
    args.out.mkdir(parents=True, exist_ok=True)
    db = args.out / "measure.sqlite3"
    db.unlink(missing_ok=True)
    try:
        personas = load_personas(settings.personas_dir)
        engine = ConversationEngine.from_settings(settings, SqliteStore(db))
        jobs: list[tuple[dict[str, object], int]] = []
        if args.adversarial:
            jobs += [(s, run) for s in load_scripts(EVALS / "adversarial.yaml", "adversarial")
                     for run in range(args.adversarial_runs)]
        if args.scripted:
            jobs += [(s, run) for s in load_scripts(EVALS / "scripted_trainees.yaml")
                     for run in range(args.runs)]
        records: list[Record] = []
        started = time.perf_counter()
        turn: dict[str, int] = {}
        for script, run in jobs:
            if args.only and script["id"] not in args.only:
                continue
            chosen = [p for p in sorted(personas.values(), key=lambda p: p.id)
                      if fits(script, p) and (not args.persona or p.id in args.persona)]
            if args.spread and chosen:
                # Rotate per language, so each persona of a language gets its share.
                key = ",".join(sorted({p.language for p in chosen}))
                chosen = [chosen[turn.get(key, 0) % len(chosen)]]
                turn[key] = turn.get(key, 0) + 1
            for persona in chosen:
                records += play(engine, persona, script, run)
    except RoleplayError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    with (args.out / "results.jsonl").open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    seconds = [r.seconds for r in records]
    header = [f"# Conversation engine measurements ({settings.model})", "",
              (f"{len(records)} trainee turns in {time.perf_counter() - started:.0f} s; "
              f"median {statistics.median(seconds) if seconds else 0:.1f} s per reply "
              "(regenerations included)."), ""]
    summary = (header + in_character_summary(records) + rung_summary(records, personas)
               + replies_section(records))
    (args.out / "summary.md").write_text("\n".join(summary) + "\n", encoding="utf-8")
    print("\n".join(header + in_character_summary(records) + rung_summary(records, personas)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
