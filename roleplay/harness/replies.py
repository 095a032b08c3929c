"""Every customer reply of a harness run, written out for a person to read.

`roleplay eval --character-dir DIR` writes `results.jsonl` (one record per customer reply:
the text, the rung before and after, every regeneration and what the contract found) and
`summary.md` (the in-character rates per adversarial probe, the rung path of each scripted
trainee, then every exchange). The numbers are the harness's own (`ReplyCheck`,
`RunResult.mood_ok`); this file only lays them out, since the checks are pattern lists and
reading the replies is how a new way of breaking character is found.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from roleplay.harness.contracts import ReplyCheck, RunResult
from roleplay.harness.runner import HarnessResult


class ReplyRecord(BaseModel):
    """One trainee line and the customer's answer to it."""

    model_config = ConfigDict(extra="forbid")

    persona: str
    script: str
    strategy: str
    probe: str | None
    run: int
    trainee: str
    rung_before: str
    rung_after: str
    reason: str | None
    reply: str | None
    """The saved reply; None when the engine gave up (see `blocked`)."""
    restarts: int
    """Drafts the engine threw away before this reply."""
    blocked: str | None
    problems: list[str]
    """What the contract found wrong with the reply; empty when nothing."""


def records(runs: Sequence[RunResult]) -> list[ReplyRecord]:
    """One record per customer reply of `runs`, in run order."""
    out = []
    for run in runs:
        for i, reply in enumerate(run.replies):
            before = run.mood_path[min(i, len(run.mood_path) - 1)]
            out.append(ReplyRecord(
                persona=run.persona_id, script=run.script_id, strategy=run.strategy,
                probe=run.probe, run=run.run, trainee=reply.trainee, rung_before=before.value,
                rung_after=reply.rung.value, reason=reply.reason,
                reply=None if reply.blocked else reply.reply, restarts=reply.restarts,
                blocked=reply.blocked, problems=reply.problems(run.language)))
    return out


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} = {100 * n / d:.0f}%" if d else "-"


def in_character_lines(runs: Sequence[RunResult]) -> list[str]:
    """Markdown: in-character rates of the adversarial replies, pooled and per probe."""
    adv = [(r, c) for r in runs if r.strategy == "adversarial" for c in r.replies]
    if not adv:
        return []
    calls = len({(r.persona_id, r.script_id) for r, _ in adv})
    replies = [c for _, c in adv]
    out = ["## In character (adversarial turns)", "",
           f"- replies: {len(adv)} (over {calls} calls)",
           f"- in character at the first attempt: {_first(replies)}",
           f"- in character in the end: {_final(replies)}",
           "", "| probe | replies | first attempt | in the end |", "|---|---|---|---|"]
    for probe in sorted({str(r.probe) for r, _ in adv}):
        mine = [c for r, c in adv if str(r.probe) == probe]
        out.append(f"| {probe} | {len(mine)} | {_first(mine)} | {_final(mine)} |")
    return out + [""]


def _first(replies: Sequence[ReplyCheck]) -> str:
    # In character with the first draft: the engine did not have to regenerate it.
    return _pct(sum(c.first_try and c.in_character for c in replies), len(replies))


def _final(replies: Sequence[ReplyCheck]) -> str:
    # What the trainee saw was in character (a reply the engine gave up on is not).
    return _pct(sum(c.in_character and not c.blocked for c in replies), len(replies))


def rung_lines(runs: Sequence[RunResult]) -> list[str]:
    """Markdown: how often each scripted trainee moved the rung as the contract expects."""
    scripted = [r for r in runs if r.strategy in ("good", "bad")]
    if not scripted:
        return []
    out = ["## Rung moves (scripted trainees)", "",
           "| script | persona | runs | expected move | path (rung after each line) |",
           "|---|---|---|---|---|"]
    tasks: dict[tuple[str, str], list[RunResult]] = {}
    for r in scripted:
        tasks.setdefault((r.script_id, r.persona_id), []).append(r)
    for (script, persona), rs in sorted(tasks.items()):
        paths = sorted({" → ".join(rung.value for rung in r.mood_path) for r in rs})
        out.append(f"| {script} | {persona} | {len(rs)} | "
                   f"{_pct(sum(bool(r.mood_ok()) for r in rs), len(rs))} | {' / '.join(paths)} |")
    for strategy in ("good", "bad"):
        mine = [r for r in scripted if r.strategy == strategy]
        moved = _pct(sum(bool(r.mood_ok()) for r in mine), len(mine))
        out.append(f"- {strategy} trainee: {moved} of runs moved as expected")
    return out + [""]


def exchange_lines(items: Sequence[ReplyRecord]) -> list[str]:
    """Markdown: every exchange, with what the contract found."""
    out = ["## Every reply", ""]
    for r in items:
        said = r.reply if r.reply is not None else f"(gave up: {r.blocked})"
        out.append(f"- **{r.persona} · {r.script} · run {r.run}** ({r.rung_before} → "
                   f"{r.rung_after}{f', regenerated {r.restarts}x' if r.restarts else ''})  \n"
                   f"  Agent: {r.trainee}  \n  Customer: {said}")
        out += [f"  \n  problem: {p}" for p in r.problems]
    return out


def write_replies(result: HarnessResult, directory: Path) -> dict[str, Path]:
    """Write results.jsonl and summary.md of `result`'s persona runs; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    items = records(result.runs)
    paths = {"jsonl": directory / "results.jsonl", "markdown": directory / "summary.md"}
    paths["jsonl"].write_text("".join(r.model_dump_json() + "\n" for r in items), encoding="utf-8")
    seconds = [r.seconds for r in result.runs]
    header = [f"# Conversation engine replies ({result.customer_model}, {result.backend})", "",
              (f"{len(items)} replies in {len(result.runs)} runs, k={result.k}; median "
               f"{statistics.median(seconds) if seconds else 0:.1f} s per run "
               "(regenerations included)."), ""]
    lines = (header + in_character_lines(result.runs) + rung_lines(result.runs)
             + exchange_lines(items))
    paths["markdown"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths
