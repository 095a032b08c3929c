"""The customer prompt: golden rendering, a stable prefix across turns, the direction last."""

from __future__ import annotations

import os

from roleplay.config import PROJECT_ROOT
from roleplay.customer_prompt import PromptBuilder, unsworn
from roleplay.mood import Rung
from roleplay.personas import find_persona
from roleplay.transcript import Transcript, Turn

GOLDEN = PROJECT_ROOT / "tests" / "golden" / "customer_crm-outage.txt"


def builder(persona_id: str = "crm-outage") -> PromptBuilder:
    return PromptBuilder(find_persona(persona_id, PROJECT_ROOT / "personas"),
                         PROJECT_ROOT / "prompts")


def call(b: PromptBuilder) -> Transcript:
    return Transcript(turns=[
        Turn(role="customer", content=b.persona.opening, rung_after=Rung.ESCALATED_ANGRY),
        Turn(role="trainee", content="I'm sorry. I'm escalating this right now.",
             rung_before=Rung.ESCALATED_ANGRY, rung_after=Rung.PASSIVE_ANGRY),
        Turn(role="customer", content="Sure. I've heard that before.",
             rung_after=Rung.PASSIVE_ANGRY),
        Turn(role="trainee", content="Calm down, it's probably your network.",
             rung_before=Rung.PASSIVE_ANGRY, rung_after=Rung.ESCALATED_ANGRY),
    ])


def test_rendered_prompt_matches_the_golden_file() -> None:
    """To accept a deliberate change: ROLEPLAY_UPDATE_GOLDEN=1 pytest this file, review the diff."""
    text = builder().build(call(builder()), Rung.ESCALATED_ANGRY, 4096, 80).text
    if os.environ.get("ROLEPLAY_UPDATE_GOLDEN"):
        GOLDEN.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == GOLDEN.read_text(encoding="utf-8")


def test_each_prompt_starts_with_the_previous_prompt_up_to_its_direction() -> None:
    b = builder()
    transcript = call(b)
    first = b.build(Transcript(turns=transcript.turns[:2]), Rung.PASSIVE_ANGRY, 4096, 80)
    second = b.build(transcript, Rung.ESCALATED_ANGRY, 4096, 80)
    assert second.text.startswith(first.cached_part)
    assert first.text.startswith(first.cached_part)
    # Only the direction and the label follow the call lines.
    tail = first.text[len(first.cached_part):].splitlines()
    assert tail == [("(Dana is now annoyed: Sarcastic and clipped, polite on the surface; doubts "
                    "anything will actually happen. Dana does not swear. One or two sentences, "
                    "in English.)"), "Dana:"]


def test_the_prompt_names_no_rung_ids_and_swearing_only_on_cursing() -> None:
    b = builder()
    for rung in Rung:
        text = b.build(call(b), rung, 4096, 80).text
        assert "passive-angry" not in text and "escalated-angry" not in text
        direction = text.splitlines()[-2]
        assert ("Dana swears." in direction) == (rung == Rung.CURSING)


def test_a_finnish_persona_is_told_to_answer_in_finnish() -> None:
    b = builder("sahkolasku-arvio")
    text = b.build(Transcript(turns=[Turn(role="customer", content=b.persona.opening)]),
                   Rung.CURSING, 4096, 80).text
    assert "Jukka speaks Finnish only." in text
    assert text.splitlines()[-2].endswith("in Finnish.)")
    assert text.endswith("\nJukka: Perkele,")  # on cursing, opened with the persona's oath


def test_the_oldest_lines_are_trimmed_to_fit_and_the_persona_stays() -> None:
    b = builder()
    long_call = Transcript(turns=[Turn(role="customer", content=b.persona.opening)] + [
        Turn(role="trainee" if i % 2 == 0 else "customer", content=f"line {i} " + "word " * 60)
        for i in range(60)])
    prompt = b.build(long_call, Rung.CALM, 2048, 80)
    assert prompt.dropped_lines > 0
    assert prompt.text.startswith("Recorded support call to Pipeline CRM.")
    assert "line 59 " in prompt.text
    assert "Dana: Your system has been down" not in prompt.text


def test_the_prompt_drops_earlier_swearing_and_the_policy_but_the_store_keeps_them() -> None:
    from roleplay.customer_prompt import call_lines

    b = builder()
    swore = Turn(role="customer", content="Damn it, this is a bloody joke!",
                 rung_after=Rung.CURSING)
    lines = call_lines(b.persona, Transcript(turns=[swore]))
    assert lines == ["Dana: this is a joke!"]
    assert swore.content == "Damn it, this is a bloody joke!"
    text = b.build(Transcript(turns=[swore]), Rung.PASSIVE_ANGRY, 4096, 80).text
    assert "damn" not in text.lower() and "crap" not in text.lower()
    assert b.persona.policy.may_offer[0] not in text


def test_the_reply_stops_where_another_speaker_would_begin() -> None:
    from roleplay.customer_prompt import stop_sequences

    stops = stop_sequences("Dana")
    assert {"\nAgent:", " Agent:", "\nDana:", " Dana:"} <= set(stops)


def test_the_next_line_may_not_start_like_any_sentence_said_before() -> None:
    b = builder()
    starts = b.build(call(b), Rung.ESCALATED_ANGRY, 4096, 80).avoid_starts
    # The opening's two sentences, the customer's later line, and how the agent began; a
    # common first word ("Your", "I'm") takes the next one with it, or "I" alone would go.
    for start in ("Your system", "It's the", "Sure", "I'm sorry", "Calm"):
        assert start in starts
    assert "Your" not in starts and "I'm" not in starts


def test_a_start_stripped_of_its_oath_is_also_ruled_out_capitalised() -> None:
    b = builder("sahkolasku-arvio")
    opening = b.persona.opening.strip()
    line = unsworn(opening, "fi")
    assert line != opening and line[0].islower()  # the oath and its capital went together
    transcript = Transcript(turns=[Turn(role="customer", content=opening,
                                        rung_after=b.persona.start_rung)])
    # Once calmed: on cursing (the start rung) the line opens with an oath, nothing to rule out.
    starts = b.build(transcript, Rung.ESCALATED_ANGRY, 4096, 80).avoid_starts
    first = line.split()[0]
    assert first in starts and first.capitalize() in starts


def test_a_cursing_line_is_opened_with_the_personas_oaths_in_turn() -> None:
    from roleplay.customer_prompt import oath_openers

    # Whole oaths up to their comma or "!"; an example whose oath comes later opens nothing.
    assert oath_openers(builder("alv-raportti").persona) == ("Voi helvetti,", "Saatana,")
    webshop = builder("webshop-fizetes-hiba").persona
    late = webshop.rungs.cursing.model_copy(update={"examples": [
        "Ez egy rohadt vicc, a legnagyobb napomon!", "A francba a folyamataikkal, javítsák meg!"]})
    assert oath_openers(webshop.model_copy(
        update={"rungs": webshop.rungs.model_copy(update={"cursing": late})})) == ()
    b = builder("alv-raportti")
    transcript = Transcript(turns=[Turn(role="customer", content=b.persona.opening,
                                        rung_after=b.persona.start_rung)])
    openers = []
    for _ in range(3):
        prompt = b.build(transcript, Rung.CURSING, 4096, 80)
        assert prompt.text.endswith(f"Sari: {prompt.opener}") and prompt.avoid_starts == ()
        openers.append(prompt.opener)
        transcript.turns += [Turn(role="trainee", content="Rauhoitu."),
                             Turn(role="customer", content=f"{prompt.opener} taas tämä!")]
    assert openers == ["Voi helvetti,", "Saatana,", "Voi helvetti,"]
    # Below cursing nothing is given: the model starts the line, avoiding earlier starts.
    calmer = b.build(transcript, Rung.ESCALATED_ANGRY, 4096, 80)
    assert calmer.opener == "" and calmer.text.endswith("Sari:") and calmer.avoid_starts


def test_a_start_retyped_with_a_letter_changed_is_ruled_out_too() -> None:
    from _gbnf import allows

    from roleplay.grammar import reply_grammar

    b = builder("galda-rezervacija")  # opens "Labdien. Man ir apstiprinājums ..."
    transcript = Transcript(turns=[Turn(role="customer", content=b.persona.opening,
                                        rung_after=b.persona.start_rung)])
    grammar = reply_grammar(b.build(transcript, Rung.PASSIVE_ANGRY, 4096, 80).avoid_starts)
    assert grammar is not None
    for copy in ("Labdies. Man ir apstiprinājums", "Labdībā. Man vajag galdu",
                 "Astoņi gadi pie jums"):
        assert not allows(grammar, " " + copy), copy
    # A common word and the next are the start ("Man ir"): other lines may open with "Man".
    assert allows(grammar, " Man vajag galdu, nevis skaidrojumus!")
    assert allows(grammar, " Nu protams, astoņi gadi pie jums.")
