"""What a trainee may say in one line, checked wherever a line comes in.

The web app, `roleplay chat`, the transcript store and transcript files all ask
`line_problem` before a trainee line is kept, so a line that could jam a call (too long for
the customer's prompt, or text a browser cannot carry back) is refused with a message the
trainee understands, and nothing is stored.

Why 2,000 characters: the customer's prompt has `ROLEPLAY_CONTEXT_TOKENS` (4,096 by
default) for the persona (about 950 tokens for the longest shipped persona), the call so far
(oldest lines are dropped to fit) and the 80-token reply. The line being answered is never
dropped, so it must fit beside the persona with room to spare: with a 2,000-character
Finnish line the whole prompt is about 2,070 tokens. Text that counts many tokens per
character (emoji, some scripts) is held to the same room by MAX_LINE_TOKENS.
"""

from __future__ import annotations

from roleplay.tokens import budget_tokens
from roleplay.yamlfile import bad_character

MAX_LINE_CHARS = 2_000
"""The most characters a trainee line may have (about half a page; a spoken turn is far less)."""
MAX_LINE_TOKENS = 1_500
"""The most customer-model tokens (with tokens.SAFETY) a line may take: 2,000 characters of
Finnish take about 1,130, of English about 400; 2,000 emoji would take over 4,000."""


def line_problem(text: str) -> str | None:
    """Return why `text` cannot be sent as a trainee line, as a message for the trainee; else None."""
    if len(text) > MAX_LINE_CHARS:
        return (f"Your line is {len(text):,} characters long; a line may be at most "
                f"{MAX_LINE_CHARS:,}. Say it in shorter lines, one point at a time.")
    bad = bad_character(text)
    if bad is not None:
        where, what = bad
        return (f"Your line contains {what} at character {where + 1}, which cannot be saved "
                "(it often comes with pasted text). Delete it and send the line again.")
    if budget_tokens(text) > MAX_LINE_TOKENS:
        return ("Your line is too long for the customer to take in at once (it has many "
                "symbols or emoji). Say it in shorter lines, one point at a time.")
    return None

