"""Hostile Markdown and HTML render inert: one test per vector."""

import pytest

from elearn.html import render_markdown

VECTORS = {
    "script tag": "<script>alert(1)</script>",
    "javascript link": "[bấm vào đây](javascript:alert(1))",
    "javascript link, mixed case": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "javascript link, entity-encoded": '<a href="&#106;avascript:alert(1)">x</a>',
    "onerror attribute": "<img src=x onerror=alert(1)>",
    "onclick on an allowed tag": '<p onclick="alert(1)">x</p>',
    "iframe": '<iframe src="https://evil.example"></iframe>',
    "svg with onload": "<svg onload=alert(1)><circle r=1 /></svg>",
    "svg script": "<svg><script>alert(1)</script></svg>",
    "style attribute": '<p style="background:url(javascript:alert(1))">x</p>',
    "style tag": "<style>body { background: url(javascript:alert(1)) }</style>",
    "data url link": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data url image": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "markdown image with javascript": "![x](javascript:alert(1))",
    "object and embed": '<object data="x.swf"></object><embed src="x.swf">',
    "form": '<form action="https://evil.example"><input name=p></form>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "base tag": '<base href="https://evil.example/">',
}
DANGEROUS = [
    "<script",
    "javascript:",
    "onerror",
    "onload",
    "onclick",
    "<iframe",
    "<svg",
    "style=",
    "<style",
    "data:",
    "<object",
    "<embed",
    "<form",
    "<input",
    "<meta",
    "<base",
    "<img",
]


@pytest.mark.parametrize("source", VECTORS.values(), ids=VECTORS.keys())
def test_vector_renders_inert(source):
    html = render_markdown(source).lower()
    assert [bad for bad in DANGEROUS if bad in html] == []


def test_ordinary_markdown_survives():
    html = render_markdown(
        "## Mục 1\n\n- **đậm** và *nghiêng*\n\n[Cổng](https://dichvucong.gov.vn)"
        "\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert "<h2>Mục 1</h2>" in html
    assert "<strong>đậm</strong>" in html
    assert '<a href="https://dichvucong.gov.vn" rel="noopener noreferrer">Cổng</a>' in html
    assert "<table>" in html


def test_code_is_escaped_once():
    assert render_markdown("`a<b && c`") == "<p><code>a&lt;b &amp;&amp; c</code></p>"
