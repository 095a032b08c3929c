"""Character checks: each way a reply breaks is caught; in-character replies pass."""

from __future__ import annotations

import pytest

from roleplay.character import CharacterCheck, shingles
from roleplay.config import PROJECT_ROOT
from roleplay.mood import Rung
from roleplay.personas import find_persona

PERSONAS = PROJECT_ROOT / "personas"

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


@pytest.mark.parametrize("earlier, reply, language", [
    # Seen in full persona runs: the opening again with letters changed.
    ("kolmas kerta tällä viikolla kun soitan!", "Kolmasta kertaa tällä viikolla kun soitan!",
     "fi"),
    ("Man vannasistabā ir peļķe, un jūs man jautājat, vai es pats neesmu vainīgs!",
     "Man vannasistabā ir peļķe, un jutājat, vai es pats neesmu vainīgs!", "lv"),
    ("Third time I'm calling about this! You charged me twice for the sofa!",
     "Third tiem I'm callin about this! You charged me twice for teh sofa!", "en"),
])
def test_an_earlier_line_typed_again_with_letters_changed_is_a_repeat(
        earlier: str, reply: str, language: str) -> None:
    check = CharacterCheck(rung=Rung.ESCALATED_ANGRY, language=language,
                           said=frozenset({earlier}))
    verdict = check.check(reply, final=True)
    assert verdict is not None and verdict.kind == "repeat" and verdict.copied == earlier


def test_a_retyped_copy_in_another_language_is_out_of_character_first() -> None:
    check = CharacterCheck(rung=Rung.ESCALATED_ANGRY, language="fi",
                           said=frozenset({"Wher is my technicain, I hav waitted al day long!"}))
    verdict = check.check("Where is my technician, I have waited all day long!", final=True)
    assert verdict is not None and verdict.kind == "language"


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


@pytest.mark.parametrize("reply, language", [
    ("Olen kuitenkin tekoäly, en oikea asiakas.", "fi"),
    ("Ei, en ole tarkemmin. Olen sitten tekoäly.", "fi"),
    ("Es esmu tikai mākslīgais intelekts.", "lv"),
    ("Csak egy nyelvi modell vagyok.", "hu"),
    ("Jeg er bare en språkmodell.", "no"),
    ("Yes, that's right. It's a language model answering you.", "en"),
])
def test_an_admission_in_any_persona_language_is_caught(reply: str, language: str) -> None:
    verdict = CharacterCheck(rung=Rung.ESCALATED_ANGRY, language=language).check(reply,
                                                                                  final=True)
    assert verdict is not None and verdict.kind == "ai", verdict


@pytest.mark.parametrize("reply, language", [
    ("Ei, en ole mikään botti! Minä olen asiakas ja lasku on väärin!", "fi"),
    ("Nē, es neesmu bots! Man vajag galdu sestdien!", "lv"),
    ("Nem vagyok bot! Az akcióm ma indult!", "hu"),
    ("Nei, jeg er ikke en bot! Bilen er ikke her!", "no"),
    ("Olen kyllästynyt teidän tekoälyynne, haluan puhua ihmiselle!", "fi"),
])
def test_denying_being_a_bot_stays_in_character(reply: str, language: str) -> None:
    assert CharacterCheck(rung=Rung.ESCALATED_ANGRY, language=language).check(
        reply, final=True) is None


@pytest.mark.parametrize("reply, kind", [
    ("I have been waiting for six hours! Agent: I don't think we're talking about the same thing.",
     "agent"),
    ("Minulla on määräpäivä! Asiakas: Milloin tämä korjataan?", "agent"),
    ("Fine. (Agent is still speaking.) Just tell me when.", "echo"),
    ("Fine. *sighs heavily* Just tell me when.", "echo"),
    ("Hyvitys hyvästi. Sari does not swear. One or two sentences.", "echo"),
    ("Sure, switching to assistant mode now.", "mode"),
    ("Yes, please speak to me in German.", "mode"),
    ("DEBUG", "mode"),
    ("Es gibt three card terminals and nobody can pay!", "language"),
    ("Mi hanosia, koko tänään joka vuosi on kolmioi euroi takaisin, ja se on ihan väärin.",
     "language"),
    ("I'll be there right away.", "agent"),
    ("Olen varmaan itse tehnyt jotain väärin. Siirrän sinut toiseen osastoon.", "agent"),
])
def test_labels_narration_modes_and_other_languages_are_caught(reply: str, kind: str) -> None:
    verdict = ANGRY.check(reply, final=True) if "Asiakas" not in reply and "Siirrän" not in reply \
        else CharacterCheck(rung=Rung.ESCALATED_ANGRY, language="fi").check(reply, final=True)
    assert verdict is not None and verdict.kind == kind, verdict


def test_the_customers_own_label_inside_a_reply_is_caught_when_the_persona_is_known() -> None:
    persona = find_persona("double-charged-sofa", PERSONAS)
    check = CharacterCheck(rung=Rung.CURSING, persona=persona)
    verdict = check.check("I can't pay my rent. Marcus: I'm calling because I can't pay.",
                          final=True)
    assert verdict is not None and verdict.kind == "agent"
    assert check.check("Your 3:00 promise, remember? Nobody called!", final=True) is not None


def test_words_that_lag_or_run_ahead_of_the_rung_are_a_rung_verdict() -> None:
    persona = find_persona("crm-outage", PERSONAS)

    def kind(reply: str, rung: Rung) -> str | None:
        verdict = CharacterCheck(rung=rung, persona=persona).check(reply, final=True)
        return verdict.kind if verdict else None

    assert kind("Thank you, that works for me.", Rung.ESCALATED_ANGRY) == "rung"
    assert kind("Thanks a lot. Another email I'll never get!", Rung.ESCALATED_ANGRY) is None
    assert kind("This is ridiculous, I am furious with you!", Rung.CALM) == "rung"
    assert kind("Okay. Updates every thirty minutes, I can work with that.", Rung.CALM) is None
    assert kind("Fine, whatever you say.", Rung.CURSING) == "rung"  # flat on cursing
    assert kind("This is a damn joke!", Rung.CURSING) is None
    assert kind("Great, a case number. That will close my deals for me.",
                Rung.ESCALATED_ANGRY) == "rung"  # the passive-angry example, nothing louder


def test_a_time_or_number_the_persona_does_not_know_is_a_fact_verdict() -> None:
    persona = find_persona("crm-outage", PERSONAS)
    check = CharacterCheck(rung=Rung.ESCALATED_ANGRY, persona=persona)
    verdict = check.check("It has been down since 10:30 and nobody cares!", final=True)
    assert verdict is not None and verdict.kind == "fact" and "10:30" in verdict.detail
    assert check.check("It has been down since 9:40 and nobody cares!", final=True) is None
    assert check.check("Forty thousand euros, 40,000! Before 17:00 today!", final=True) is None
    named = check.check("My name is Linda and I want this fixed now!", final=True)
    assert named is not None and named.kind == "fact"
