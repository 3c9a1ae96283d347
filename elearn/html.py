"""Markdown to safe HTML: the one module that owns Markdown and bleach.

Instructors write Markdown; it is rendered and sanitised once, when saved, and the
HTML is stored beside it. When the allowlist below changes, bump
``ALLOWLIST_VERSION`` and run ``flask --app wsgi content rerender``.
"""

from __future__ import annotations

import re

import bleach
import markdown as markdown_lib
from markupsafe import escape

#: Bump when the allowlist changes; stored with each rendering.
ALLOWLIST_VERSION = 1

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "abbr", "sup", "sub",
})  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "abbr": ["title"], "th": ["scope"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})


# Elements whose content is code, not text: dropped whole rather than unwrapped.
_DROP_WITH_CONTENT = re.compile(
    r"<(script|style|iframe|object|svg|math|template|noscript|textarea)\b.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)


def render_markdown(text: str) -> str:
    """Return sanitised HTML for Markdown ``text`` (raw HTML in it is escaped or dropped)."""
    raw = markdown_lib.markdown(
        text or "", extensions=["tables", "sane_lists"], output_format="html"
    )
    raw = _DROP_WITH_CONTENT.sub("", raw)
    cleaned = bleach.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
    )
    # Links to other sites get no access to this page (bleach writes href first).
    return _EXTERNAL_LINK.sub(r'<a href="\1" rel="noopener noreferrer"', cleaned)


_EXTERNAL_LINK = re.compile(r'<a href="(https?://[^"]*)"')


def _clean(raw: str) -> str:
    raw = _DROP_WITH_CONTENT.sub("", raw)
    cleaned = bleach.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
    )
    return _EXTERNAL_LINK.sub(r'<a href="\1" rel="noopener noreferrer"', cleaned)


def render_text(text: str, text_format: str) -> str:
    """Return sanitised HTML for question text in a GIFT format: html, plain, markdown, moodle.

    ``html`` is cleaned with the same allowlist as pages; ``plain`` is escaped with its
    line breaks kept; ``markdown`` and Moodle's auto-format are rendered as Markdown.
    """
    if text_format == "html":
        return _clean(text or "")
    if text_format == "plain":
        paragraphs = [p for p in re.split(r"\n\s*\n", text or "") if p.strip()]
        return "".join(
            "<p>" + "<br>".join(str(escape(line)) for line in p.strip().split("\n")) + "</p>"
            for p in paragraphs
        )
    return render_markdown(text)
