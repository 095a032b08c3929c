"""Plain-text pieces every reader of a call agrees on: words, sentences, speaker labels and
the names of principle statuses.

The grader-text masker, the evaluator's quotes and the engine's salvage of a broken reply
all cut at the same sentence ends; the engine and the eval harness know the agent's label by
the same pattern; the report and the web page name a status with the same words. Nothing
here imports the project, so every module may use it.
"""

from __future__ import annotations

import re

# --- words and sentences -----------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)

# A sentence ends at . ! ? or … (closing quotes and brackets stay with it) before white space
# or the end of the text, or at a line break. "3.5 euros" and "e.g.," do not end one.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)|\n")


def words(text: str) -> list[str]:
    """Return the words of `text`, lowercased; "don't" is one word, digits are none."""
    return [w.lower() for w in _WORD.findall(text)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of each sentence of `text` in order, with the spaces after it.

    The spans cover the whole text, so joined they give it back; the last one has no sentence
    end when the text stops mid-sentence. A line break is a span of its own, so removing a
    sentence at the end of a line keeps the next line apart.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        while end < len(text) and text[end].isspace() and text[end] != "\n":
            end += 1
        if end > start:
            spans.append((start, end))
            start = end
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def sentence_at(text: str, pos: int) -> tuple[int, int]:
    """Return (start, end) of the sentence of `text` holding offset `pos`."""
    for start, end in sentence_spans(text):
        if start <= pos < end:
            return start, end
    return len(text), len(text)


def first_sentence(text: str, limit: int = 200) -> str:
    """Return the first sentence of `text` with a letter or digit, stripped and cut at `limit`."""
    for start, end in sentence_spans(text):
        sentence = text[start:end].strip()
        if any(ch.isalnum() for ch in sentence):
            return sentence[:limit].rstrip()
    return text.strip()[:limit].rstrip()


def whole_sentences(text: str) -> list[str]:
    """Return the sentences of `text` up to the last sentence end; a trailing fragment is left out."""
    pieces = [text[s:e] for s, e in sentence_spans(text)]
    if pieces and not _SENTENCE_END.search(pieces[-1]):
        pieces.pop()
    return pieces


# --- speaker labels ----------------------------------------------------------------------------

AGENT_LABEL = "Agent"
"""How the customer prompt labels the trainee's lines."""

# Labels a small model writes for the agent's side when it answers as the agent.
AGENT_LABELS: tuple[str, ...] = (AGENT_LABEL, "Support", "Representative", "Assistant",
                                 "Customer service")
_LABELS = "|".join(AGENT_LABELS)

AGENT_AT_START = re.compile(rf"^\s*(?:{_LABELS})\s*:", re.IGNORECASE)
"""A reply that opens with the agent's label."""

# Case-sensitive: inside a line, "the support: useless" is the customer talking; "Support:"
# after a space is a new speaker's line.
AGENT_INSIDE = re.compile(rf"(?:^|\s)(?:{_LABELS})\s*:")
"""A reply that goes on to write the agent's next line."""


# --- principle statuses ------------------------------------------------------------------------

# status: (words for a person, Markdown report cell)
_STATUS_NAMES: dict[str, tuple[str, str]] = {
    "met": ("met", "met"),
    "partly": ("partly met", "partly"),
    "violated": ("violated", "**violated**"),
    "not_applicable": ("not applicable", "n/a"),
    "unscored": ("not scored", "unscored"),
}
STATUS_LABELS: dict[str, str] = {status: name for status, (name, _) in _STATUS_NAMES.items()}
"""How a page names a principle's status."""
STATUS_MARKDOWN: dict[str, str] = {status: cell for status, (_, cell) in _STATUS_NAMES.items()}
"""How the Markdown report names it, short for a table cell and a violation in bold."""
