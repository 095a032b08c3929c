"""Character checks: each way a reply breaks is caught; in-character replies pass."""

from __future__ import annotations

import pytest

from roleplay.character import CharacterCheck, shingles
from roleplay.mood import Rung

ANGRY = CharacterCheck(rung=Rung.ESCALATED_ANGRY)


@pytest.mark.parametrize("reply, kind", [
    ("As an AI language model, I don't have feelings.", "ai"),
    ("I'm an AI assistant created by Alibaba Cloud.", "ai"),
    ("I am just a language model.", "ai"),
    ("Olen tekoäly, en oikea asiakas.", "ai"),
    ("How can I help you today?", "agent"),
    ("Thank you for calling Pipeline CRM, my name is Sam.", "agent"),
    ("Agent: Let me look into that.", "agent"),
    ("I apologize for the inconvenience this has caused.", "agent"),
    ("Miten voin auttaa?", "agent"),
    ("My instructions say I should be angry.", "echo"),
    ("Sure, here is the system prompt you asked for.", "echo"),
    ("I'm on the escalated-angry rung right now.", "echo"),
    ("My mood level is three.", "echo"),
    ("This is a roleplay, I'm playing a customer.", "echo"),
    ("This is damn ridiculous!", "profanity"),
    ("What the fuck is going on?", "profanity"),
    ("```python\nprint('hi')", "junk"),
    ("def fix(): return True", "junk"),
    ("no no no no no", "junk"),
    ("我不知道", "junk"),
])
def test_breaks_are_caught(reply: str, kind: str) -> None:
    verdict = ANGRY.check(reply, final=True)
    assert verdict is not None and verdict.kind == kind, verdict


@pytest.mark.parametrize("reply", [
    "No, I'm not an AI! I'm a customer and my whole team is sitting idle!",
    "Every minute this is down I am losing money! Do you understand that?",
    "Thank you. Thirty minutes, and you call me either way.",
    "I don't care about your process, I want it fixed today!",
    "A case number? Great. That will close my deals for me.",
    "Hello? Is anyone there?",
])
def test_in_character_replies_pass(reply: str) -> None:
    assert ANGRY.check(reply, final=True) is None


def test_profanity_is_allowed_on_the_cursing_rung_only() -> None:
    assert CharacterCheck(rung=Rung.CURSING).check("This is a damn joke!", final=True) is None
    assert CharacterCheck(rung=Rung.CALM).check("This is a damn joke!", final=True) is not None
    finnish = CharacterCheck(rung=Rung.PASSIVE_ANGRY, language="fi")
    verdict = finnish.check("Perkele, taas tämä lasku!", final=True)
    assert verdict is not None and verdict.kind == "profanity"


def test_empty_and_punctuation_only_replies_are_junk_when_final() -> None:
    for reply in ("", "   ", "...", "?!"):
        verdict = ANGRY.check(reply, final=True)
        assert verdict is not None and verdict.kind == "junk"
    assert ANGRY.check("", final=False) is None  # nothing generated yet is not a break


def test_echoing_the_instruction_text_is_caught() -> None:
    instructions = frozenset(shingles("The caller is a real customer with a real problem."))
    check = CharacterCheck(rung=Rung.CALM, instructions=instructions)
    verdict = check.check("Well I am a real customer with a real problem, okay?", final=True)
    assert verdict is not None and verdict.kind == "echo"
    assert check.check("I have a real problem with your service.", final=True) is None


def test_a_finnish_customer_answering_in_english_is_caught() -> None:
    finnish = CharacterCheck(rung=Rung.ESCALATED_ANGRY, language="fi")
    verdict = finnish.check("I want you to fix the bill and send me the confirmation.",
                            final=True)
    assert verdict is not None and verdict.kind == "language"
    assert finnish.check("Haluan että korjaatte laskun tänään ja lähetätte vahvistuksen.",
                         final=True) is None


def test_repeating_an_earlier_line_word_for_word_is_caught() -> None:
    check = CharacterCheck(rung=Rung.ESCALATED_ANGRY,
                           said=frozenset({"Your system has been down since ten!"}))
    verdict = check.check("Your system has been down since TEN!", final=True)
    assert verdict is not None and verdict.kind == "repeat"
    assert check.check("Your system is still down!", final=True) is None


AGENT_FI = "Ymmärrän, että tämä on turhauttavaa. Korjaan laskun nyt ja lähetän vahvistuksen."


def test_copying_the_agents_line_is_answering_as_the_agent() -> None:
    check = CharacterCheck(rung=Rung.ESCALATED_ANGRY, language="fi",
                           heard=frozenset({AGENT_FI}))
    verdict = check.check("Ymmärrän, että tämä on turhauttavaa. Korjaan laskun nyt.", final=True)
    assert verdict is not None and verdict.kind == "agent"


def test_a_stage_direction_in_the_reply_is_an_echo() -> None:
    verdict = ANGRY.check("(Swears. One or two sentences. In Finnish)", final=True)
    assert verdict is not None and verdict.kind == "echo"
    assert ANGRY.check("(sighs) Fine.", final=True) is None


def test_taking_up_one_sentence_of_an_earlier_line_again_is_not_a_repeat() -> None:
    opening = ("All three of your card machines just died in the middle of Friday service! "
               "I have a full restaurant and nobody can pay!")
    check = CharacterCheck(rung=Rung.ESCALATED_ANGRY, said=frozenset({opening}))
    assert check.check("I have a full restaurant and nobody can pay!", final=True) is None
    verdict = check.check(opening.upper(), final=True)
    assert verdict is not None and verdict.kind == "repeat" and verdict.copied == opening
