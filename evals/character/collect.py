"""Collect raw customer replies for the hand-labelled character set (evals/character/).

Plays the scripted trainees and the adversarial probes against every persona on the
configured backend (the embedded model by default) through ConversationEngine.stream, with
the engine's character checks switched off: every reply is the model's first draft, as the
engine cleans it (cut at the line end, a short acting cue dropped), never a regeneration.
That is the set the checks must be measured on, failures included.

    .venv/bin/python evals/character/collect.py --out /tmp/raw.jsonl [--persona ID ...]

Each line of the output: persona, language, script, strategy, probe, turn, trainee, rung
(the rung the reply was generated at), reply, and said/heard (the customer's and the
agent's earlier lines of the call, which the repeat and copy checks use). Lines are
appended as they come, so an interrupted run keeps what it made.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from roleplay.appraisal import LexicalAppraiser
from roleplay.backends import CustomerModel
from roleplay.character import CharacterCheck, Verdict
from roleplay.config import settings_from_env
from roleplay.conversation import ConversationEngine, Reply
from roleplay.customer_prompt import PromptBuilder
from roleplay.harness.contracts import Script
from roleplay.harness.scripts import load_scripts
from roleplay.mood import Rung
from roleplay.personas import Persona, load_personas
from roleplay.store import SqliteStore
from roleplay.transcript import Transcript


class _Unchecked(CharacterCheck):
    def check(self, reply: str, final: bool = False) -> Verdict | None:
        return None


class _UncheckedBuilder(PromptBuilder):
    def checker(self, rung: Rung, transcript: Transcript | None = None) -> CharacterCheck:
        return _Unchecked(rung=rung, language=self.persona.language)


class UncheckedEngine(ConversationEngine):
    """The engine with its character checks off: the first draft is always kept."""

    def builder(self, persona: Persona) -> PromptBuilder:
        key = persona.model_dump_json()
        if key not in self._builders:
            self._builders[key] = _UncheckedBuilder(persona, self.prompts_dir)
        return self._builders[key]


def _extra(path: Path) -> list[Script]:
    data = yaml.safe_load(path.read_text("utf-8")) if path.exists() else {}
    return [Script.model_validate(s) for s in (data or {}).get("scripts", [])]


def _convert(results: Path, out_path: Path, personas: dict[str, Persona]) -> int:
    data = json.loads(results.read_text("utf-8"))
    with out_path.open("a", encoding="utf-8") as out:
        for run in data.get("runs", []):
            persona = personas[run["persona_id"]]
            said, heard = [persona.opening.strip()], []
            for turn, reply in enumerate(run["replies"], 1):
                heard.append(reply["trainee"])
                if reply["reply"]:
                    record = {"persona": persona.id, "language": persona.language,
                              "script": run["script_id"], "strategy": run["strategy"],
                              "probe": run.get("probe"), "turn": turn,
                              "trainee": reply["trainee"], "rung": reply["rung"],
                              "reply": reply["reply"], "said": list(said),
                              "heard": list(heard), "source": f"eval-final run {run['run']}"}
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                said.append(reply["reply"])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--persona", action="append")
    parser.add_argument("--script", action="append")
    parser.add_argument("--personas-dir", type=Path)
    parser.add_argument("--from-results", type=Path,
                        help="instead of calling the model, convert the replies of a "
                             "`roleplay eval` results.json (the engine's final replies)")
    parser.add_argument("--extra", type=Path, default=Path(__file__).with_name("scripts.yaml"),
                        help="more trainee scripts (default: this folder's scripts.yaml)")
    args = parser.parse_args()
    settings = settings_from_env()
    if args.from_results:
        return _convert(args.from_results, args.out, load_personas(
            args.personas_dir or settings.personas_dir))
    personas = load_personas(args.personas_dir or settings.personas_dir)
    chosen = [personas[i] for i in (args.persona or sorted(personas))]
    scripts = load_scripts(settings.evals_dir / "scripted_trainees.yaml",
                           settings.evals_dir / "adversarial.yaml")
    scripts += _extra(args.extra)
    if args.script:
        scripts = [s for s in scripts if s.id in args.script]
    # The phrase-list appraiser: the rungs move as in the eval, without a second model server.
    engine = UncheckedEngine(CustomerModel(settings), SqliteStore(":memory:"), settings.prompts_dir,
                             settings.context_tokens, appraiser=LexicalAppraiser())
    tasks = {p.id: [s for s in scripts if s.fits(p)] for p in chosen}
    done = set()
    if args.out.exists():
        for line in args.out.read_text("utf-8").splitlines():
            r = json.loads(line)
            done.add((r["persona"], r["script"]))
    # Round robin over the personas, so an interrupted run still covers all of them.
    order = []
    for i in range(max(len(t) for t in tasks.values())):
        order += [(p, tasks[p.id][i]) for p in chosen if i < len(tasks[p.id])]
    with args.out.open("a", encoding="utf-8") as out:
        for persona, script in order:
            if (persona.id, script.id) in done:
                continue
            session = engine.start(persona, user="character-collect", sandbox=True)
            for turn, line in enumerate(script.lines, 1):
                said = [t.content for t in session.transcript.turns if t.role == "customer"]
                heard = [t.content for t in session.transcript.turns if t.role == "trainee"]
                heard.append(line)
                for event in engine.stream(session, line):
                    if isinstance(event, Reply):
                        record = {"persona": persona.id, "language": persona.language,
                                  "script": script.id, "strategy": script.strategy,
                                  "probe": script.probe, "turn": turn, "trainee": line,
                                  "rung": event.turn.rung_after.value
                                  if event.turn.rung_after else None,
                                  "reply": event.turn.content, "said": said, "heard": heard, "source": "raw"}
                        out.write(json.dumps(record, ensure_ascii=False) + "\n")
                        out.flush()
                        print(f"{persona.id} {script.id} {turn}: {event.turn.content[:100]}",
                              file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
