"""Which language a text is written in, and what each language is called.

One table of common words per language serves two detectors: `detect_language`, which
says None when a customer reply is too short to tell (the eval harness's language
contract), and `guess_language`, which always names one language (the evaluator choosing
its lexicons). The engine's wrong-language check counts the English words of a reply with
`common_share`. Customer lines are short (one to three sentences), too short for character
n-gram models but long enough to contain a few function words, which differ sharply between
these five languages. Letters unique to one language add weight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from roleplay.text import words as _text_words

NAMES: dict[str, str] = {
    "en": "English", "fi": "Finnish", "no": "Norwegian (bokmål)", "sv": "Swedish",
    "lv": "Latvian", "hu": "Hungarian", "de": "German", "et": "Estonian", "da": "Danish",
}
"""The English name of each language a persona may speak, as the prompts write it."""


def language_name(code: str) -> str:
    """Return the English name of a language code, or the code itself if it is not known."""
    return NAMES.get(code, code)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The most frequent function words of spoken complaints, and the everyday service words
# ("sorry", "kiitos") trainees and customers use; words shared by two languages ("en", "to",
# "de", "i", "a", "her") simply count for both.
COMMON_WORDS: dict[str, frozenset[str]] = {
    "en": _words("""
        the and is are am was were be been i you he she it we they me my your our their this
        that these those to of in on at for with from not no yes do does did don't doesn't
        didn't can can't cannot will won't would could should have has had i'm you're it's
        that's what why how when where who just but so if or then there here please thank
        thanks about again any all still now an a very really going want need know told call
        him her them sorry hello hi"""),
    "fi": _words("""
        ja on ei se että olen oli ole olet olette ovat olla mutta kun jos niin tämä tämän
        tätä tästä mitä mikä miksi miten minä mä sinä sä hän te me he nyt vielä jo kuin myös
        vain sitten koska tai sen siitä tässä onko ette teidän minun mun sinun meidän kanssa
        sitä enää aina kyllä juuri pitää pitäisi voi voit voitte voin kiitos anteeksi hei
        mulla minulla teillä mitään yhtään taas ihan tosi eikä en et ettekö siis vaan tänään
        huomenna asia asian"""),
    "no": _words("""
        og jeg det at en et er til på som ikke har med for av den de vi du men så var om kan
        vil meg deg dere hva hvorfor når bare nå skal må dette også min mitt mine din fra
        etter noe ingen hei takk beklager veldig jo ja nei hadde blir ble her der hvor hvordan
        deres oss sitt"""),
    "lv": _words("""
        un ir es ka ar par nav bet jūs tas tā to man mans mana kas vai kā lai jau vēl tikai no
        uz pie bija būs šo šis šī mēs viņš viņa kāpēc kad arī tagad paldies labdien lūdzu
        atvainojiet jums jūsu nekas ļoti vairs esmu esat varat var varu gribu jāgaida kur šeit
        jā nē"""),
    "hu": _words("""
        a az és hogy nem egy is van de meg ez azt már csak még ki mi ha mert vagy vagyok én ön
        önnek maga nincs volt lesz kell itt most miért mikor hogyan holnap nagyon igen kérem
        köszönöm sajnálom jó ezt nekem engem önök nekünk mit hol sem pedig akkor aztán
        szeretném tudom mindig soha"""),
}
"""Common words of each language a lexicon exists for, lowercased."""

# Letters that occur in one of the five languages only (among these five).
_UNIQUE_LETTERS: dict[str, frozenset[str]] = {
    "fi": frozenset("ä"),
    "no": frozenset("æøå"),
    "lv": frozenset("āēīūčšžķļņģ"),
    "hu": frozenset("őű"),
}


@dataclass(frozen=True)
class LanguageGuess:
    """The most likely language and how sure the guess is."""

    language: str | None
    """ISO 639-1 code, or None when the text gives too little evidence."""
    scores: dict[str, float]
    """Evidence per language: common-word hits plus unique-letter weight."""


def _tokens(text: str) -> list[str]:
    # A typographic apostrophe ("don’t") is the same word as the typed one.
    return [w.replace("’", "'") for w in _text_words(text)]


def _hits(words: Sequence[str]) -> dict[str, int]:
    return {lang: sum(1 for w in words if w in common) for lang, common in COMMON_WORDS.items()}


def common_share(words: Sequence[str], language: str) -> float:
    """Return the share of `words` (lowercased, as `text.words` gives them) common in `language`."""
    if not words:
        return 0.0
    common = COMMON_WORDS.get(language, frozenset())
    return sum(1 for w in words if w.replace("’", "'") in common) / len(words)


def detect_language(text: str, min_evidence: float = 2.0) -> LanguageGuess:
    """Guess the language of `text`; `language` is None below `min_evidence` or on a tie.

    A reply of one or two words ("Okay.", "Selvä.") cannot be judged, and the contract
    counts it neither as a pass nor as a failure.
    """
    scores = {lang: float(hits) for lang, hits in _hits(_tokens(text)).items()}
    lowered = text.lower()
    for lang, letters in _UNIQUE_LETTERS.items():
        # One unique letter is strong evidence, but a name ("Søren") must not outvote a sentence.
        scores[lang] += min(2.0, sum(0.5 for ch in lowered if ch in letters))
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, best_score = ranked[0]
    runner_up = ranked[1][1]
    if best_score < min_evidence or best_score == runner_up:
        return LanguageGuess(language=None, scores=scores)
    return LanguageGuess(language=best, scores=scores)


def guess_language(text: str, among: Iterable[str]) -> str:
    """Return the language of `among` whose common words are most frequent in `text`.

    English wins ties and is the answer when no word is known: it is the default and the
    language trainees code-switch into. Among the others the first in `among` wins a tie.
    """
    hits = _hits(_tokens(text))
    best, best_hits = "en", 0
    for lang in among:
        count = hits.get(lang, 0)
        if count > best_hits or (count == best_hits and lang == "en"):
            best, best_hits = lang, count
    return best
