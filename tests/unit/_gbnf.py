"""A matcher for the GBNF subset roleplay.grammar writes, so tests can ask what it allows.

Rules are `name ::= alt | alt | ...`, each alternative one of `[^chars] rest`, `[chars] name`,
`""`; `root ::= [ ]? n0`; `rest` is any text. Not llama.cpp's parser: a second reading of the
same grammar, which fails the test when the two disagree on what the grammar means.
"""

from __future__ import annotations

import re

_RULE = re.compile(r"^(\w+) ::= (.*)$")
_ESCAPE = re.compile(r"\\u([0-9a-f]{4})|\\U([0-9a-f]{8})")


def _chars(text: str) -> set[str]:
    return set(_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text))


def allows(grammar: str, text: str) -> bool:
    """Return True when `grammar` accepts the whole of `text`."""
    rules = {}
    for line in grammar.splitlines():
        m = _RULE.match(line)
        assert m, f"not a rule: {line!r}"
        rules[m.group(1)] = m.group(2)
    assert rules.pop("root") == "[ ]? n0"
    assert rules.pop("rest") == '([^\\n] | "\\n")*'

    def match(name: str, rest: str) -> bool:
        for alt in rules[name].split(" | "):
            if alt == '""':
                if not rest:
                    return True
                continue
            m = re.fullmatch(r"\[(\^?)(.*?)\] (\w+)", alt)
            assert m, f"unknown alternative {alt!r}"
            negated, chars, then = m.group(1) == "^", _chars(m.group(2)), m.group(3)
            if not rest or (rest[0] in chars) == negated:
                continue
            if then == "rest" or match(then, rest[1:]):
                return True
        return False

    return match("n0", text.removeprefix(" "))
