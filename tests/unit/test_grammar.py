"""roleplay.grammar: the grammar of a reply that does not start like an earlier line and stays
in the persona's script."""

from __future__ import annotations

from _gbnf import allows

from roleplay.character import FOREIGN_SCRIPTS
from roleplay.grammar import reply_grammar


def test_a_banned_start_is_ruled_out_and_everything_else_allowed() -> None:
    grammar = reply_grammar(["Your system", "Every"])
    assert grammar is not None
    assert not allows(grammar, " Your system has been down since twenty to ten!")
    assert not allows(grammar, "Every minute costs money.")
    assert not allows(grammar, "  Your system is down.")  # nor after a second space
    assert allows(grammar, " Your team is waiting? Every minute costs money.")
    assert allows(grammar, " I want it fixed. Your system is a joke.")
    assert allows(grammar, " Ever heard of a deadline?")
    assert allows(grammar, "")  # the model can always stop


def test_characters_that_mean_something_in_gbnf_are_taken_literally() -> None:
    starts = ['Ääh"]', "Mitä\\ -kello", "Jo [näin]^"]
    grammar = reply_grammar(starts)
    assert grammar is not None
    for start in starts:
        assert not allows(grammar, start + " lisää")
        assert allows(grammar, start[:-1])
    assert allows(grammar, " Ääh, taas.")


def test_nothing_to_rule_out_is_no_grammar() -> None:
    assert reply_grammar([]) is None
    assert reply_grammar([""]) is None


def test_foreign_scripts_are_ruled_out_everywhere_in_the_reply() -> None:
    grammar = reply_grammar(["Your system"], FOREIGN_SCRIPTS)
    assert grammar is not None
    assert not allows(grammar, " Your system is down.")
    assert allows(grammar, " Where is my refund? Ääh, sasodīts, ő, ø!")
    assert not allows(grammar, " Where is my refund? 我的退款")  # Chinese after the start
    assert not allows(grammar, "Где мой возврат?")  # Cyrillic at the very start
    assert not allows(grammar, " Y我")  # inside the banned start's trie


def test_scripts_alone_are_a_grammar_and_any_latin_text_fits() -> None:
    grammar = reply_grammar([], FOREIGN_SCRIPTS)
    assert grammar is not None
    assert allows(grammar, "Velns parāvis, kur ir mana mašīna?")
    assert allows(grammar, "")
    assert not allows(grammar, "Velns, машина!")
