"""Appending a keyword argument to a call, or an entry to a dict literal, in the
layout the code already has: on one line (`f(a, b, new)`), or one item per line
with the same indentation, keeping a trailing comma when there is one and the
comment after the last item on that item's line."""

from __future__ import annotations

import libcst as cst

Whitespace = cst.BaseParenthesizableWhitespace


def _blank_after(ws: cst.ParenthesizedWhitespace) -> cst.ParenthesizedWhitespace:
    """A line break to the same indentation as `ws`, without its comment."""
    return cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(),
                                       empty_lines=[], indent=ws.indent,
                                       last_line=ws.last_line)


def _separator(prev_comma: cst.Comma | cst.MaybeSentinel, opening: Whitespace) -> Whitespace:
    """What separates two items: the whitespace after the previous comma (without its
    comment), else the line break after the opening bracket, else one space."""
    if isinstance(prev_comma, cst.Comma):
        ws = prev_comma.whitespace_after
        return _blank_after(ws) if isinstance(ws, cst.ParenthesizedWhitespace) else ws
    if isinstance(opening, cst.ParenthesizedWhitespace):
        return _blank_after(opening)
    return cst.SimpleWhitespace(" ")


def _split(closer: Whitespace, sep: Whitespace) -> tuple[Whitespace, Whitespace]:
    """(whitespace after the old last item's new comma, closing whitespace after the new
    item), from the old closing whitespace and the separator between items."""
    if isinstance(closer, cst.ParenthesizedWhitespace) and isinstance(
            sep, cst.ParenthesizedWhitespace):
        after_last = cst.ParenthesizedWhitespace(
            first_line=closer.first_line, empty_lines=[], indent=sep.indent,
            last_line=sep.last_line)
        new_closer = cst.ParenthesizedWhitespace(
            first_line=cst.TrailingWhitespace(), empty_lines=closer.empty_lines,
            indent=closer.indent, last_line=closer.last_line)
        return after_last, new_closer
    if isinstance(sep, cst.ParenthesizedWhitespace):
        return sep, closer
    return cst.SimpleWhitespace(" "), closer


def append_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """`call` with `name=value` added after its last argument."""
    args = list(call.args)
    equal: cst.AssignEqual | cst.MaybeSentinel = cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
    for a in args:
        if a.keyword is not None and isinstance(a.equal, cst.AssignEqual):
            equal = a.equal
            break
    new = cst.Arg(value=value, keyword=cst.Name(name), equal=equal)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    sep = _separator(args[-2].comma if len(args) > 1 else cst.MaybeSentinel.DEFAULT,
                     call.whitespace_before_args)
    if isinstance(last.comma, cst.Comma):
        after_last, closer = _split(last.comma.whitespace_after, sep)
        args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=after_last))
        new = new.with_changes(comma=cst.Comma(whitespace_after=closer))
    else:
        after_last, closer = _split(last.whitespace_after_arg, sep)
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=after_last),
                                     whitespace_after_arg=cst.SimpleWhitespace(""))
        new = new.with_changes(whitespace_after_arg=closer)
    return call.with_changes(args=[*args, new])


def append_entry(d: cst.Dict, key: cst.BaseExpression, value: cst.BaseExpression) -> cst.Dict:
    """`d` with `key: value` added after its last element."""
    elements = list(d.elements)
    new = cst.DictElement(key=key, value=value)
    for el in elements:
        if isinstance(el, cst.DictElement):
            new = new.with_changes(whitespace_before_colon=el.whitespace_before_colon,
                                   whitespace_after_colon=el.whitespace_after_colon)
            break
    if not elements:
        return d.with_changes(elements=[new])
    last = elements[-1]
    sep = _separator(elements[-2].comma if len(elements) > 1 else cst.MaybeSentinel.DEFAULT,
                     d.lbrace.whitespace_after)
    after_last, closer = _split(d.rbrace.whitespace_before, sep)
    if isinstance(last.comma, cst.Comma):
        new = new.with_changes(comma=last.comma)
        elements[-1] = last.with_changes(
            comma=last.comma.with_changes(whitespace_after=after_last))
    else:
        elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=after_last))
    return d.with_changes(elements=[*elements, new],
                          rbrace=d.rbrace.with_changes(whitespace_before=closer))
