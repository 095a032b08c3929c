"""Pydantic's validation errors in a trainer's words: what is wrong and how to fix it.

`explain` turns one error at a location of a file's model into the two halves of a Problem
line (`FILE:LINE: FIELD: what is wrong; how to fix it`). It reads the model for the rest:
the field's docstring for a missing field, the fields of the group for a misspelt one, the
bounds for a number. `roleplay.yamlfile` calls it for every kind of file.
"""

from __future__ import annotations

import difflib
import re
import typing

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]


def field_name(loc: Loc) -> str:
    """Return `loc` as a reader writes it: `rungs.calm.examples[0]`."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(file)"


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """Return the model whose fields live at `loc` under `root` (`root` for the top level)."""
    model: type[BaseModel] | None = root
    keyed = False  # the part after a dict field is a key the file chose, not a field name
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        if keyed:
            keyed = False
            continue
        field = fields(model).get(part)
        model, keyed = _inner_model(field.annotation if field else None)
    return model


def _inner_model(annotation: object) -> tuple[type[BaseModel] | None, bool]:
    """Return the model a field holds, through lists, dicts and `| None`, and if by key."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    keyed = typing.get_origin(annotation) is dict
    args = typing.get_args(annotation)[1:] if keyed else typing.get_args(annotation)
    for arg in args:
        model, _ = _inner_model(arg)
        if model is not None:
            return model, keyed
    return None, False


def fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """Return the fields of `model` by the name a file uses (the alias, if any)."""
    return {(f.alias or name): f for name, f in model.model_fields.items()}


def field_at(root: type[BaseModel], loc: Loc) -> FieldInfo | None:
    """Return the field `loc` names, if it is a field of a model (not a list item or a key)."""
    names = [p for p in loc if isinstance(p, str)]
    parent = model_at(root, tuple(names[:-1])) if names else None
    return fields(parent).get(names[-1]) if parent else None


def explain(err: ErrorDetails, loc: Loc, root: type[BaseModel], noun: str,
            hint: str) -> tuple[str, str]:
    """Return (what is wrong, how to fix it) for one pydantic error at `loc`."""
    kind, value = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    last = loc[-1] if loc else ""
    if kind == "missing":
        field = field_at(root, loc)
        about = f" ({field.description.rstrip('.')})" if field and field.description else ""
        group = model_at(root, loc)
        inner = f" with {', '.join(fields(group))} below it" if group else ""
        return "is missing", f"add `{last}:`{inner}{about}"
    if kind == "extra_forbidden":
        parent = model_at(root, loc[:-1]) or root
        names = list(fields(parent))
        close = difflib.get_close_matches(str(last), names, n=1)
        where = f"a {noun}" if parent is root else f"`{field_name(loc[:-1])}`"
        if close:
            return f"is not a field of {where}", f"did you mean `{close[0]}`?"
        return f"is not a field of {where}", f"remove it; the fields here are {', '.join(names)}"
    if kind in ("enum", "literal_error"):
        return one_of(value, re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
    if kind in ("string_type", "string_too_short"):
        return _explain_text(value)
    if kind == "string_too_long":
        limit = ctx.get("max_length")
        return f"is {len(str(value))} characters long", f"keep it to {limit} characters or fewer"
    if kind in ("list_type", "too_short"):
        if isinstance(value, str):
            return "is one text, not a list", "write each item on its own line starting with `- `"
        return "needs at least one item", "add one or more lines starting with `- ` below it"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        model = model_at(root, loc)
        inner = f": {', '.join(fields(model))}" if model else ""
        return "should be a group of fields", \
            f"put its fields on the lines below it, indented by two spaces{inner}"
    if kind.startswith(("int_", "float_", "greater_than", "less_than")) or kind == "finite_number":
        whole = "whole number" if kind.startswith("int_") or _is_int(root, loc) else "number"
        span = _range(field_at(root, loc))
        return f"'{value}' is not a {whole}{span}", f"write a {whole}{span}"
    if kind == "string_pattern_mismatch":
        return f"'{value}' does not match the pattern {ctx.get('pattern')}", hint
    if kind == "bool_parsing":
        return f"'{value}' is not yes or no", "write true or false"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, "), hint
    detail = err["msg"] + (f" ({ctx})" if ctx else "")
    return detail, hint


def one_of(value: object, names: list[str], what: str = "allowed value") -> tuple[str, str]:
    """Return the message for a value that must be one of `names`, with the closest one."""
    close = difflib.get_close_matches(str(value).strip().lower().replace(" ", "_"), names, n=1)
    hint = f"did you mean `{close[0]}`? " if close else ""
    return f"'{value}' is not {_a(what)}", f"{hint}use one of: {', '.join(names)}"


def _a(what: str) -> str:
    return f"an {what}" if what[:1] in "aeiou" else f"a {what}"


def _explain_text(value: object) -> tuple[str, str]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "is empty", "write the text after the colon"
    if isinstance(value, dict):
        return ("was read as a group of fields because the text contains ': '",
                "put the whole text in double quotes")
    if isinstance(value, list):
        return "is a list, but should be one text", \
            "write the text after the colon (use `>` and indented lines for a long text)"
    return f"'{value}' is not text", "put it in double quotes"


def _is_int(root: type[BaseModel], loc: Loc) -> bool:
    field = field_at(root, loc)
    return field is not None and field.annotation is int


def _range(field: FieldInfo | None) -> str:
    bounds: dict[str, object] = {}
    for meta in field.metadata if field else []:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(meta, name, None) is not None:
                bounds[name] = getattr(meta, name)
    if "ge" in bounds and "le" in bounds:
        return f" from {bounds['ge']} to {bounds['le']}"
    words = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}
    return "".join(f"{' and' if i else ''} {words[k]} {v}" for i, (k, v) in
                   enumerate(bounds.items()))
