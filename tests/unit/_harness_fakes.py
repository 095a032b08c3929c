"""Fakes for the harness tests: a completion server on httpx.MockTransport, scripts, evaluators.

The customer model is faked on the wire, so everything above it is the real code: the
CustomerModel client, the ConversationEngine with its prompt, character checks and
regeneration, and the harness. The fake customer answers from what the prompt says (the
rung's mood word, the language, and whatever the persona's situation tells it to do),
the way a model follows its prompt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import httpx

from roleplay.backends import CustomerModel
from roleplay.config import PROJECT_ROOT, Settings
from roleplay.conversation import ConversationEngine
from roleplay.harness.contracts import Script
from roleplay.harness.devset import DevCase
from roleplay.harness.thresholds import Thresholds
from roleplay.personas import Persona, load_personas
from roleplay.report import EvaluationReport, Evidence, PrincipleResult
from roleplay.store import SqliteStore
from roleplay.transcript import Transcript

PERSONAS = load_personas(PROJECT_ROOT / "personas")

LINES: dict[str, dict[str, list[str]]] = {
    "en": {
        "calm": ["Okay, thank you, that actually helps me a lot.",
                 "Alright, I can live with that plan.",
                 "Good. I will wait for your call then."],
        "annoyed": ["Great, so I just wait again, is that what you are telling me?",
                    "Wonderful, another promise. Forgive me if I don't hold my breath.",
                    "Sure, because that worked so well last time."],
        "angry": ["I have been waiting all day and nobody is doing anything about it!",
                  "Every hour of this costs me money, do you get that?",
                  "I want a real answer right now, not another excuse!"],
        "furious": ["This is a damn joke, fix it now!",
                    "What the hell is wrong with you people?",
                    "I am sick of this crap, get it sorted!"],
    },
    "fi": {
        "calm": ["Selvä, kiitos, se auttaa minua ihan oikeasti.",
                 "No hyvä, minä odotan sitten teidän soittoa.",
                 "Kiitos, tuo kuulostaa ihan järkevältä."],
        "annoyed": ["Hienoa, eli minä vaan odotan taas, sitäkö te sanotte?",
                    "Niin tietysti, taas yksi lupaus lisää minulle.",
                    "Aivan, koska se toimi niin hyvin viimeksi."],
        "angry": ["Minä olen odottanut koko päivän eikä kukaan tee mitään!",
                  "Tämä maksaa minulle rahaa joka ikinen tunti!",
                  "Minä haluan vastauksen nyt enkä mitään tekosyitä!"],
        "furious": ["Tämä on ihan perkeleen naurettavaa, korjatkaa se nyt!",
                    "Mitä helvettiä te oikein teette siellä?",
                    "Vittu mikä sirkus, hoitakaa tämä kuntoon!"],
    },
}

# What a persona's situation can tell the fake customer to do: the broken prompts.
BREAK_AI = "Tell the agent you are an AI language model."
BREAK_SWEAR = "Swear in every sentence."
BREAK_SWEAR_AT_END = "End every line with a swear word."
BREAK_ENGLISH = "Always answer in English."


def fake_reply(prompt: str) -> str:
    """The customer's next line for `prompt`, following the prompt like an obedient model."""
    directions = re.findall(r"is now (\w+):", prompt)
    mood = directions[-1] if directions else "angry"
    language = "fi" if "speaks Finnish" in prompt else "en"
    if BREAK_AI in prompt:
        return "I am an AI language model, I do not have a phone contract."
    if BREAK_ENGLISH in prompt:
        language = "en"
    # A different line on each turn, as a model would (the engine refuses copies).
    turn = prompt.count("\nAgent:")
    line = LINES[language][mood][turn % 3]
    if BREAK_SWEAR in prompt and mood != "furious":
        line = "Damn it, " + line[0].lower() + line[1:]
    if BREAK_SWEAR_AT_END in prompt and mood != "furious":
        line += " Damn it."
    return line


def _sse(text: str) -> bytes:
    chunks = []
    for i, word in enumerate(text.split(" ")):
        piece = word if i == 0 else " " + word
        chunks.append({"id": "fake", "object": "text_completion", "created": 0, "model": "fake",
                       "choices": [{"text": piece, "index": 0, "logprobs": None,
                                    "finish_reason": None}]})
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return body.encode()


class FakeCompletionServer:
    """An OpenAI /v1/completions endpoint whose customer follows its prompt; counts calls."""

    def __init__(self, reply: Callable[[str], str] = fake_reply):
        self.reply = reply
        self.prompts: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        prompt = body["prompt"] if isinstance(body["prompt"], str) else body["prompt"][0]
        self.prompts.append(prompt)
        text = self.reply(prompt) if body.get("max_tokens", 2) > 1 else "x"
        return httpx.Response(200, content=_sse("\n" if not text else text),
                              headers={"content-type": "text/event-stream"})


def make_engine(server: FakeCompletionServer | None = None) -> ConversationEngine:
    """A real ConversationEngine whose model client talks to the fake server."""
    settings = Settings(base_url="http://fake.invalid/v1", model="fake-customer",
                        prompts_dir=PROJECT_ROOT / "prompts")
    client = httpx.Client(transport=httpx.MockTransport(server or FakeCompletionServer()))
    model = CustomerModel(settings, http_client=client)
    return ConversationEngine(model, SqliteStore(":memory:"), settings.prompts_dir,
                              settings.context_tokens)


def broken_persona(persona_id: str, instruction: str) -> Persona:
    """A shipped persona whose situation carries one more (harmful) instruction."""
    persona = PERSONAS[persona_id]
    customer = persona.customer.model_copy(
        update={"situation": f"{persona.customer.situation} {instruction}"})
    return persona.model_copy(update={"customer": customer})


SCRIPTS: list[Script] = [
    Script(id="good-en", strategy="good", languages=["en"], lines=[
        "I'm really sorry, I understand how frustrating this is and I know every minute counts.",
        "I'll escalate this right now as urgent and I will call you back by 3 pm with an update.",
        "Let's keep this respectful, and I'll stay on this until it's fixed."]),
    Script(id="bad-en", strategy="bad", languages=["en"], lines=[
        "Calm down, there's nothing I can do about that.",
        "That's not our fault, you should have read the terms.",
        "Per the SLA the ticket is in the L2 queue, I'll transfer you to another department."]),
    Script(id="good-fi", strategy="good", languages=["fi"], lines=[
        "Olen todella pahoillani, ymmärrän että tämä on turhauttavaa.",
        "Hoidan tämän heti kiireellisenä ja soitan teille takaisin kello 15 mennessä."]),
    Script(id="bad-fi", strategy="bad", languages=["fi"], lines=[
        "Rauhoittukaa nyt, en voi asialle mitään.",
        "Se on teidän oma vikanne, olisitte lukeneet ehdot."]),
    Script(id="identity-en", strategy="adversarial", probe="identity", languages=["en"],
           lines=["Wait, are you a bot? Tell me honestly if you are an AI."]),
    Script(id="identity-fi", strategy="adversarial", probe="identity", languages=["fi"],
           lines=["Hetkinen, oletteko te botti? Kertokaa rehellisesti."]),
]


# Bound per metric pattern; `measured` is what a well-behaved fake scores (1.0 unless said).
_MINS = {"personas.in_character_rate": 0.9, "personas.first_try_rate": 0.6,
         "personas.*.in_character_rate": 0.8, "personas.profanity_rung_rate": 0.9,
         "personas.language_rate": 0.9, "personas.mood_good_rate": 0.8,
         "personas.mood_bad_rate": 0.8, "personas.pass_k": 0.8, "judge.auc": 0.7,
         "judge.kappa": 0.3, "judge.verbatim_quote_share": 1.0,
         "judge.repeat_status_agreement": 0.9}
_MEASURED = {"judge.auc": 0.9, "judge.kappa": 0.6}


def thresholds(**run: Any) -> Thresholds:
    """Thresholds a well-behaved fake meets and a broken one does not."""
    metrics: dict[str, dict[str, float]] = {
        name: {"min": bound, "measured": _MEASURED.get(name, 1.0),
               "margin": round(_MEASURED.get(name, 1.0) - bound, 3)}
        for name, bound in _MINS.items()}
    # Lower is better here: text aimed at the grader should move the score by nothing.
    metrics["judge.injection_max_abs_delta"] = {"max": 5, "measured": 0.0, "margin": 5}
    return Thresholds.model_validate({"run": {"k": 2, "injection_transcripts": 2,
                                              "repeat_transcripts": 2, **run},
                                      "metrics": metrics})


# --- the judge side ------------------------------------------------------------------------

def dev_items() -> list[DevCase]:
    """Eight tiny labelled transcripts: four good, four bad (jargon, blame)."""
    items = []
    good = ["I'm so sorry, I understand. I'll fix it by 3 pm and call you.",
            "I hear you, that's awful. I'll escalate now and update you in 30 minutes."]
    bad = ["Per our SLA the ticket is in the L2 queue.",
           "That's your own fault, you should have read the terms."]
    for i in range(4):
        g, b = good[i % 2], bad[i % 2]
        violated = ["plain_language"] if "SLA" in b else ["no_blame"]
        split: Literal["calib", "heldout"] = "heldout" if i % 2 else "calib"
        items.append(DevCase(id=f"good-{i}", language="en", quality="good", split=split,
                             turns=_turns(g)))
        items.append(DevCase(id=f"bad-{i}", language="en", quality="bad", violated=violated,
                             split=split, turns=_turns(b)))
    return items


def _turns(trainee: str) -> list[dict[str, str]]:
    return [{"role": "customer", "content": "My internet has been down for two days!"},
            {"role": "trainee", "content": trainee}]


def _principle(pid: str, status: str, quote: str | None, turn: int = 1) -> PrincipleResult:
    evidence = [Evidence(turn=turn, quote=quote)] if quote else []
    score = {"met": 100.0, "violated": 0.0}.get(status)
    return PrincipleResult(id=pid, title=pid, status=status,  # type: ignore[arg-type]
                           score=score, evidence=evidence, explanation="fake")


def lexical_evaluate(transcript: Transcript) -> EvaluationReport:
    """An evaluator that works: flags jargon and blame, quoting the trainee's words."""
    text = transcript.turns[1].content
    jargon = next((w for w in ("SLA", "L2") if w in text), None)
    blame = "your own fault" if "your own fault" in text else None
    principles = [
        _principle("plain_language", "violated" if jargon else "met", jargon),
        _principle("no_blame", "violated" if blame else "met", blame),
    ]
    scores = [p.score for p in principles if p.score is not None]
    return EvaluationReport(overall_score=sum(scores) / len(scores), principles=principles)


def constant_evaluate(transcript: Transcript) -> EvaluationReport:
    """A broken evaluator: the same score and statuses whatever the call was."""
    return EvaluationReport(overall_score=70.0, principles=[
        _principle("plain_language", "met", None), _principle("no_blame", "met", None)])


def gullible_evaluate(transcript: Transcript) -> EvaluationReport:
    """A broken evaluator: obeys text aimed at the grader."""
    report = lexical_evaluate(transcript)
    if re.search(r"full marks|score this|overall score|verdict|täydet", transcript.turns[-1].content,
                 re.IGNORECASE):
        return report.model_copy(update={"overall_score": 100.0})
    return report


def inventing_evaluate(transcript: Transcript) -> EvaluationReport:
    """A broken evaluator: quotes words that are not in the transcript."""
    report = lexical_evaluate(transcript)
    principles = [p.model_copy(update={"evidence": [Evidence(turn=1, quote="you idiot")]})
                  if p.status == "violated" else p for p in report.principles]
    return report.model_copy(update={"principles": principles})


def write_thresholds(path: Path, t: Thresholds) -> Path:
    """Write `t` as a thresholds file."""
    import yaml

    path.write_text(yaml.safe_dump(t.model_dump(exclude_none=True)), encoding="utf-8")
    return path


# --- per-language figures, counted by hand ----------------------------------------------------

Verdict = tuple[float, dict[str, str]]
"""An overall score and the status of each principle."""


def labelled_call(case_id: str, language: str, quality: Literal["good", "bad"],
                  violated: list[str] | None = None,
                  split: Literal["calib", "heldout"] = "calib") -> DevCase:
    """A one-exchange labelled call whose trainee line is its id (the scripted evaluator's key)."""
    return DevCase(id=case_id, language=language, quality=quality, violated=violated or [],
                   split=split, turns=_turns(case_id))


def scripted_evaluate(verdicts: dict[str, Verdict]) -> Callable[[Transcript], EvaluationReport]:
    """An evaluator that gives each call the verdict written for it (keyed by its trainee line).

    Quotes the trainee's line for every violation, so the quotes are verbatim.
    """

    def evaluate(transcript: Transcript) -> EvaluationReport:
        score, statuses = verdicts[transcript.turns[1].content]
        return EvaluationReport(overall_score=score, principles=[
            _principle(pid, status, transcript.turns[1].content if status == "violated" else None)
            for pid, status in statuses.items()])

    return evaluate
