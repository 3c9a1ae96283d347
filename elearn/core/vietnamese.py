"""Vietnamese text: folding for search and collation keys for sorting.

Both are plain strings computed in Python and stored in columns, so that
SQLite and PostgreSQL search and sort identically without ICU in either.

Collation follows the Vietnamese alphabet (a ă â b c d đ e ê g h i k l m n o ô
ơ p q r s t u ư v x y; f j w z placed as in the Latin alphabet for foreign
words): letters with a breve, circumflex, horn or stroke are letters of their
own (primary difference); the five tone marks are secondary differences in the
dictionary order ngang, huyền, hỏi, ngã, sắc, nặng (a à ả ã á ạ), as in CLDR's
Vietnamese tailoring; case is a tertiary difference.
"""

from __future__ import annotations

import unicodedata

_TONES = {
    "\u0300": 1,  # huyền (grave)
    "\u0309": 2,  # hỏi (hook above)
    "\u0303": 3,  # ngã (tilde)
    "\u0301": 4,  # sắc (acute)
    "\u0323": 5,  # nặng (dot below)
}
_QUALITY = {"\u0306": "\u0306", "\u0302": "\u0302", "\u031b": "\u031b"}  # breve, circumflex, horn

_ALPHABET = [
    *"0123456789",
    "a", "a\u0306", "a\u0302", "b", "c", "d", "đ", "e", "e\u0302", "f", "g", "h", "i", "j",
    "k", "l", "m", "n", "o", "o\u0302", "o\u031b", "p", "q", "r", "s", "t", "u", "u\u031b",
    "v", "w", "x", "y", "z",
]  # fmt: skip
# Two-digit codes from 10 upward; "00" separates words, so shorter names sort first.
_PRIMARY = {letter: f"{index + 10:02d}" for index, letter in enumerate(_ALPHABET)}
_WORD_SEPARATOR = "00"


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC, as typed by any Vietnamese input method."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Return ``text`` for diacritic- and case-insensitive search (đ matches d).

    >>> fold("CHÍNH PHỦ Điện tử")
    'chinh phu dien tu'
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(unicodedata.normalize("NFC", stripped).casefold().split())


def _letters(text: str):
    """Yield (base letter with its quality mark, tone rank, is_upper) for each letter."""
    for char in nfc(text):
        if char.isspace():
            yield None
            continue
        upper = char.isupper()
        lowered = char.lower()
        if lowered == "đ":
            yield "đ", 0, upper
            continue
        decomposed = unicodedata.normalize("NFD", lowered)
        base, marks = decomposed[0], decomposed[1:]
        tone = 0
        for mark in marks:
            if mark in _QUALITY:
                base += mark
            elif mark in _TONES:
                tone = _TONES[mark]
        if base in _PRIMARY:
            yield base, tone, upper
        elif base[0] in _PRIMARY:
            yield base[0], tone, upper
        # Anything else (punctuation, other scripts) does not affect the order.


def collation_key(text: str) -> str:
    """Return a string whose byte order is the Vietnamese alphabetical order of ``text``."""
    primary, secondary, tertiary = [], [], []
    previous_space = True
    for item in _letters(text):
        if item is None:
            if not previous_space:
                primary.append(_WORD_SEPARATOR)
            previous_space = True
            continue
        base, tone, upper = item
        primary.append(_PRIMARY[base])
        secondary.append(str(tone))
        tertiary.append("1" if upper else "0")
        previous_space = False
    while primary and primary[-1] == _WORD_SEPARATOR:
        primary.pop()
    return f"{''.join(primary)} {''.join(secondary)} {''.join(tertiary)}"


def split_person_name(full_name: str) -> tuple[str, str]:
    """Split a Vietnamese full name into (given name, family and middle names)."""
    words = nfc(full_name).split()
    if not words:
        return "", ""
    return words[-1], " ".join(words[:-1])


def person_sort_key(full_name: str) -> str:
    """Return the key that sorts people the Vietnamese way: given name, then family name."""
    given, rest = split_person_name(full_name)
    return f"{collation_key(given)} / {collation_key(rest)}"
