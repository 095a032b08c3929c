"""GBNF grammars for llama.cpp's `grammar` request field (sampling constrained at the source).

The one grammar: any text that does not start with one of some given words and has no
character of some given scripts. The small customer model copies a whole earlier line of the
call from its first word on (114 of the 153 first drafts thrown away in a full personas run
of the harness); a line that cannot start the same way is less likely to turn into the same
line. Unlike `logit_bias`, which bans a word's tokens everywhere in the reply (and every
subword of a long Finnish word), the grammar only rules out the start: the words stay free to
be said later in the reply.

llama.cpp's DRY sampler, which penalises continuing any run already in the prompt, was tried
against the copies and left out (2026-12-01, seven personas, good and bad scripts, 51
replies per arm, arms alternated on one server). With `dry_allowed_length` 6 it ended the
repeats (17 throw-aways to 0) and raised the first-try rate from 0.53 to 0.67, but the model
kept copying with letters changed to step around the penalty ("kolmlla kerta ... tosisaanne"
for the opening's "kolmas kerta ... tosissanne"): hunspell's unknown-word share rose from
0.13 to 0.20 in Finnish and from 0.11 to 0.20 in Latvian. With 12 (two personas) it changed
nothing.

Ruling out the same starts at the start of every sentence of the reply, not only the first,
was tried too and left out (2026-12-02, all twelve personas, good and bad scripts, one run of
each per arm, arms alternated on one server, 67 and 69 replies). The copies thrown away fell
from 37 to 21, but the first-try rate stayed where it was (0.46 against 0.45): the model
stepped around the ban with letters changed ("Minun lukun ne ja teidän lukun ne eroavat..."
for "Minun lukuni ja teidän lukunne eroavat..."), and hunspell's unknown-word share rose from
0.022 to 0.041 (Finnish 0.026 to 0.119).

The scripts: the model drifts into Chinese or Cyrillic when confused, in Latvian most of all
(the persona velas-masina-bojata lost a whole reply to it in a harness run of 2026-12-02: every
draft switched script or copied a line). The character check throws such a draft away; the
grammar keeps the model from sampling those characters in the first place, at no cost to a
reply that never needed them (llama.cpp checks a sampled token against the grammar and only
re-samples when it does not fit).
"""

from __future__ import annotations

from collections.abc import Iterable

_Trie = dict[str, "_Trie"]
_END = ""  # key of a trie node where a banned start is complete


def _char(ch: str) -> str:
    # Letters and digits as themselves; everything else as a code point escape, so no
    # character can close a class or a string early.
    return ch if ch.isalnum() and ch.isascii() else f"\\u{ord(ch):04x}" \
        if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}"


def _ranges(never: Iterable[tuple[int, int]]) -> str:
    return "".join(f"{_char(chr(a))}-{_char(chr(b))}" for a, b in never)


def reply_grammar(starts: Iterable[str], never: Iterable[tuple[int, int]] = ()) -> str | None:
    """Return a GBNF grammar of every text not starting with one of `starts` (after at most
    one space) and with no character in the code point ranges `never` (inclusive), or None
    when there is nothing to rule out.

    A text that is a strict beginning of a banned start is allowed ("Yo" for "Your"), and so
    is the empty text, so the model can always stop.
    """
    ranges = _ranges(never)
    trie: _Trie = {}
    for start in starts:
        if not start:
            continue
        node = trie
        for ch in start:
            node = node.setdefault(ch, {})
        node[_END] = {}
    rest = f"rest ::= [^{ranges}]*" if ranges else 'rest ::= ([^\\n] | "\\n")*'
    if not trie:
        return f"root ::= rest\n{rest}" if ranges else None
    rules = ["root ::= [ ]? n0", rest]

    def visit(node: _Trie, name: str) -> None:
        kids = sorted(c for c in node if c != _END)
        # At the very start a second space would step around the ban: "  Your".
        other = "".join(_char(c) for c in kids) + ("\\u0020" if name == "n0" else "")
        alternatives = [f"[^{other}{ranges}] rest"]
        for ch in kids:
            child = node[ch]
            if _END in child:
                continue  # the whole banned start: no way through
            child_name = f"n{len(rules) - 2}"
            rules.append("")  # the child's slot, filled in by its visit
            alternatives.append(f"[{_char(ch)}] {child_name}")
            visit(child, child_name)
        alternatives.append('""')
        rules[int(name[1:]) + 2] = f"{name} ::= " + " | ".join(alternatives)

    rules.append("")  # n0's slot
    visit(trie, "n0")
    return "\n".join(rules)
