"""The spelling signal through its public functions, on the machine's real dictionaries.

scripts/setup --test installs Debian's hunspell dictionaries and Voikko, so these tests
need them; a missing one fails here rather than silently turning the signal off.
"""

from __future__ import annotations

import logging
import random

import pytest

from roleplay.spelling import looks_misspelt, unknown_share

SENTENCES = {
    "en": "I have been waiting at home since eight for your technician, and nobody called.",
    "fi": "Olen odottanut kotona aamukahdeksasta asti, eikä kukaan ole soittanut minulle.",
    "hu": "Reggel nyolc óta itthon várom a szerelőjüket, és senki nem telefonált nekem.",
    "lv": "Es gaidu jau trīs stundas, un neviens man nav piezvanījis atpakaļ.",
    "no": "Jeg har ventet hele morgenen, og ingen har ringt meg tilbake om fakturaen.",
}


def _shuffled(sentence: str, seed: int = 7) -> str:
    """Shuffle the letters inside each word (first and last letter kept), as broken text."""
    rng = random.Random(seed)
    out = []
    for word in sentence.split():
        core = word.strip(",.")
        if len(core) > 3:
            middle = list(core[1:-1])
            for _ in range(20):
                rng.shuffle(middle)
                if "".join(middle) != core[1:-1]:
                    break
            word = word.replace(core, core[0] + "".join(middle) + core[-1])
        out.append(word)
    return " ".join(out)


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_a_real_sentence_scores_low(language: str) -> None:
    assert unknown_share(SENTENCES[language], language) == 0.0
    assert looks_misspelt(SENTENCES[language], language) is None


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_letters_shuffled_inside_words_score_high(language: str) -> None:
    broken = _shuffled(SENTENCES[language])
    share = unknown_share(broken, language)
    assert share is not None and share >= 0.5, (broken, share)
    flagged = looks_misspelt(broken, language)
    assert flagged is not None and len(flagged.unknown) >= 3


def test_an_unknown_language_returns_none_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="roleplay.spelling"):
        assert unknown_share("Ich habe den ganzen Morgen gewartet.", "xx") is None
        assert looks_misspelt("Ich habe den ganzen Morgen gewartet.", "xx") is None
    assert any("'xx'" in r.getMessage() for r in caplog.records)


def test_names_numbers_and_short_words_are_not_checked() -> None:
    # Zyxwq inside a sentence is a name; 486 is a number; "ok" is too short to check.
    assert unknown_share("I paid 486 euros to Zyxwq and it is ok.", "en") == 0.0


def test_persona_words_count_as_known() -> None:
    line = "Tezzoplan promised the refund on Thursday."
    assert unknown_share(line, "en") == pytest.approx(1 / 4)  # Thursday: a capitalised name
    assert unknown_share(line, "en", known=["Tezzoplan Ltd"]) == 0.0


def test_one_slip_in_a_long_reply_stays_below_the_threshold() -> None:
    reply = ("I have been waiting at home since eight for your technician, and nobody "
             "called me back or told me anything about the new appointment they promised "
             "for tomorrw morning.")
    assert 0 < (unknown_share(reply, "en") or 0) < 0.05
    assert looks_misspelt(reply, "en") is None
