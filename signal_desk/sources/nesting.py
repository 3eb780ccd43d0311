"""Flatten absurdly deep nesting of text-formatting tags, for markup lxml could not build a tree of.

libxml2 (under lxml) stops building the tree at 256 levels (2048 with `huge_tree`) and drops the rest
of the document without raising: one post with 300 nested `<b>` would lose its own text and every
element after it on the page. The parsers build with `huge_tree`, and when even that was cut short they
build again from this function's output. Formatting tags nested deeper than `MAX_FORMATTING_DEPTH`
carry no meaning we keep (the parsers reduce markup to plain text), so the extra tags are removed and
their text is kept. Structural elements are never touched; the Telegram parser also checks the posts it
read against those the page shows, for nesting of other kinds.
"""
from __future__ import annotations

import re
from typing import AnyStr

# Far above any real post (Telegram's own formatting nests a handful deep), far below libxml2's 256.
MAX_FORMATTING_DEPTH = 64

# Elements that only format text: dropping a surplus one loses styling, never text or structure.
FORMATTING_TAGS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "big", "blockquote", "cite", "code", "del", "dfn", "em", "font", "i",
    "ins", "kbd", "mark", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "tt",
    "u", "var", "tg-emoji", "tg-spoiler",
})
_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                        "param", "source", "track", "wbr"})
_RAW_TEXT_TAGS = frozenset({"script", "style", "textarea", "title", "xmp", "noembed", "noframes"})

# A comment, a declaration or processing instruction, or a start/end tag (attribute values may hold '>').
_TOKEN = r"""<!--.*?(?:-->|\Z)|<[!?][^>]*>?|<(/?)([A-Za-z][A-Za-z0-9:_-]*)((?:[^>"']++|"[^"]*+"|'[^']*+')*+)>"""
_TOKEN_STR = re.compile(_TOKEN, re.DOTALL)
_TOKEN_BYTES = re.compile(_TOKEN.encode(), re.DOTALL)


def flatten_deep_nesting(markup: AnyStr, max_depth: int = MAX_FORMATTING_DEPTH) -> AnyStr:
    """`markup` with formatting tags nested more than `max_depth` deep removed (their text kept).
    Markup that nests no deeper comes back unchanged (the same object)."""
    is_bytes = isinstance(markup, bytes)
    lt = b"<" if is_bytes else "<"
    if markup.count(lt) <= max_depth:
        return markup                      # too few tags to nest that deep
    token = _TOKEN_BYTES if is_bytes else _TOKEN_STR
    out: list = []
    stack: list[tuple[str, bool]] = []     # open elements: (name, kept in the output)
    formatting_depth = 0                   # kept formatting elements currently open
    copied = 0                             # markup[:copied] is already in `out`
    dropped_any = False
    pos = 0
    while (m := token.search(markup, pos)) is not None:
        pos = m.end()
        name_raw = m.group(2)
        if name_raw is None:
            continue                       # comment or declaration: copied through as is
        name = (name_raw.decode("ascii") if is_bytes else name_raw).lower()
        if m.group(1):                     # an end tag
            at = _last_open(stack, name)
            if at is None:
                continue                   # stray end tag: lxml ignores it, so do we
            kept = stack[at][1]
            for open_name, open_kept in stack[at:]:
                if open_kept and open_name in FORMATTING_TAGS:
                    formatting_depth -= 1
            del stack[at:]
            if not kept:
                out.append(markup[copied:m.start()])
                copied = pos
            continue
        attrs = m.group(3)
        if name in _VOID_TAGS or attrs.rstrip().endswith(b"/" if is_bytes else "/"):
            continue
        if name in _RAW_TEXT_TAGS:
            pos = _raw_text_end(markup, name, pos, is_bytes)
            continue
        if name not in FORMATTING_TAGS:
            stack.append((name, True))
        elif formatting_depth < max_depth:
            stack.append((name, True))
            formatting_depth += 1
        else:
            stack.append((name, False))    # too deep: drop the tag (and, later, its end tag)
            out.append(markup[copied:m.start()])
            copied = pos
            dropped_any = True
    if not dropped_any:
        return markup
    out.append(markup[copied:])
    return (b"" if is_bytes else "").join(out)


def _last_open(stack: list[tuple[str, bool]], name: str) -> int | None:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i][0] == name:
            return i
    return None


def _raw_text_end(markup: AnyStr, name: str, pos: int, is_bytes: bool) -> int:
    """Where the content of a <script>/<style>-like element ends: its text is not markup."""
    pattern = re.compile((rf"</{name}\s*>").encode() if is_bytes else rf"</{name}\s*>", re.IGNORECASE)
    found = pattern.search(markup, pos)
    return found.end() if found else len(markup)
