"""A matcher for the GBNF subset roleplay.grammar writes, so tests can ask what it allows.

Rules are `name ::= alt | alt | ...`, each alternative one of `[^chars] rest`, `[chars] name`,
`""`; `root ::= [ ]? n0` or `root ::= rest`; `rest` is any text, or any text without the
characters of `rest ::= [^chars]*`. A class may hold ranges (`\u0400-\u04ff`). Not
llama.cpp's parser: a second reading of the same grammar, which fails the test when the two
disagree on what the grammar means.
"""

from __future__ import annotations

import re

_RULE = re.compile(r"^(\w+) ::= (.*)$")
_ESCAPE = re.compile(r"\\u([0-9a-f]{4})|\\U([0-9a-f]{8})")


def _decode(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def _in_class(chars: str, ch: str) -> bool:
    # `chars` is decoded: "a-z" a range, any other character itself.
    i = 0
    while i < len(chars):
        if i + 2 < len(chars) and chars[i + 1] == "-":
            if chars[i] <= ch <= chars[i + 2]:
                return True
            i += 3
        else:
            if chars[i] == ch:
                return True
            i += 1
    return False


def allows(grammar: str, text: str) -> bool:
    """Return True when `grammar` accepts the whole of `text`."""
    rules = {}
    for line in grammar.splitlines():
        m = _RULE.match(line)
        assert m, f"not a rule: {line!r}"
        rules[m.group(1)] = m.group(2)
    root, rest_rule = rules.pop("root"), rules.pop("rest")
    if rest_rule == '([^\\n] | "\\n")*':
        never = ""
    else:
        m = re.fullmatch(r"\[\^(.*)\]\*", rest_rule)
        assert m, f"unknown rest rule {rest_rule!r}"
        never = _decode(m.group(1))

    def rest_ok(text: str) -> bool:
        return not any(_in_class(never, ch) for ch in text)

    if root == "rest":
        return rest_ok(text)
    assert root == "[ ]? n0"

    def match(name: str, rest: str) -> bool:
        for alt in rules[name].split(" | "):
            if alt == '""':
                if not rest:
                    return True
                continue
            m = re.fullmatch(r"\[(\^?)(.*?)\] (\w+)", alt)
            assert m, f"unknown alternative {alt!r}"
            negated, chars, then = m.group(1) == "^", _decode(m.group(2)), m.group(3)
            if not rest or _in_class(chars, rest[0]) == negated:
                continue
            if then == "rest" and rest_ok(rest[1:]) or then != "rest" and match(then, rest[1:]):
                return True
        return False

    return match("n0", text.removeprefix(" "))
