"""roleplay.grammar: the grammar of a reply that does not start like an earlier line."""

from __future__ import annotations

from _gbnf import allows

from roleplay.grammar import not_starting_with


def test_a_banned_start_is_ruled_out_and_everything_else_allowed() -> None:
    grammar = not_starting_with(["Your system", "Every"])
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
    grammar = not_starting_with(starts)
    assert grammar is not None
    for start in starts:
        assert not allows(grammar, start + " lisää")
        assert allows(grammar, start[:-1])
    assert allows(grammar, " Ääh, taas.")


def test_nothing_to_rule_out_is_no_grammar() -> None:
    assert not_starting_with([]) is None
    assert not_starting_with([""]) is None
