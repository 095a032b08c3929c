"""Token counting and trimming: oldest call lines go first, never the persona nor the last line."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from roleplay.errors import PromptError
from roleplay.tokens import DROP_BLOCK, SAFETY, budget_tokens, count_tokens, fit_lines

PERSONA = "Persona: " + "the customer is upset about a late refund. " * 10


def render(lines: Sequence[str]) -> str:
    return PERSONA + "\n" + "\n".join(lines) + "\nDana:"


def call(n: int) -> list[str]:
    return [f"{'Agent' if i % 2 else 'Dana'}: line number {i} " + "word " * 20 for i in range(n)]


def test_count_uses_the_offline_encoding() -> None:
    assert count_tokens("") == 0
    assert 0 < count_tokens("Hello there, how are you?") < 10
    assert budget_tokens("Hello there") == int(count_tokens("Hello there") * SAFETY) + 1


def test_a_call_that_fits_is_kept_whole() -> None:
    lines = call(4)
    prompt, dropped = fit_lines(render, lines, context_tokens=4096, max_tokens=80)
    assert dropped == 0 and prompt == render(lines)


def test_oldest_lines_are_dropped_first_and_the_persona_and_last_line_stay() -> None:
    lines = call(40)
    context = budget_tokens(render(lines[-10:])) + 80
    prompt, dropped = fit_lines(render, lines, context_tokens=context, max_tokens=80)
    assert dropped > 0
    assert prompt == render(lines[dropped:])
    assert prompt.startswith(PERSONA)
    assert lines[-1] in prompt and lines[dropped - 1] not in prompt
    assert budget_tokens(prompt) <= context - 80


def test_lines_are_dropped_in_blocks_so_the_kept_start_stays_stable() -> None:
    lines = call(40)
    context = budget_tokens(render(lines[-10:])) + 80
    _, dropped = fit_lines(render, lines, context_tokens=context, max_tokens=80)
    _, dropped_next = fit_lines(render, lines + call(1), context_tokens=context, max_tokens=80)
    assert dropped % DROP_BLOCK == 0
    # One more line usually fits within the slack of the block: the same start is kept.
    assert dropped_next in (dropped, dropped + DROP_BLOCK)


def test_when_even_the_persona_and_last_line_do_not_fit_it_says_what_to_raise() -> None:
    with pytest.raises(PromptError, match="ROLEPLAY_CONTEXT_TOKENS"):
        fit_lines(render, call(3), context_tokens=120, max_tokens=80)
