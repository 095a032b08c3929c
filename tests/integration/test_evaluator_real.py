"""The evaluator chain on the real embedded model: a good call must score above a bad one.

Slow (tens of seconds per call on two cores); run with `pytest -m integration`.
"""

from __future__ import annotations

import pytest

from roleplay.config import get_settings
from roleplay.evaluator import evaluate
from roleplay.judge import Judge
from roleplay.report import render_markdown
from roleplay.rubric import load_rubric
from roleplay.transcript import Transcript, Turn

pytestmark = pytest.mark.integration


def _call(*lines: str) -> Transcript:
    roles = ["customer", "trainee"]
    return Transcript(turns=[Turn(role=roles[i % 2], content=t) for i, t in enumerate(lines)])  # type: ignore[arg-type]


# Paraphrased on purpose, so that the phrase detectors miss the empathy and the model is asked.
GOOD = _call(
    "My order says delivered but there's nothing at my door. It was a present for my son.",
    "Oh no, what a horrible surprise on a day like this. Let me look at the courier's notes.",
    "Please do, his birthday is tomorrow.",
    "The courier marked it delivered by mistake. I've sent a replacement by express; it will "
    "reach you tomorrow by 10 am, and I'll email you the tracking number in five minutes.",
)
BAD = _call(
    "My order says delivered but there's nothing at my door. It was a present for my son.",
    "Our system shows it was delivered, so you must have missed it. Did you check with the "
    "neighbours?",
    "Of course I did! It isn't there.",
    "As I said, the courier has a photo. There's nothing more I can do, it's not my department.",
)


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge.from_settings(get_settings())


def test_good_call_scores_above_bad_call_on_the_embedded_model(judge: Judge) -> None:
    rubric = load_rubric(get_settings().prompts_dir / "rubric.yaml")
    good = evaluate(GOOD, rubric, judge=judge)
    bad = evaluate(BAD, rubric, judge=judge)
    assert good.overall_score is not None and bad.overall_score is not None
    assert good.overall_score > bad.overall_score, (good.overall_score, bad.overall_score)
    assert good.judge_model == judge.model_name
    for report, transcript in ((good, GOOD), (bad, BAD)):
        for result in report.principles:
            for ev in result.evidence:
                assert ev.quote in transcript.turns[ev.turn].content
            if result.status == "violated":
                assert result.evidence
        for item in report.advice:
            assert item.rewrite.strip()
            assert transcript.turns[item.turn].role == "trainee"
        assert render_markdown(report).startswith("# Call evaluation")
    # The model was really asked: the paraphrased empathy has no detector phrase.
    feelings = next(r for r in good.principles if r.id == "acknowledge_feelings")
    assert feelings.raw_output and "P(yes)=" in feelings.raw_output
