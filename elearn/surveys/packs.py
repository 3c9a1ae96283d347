"""Surveys in content packs (docs/content-format.md, "Surveys").

A ``type: survey`` activity has an optional ``survey:`` mapping: ``anonymous`` (default
true), ``min_responses`` (default 3) and ``items``, each ``likert: text`` or ``comment:
text`` with an optional ``required`` (Likert items default to required, comments to
optional); without ``items`` the survey gets the standard satisfaction items.

Loading again changes nothing when the pack has not changed. A survey nobody has
answered takes the pack's items and anonymity; once answered it keeps both (the
answers would lose their meaning), and only item texts are corrected, when the pack
lists the same kinds of items in the same order.
"""

from __future__ import annotations

import logging
from pathlib import Path

from elearn.courses import packs
from elearn.courses.models import Activity, Module
from elearn.surveys import services
from elearn.surveys.models import ITEM_KINDS

log = logging.getLogger(__name__)

_KEYS = {"anonymous", "min_responses", "items"}
_DEFAULT_REQUIRED = {"likert": True, "comment": False}


def _fail(where: Path, line, message: str):
    raise packs.PackError(f"{where}{f':{line}' if line else ''}: {message}")


def read_survey(spec: dict, where: Path) -> dict:
    """Check a pack's ``survey:`` mapping and return it as settings and item tuples."""
    line = spec.get("__line__")
    unknown = sorted(set(spec) - _KEYS - {"__line__"})
    if unknown:
        _fail(
            where,
            line,
            f"unknown survey setting '{unknown[0]}' (one of {', '.join(sorted(_KEYS))})",
        )
    anonymous = spec.get("anonymous", True)
    if not isinstance(anonymous, bool):
        _fail(where, line, "'anonymous' must be true or false")
    least = spec.get("min_responses", services.MIN_SHOWN)
    if (
        isinstance(least, bool)
        or not isinstance(least, int)
        or not (services.MIN_SHOWN <= least <= services.MAX_SHOWN)
    ):
        _fail(
            where,
            line,
            f"'min_responses' must be a whole number from {services.MIN_SHOWN} "
            f"to {services.MAX_SHOWN}",
        )
    raw_items = spec.get("items")
    items = None
    if raw_items is not None:
        if not isinstance(raw_items, list) or not raw_items:
            _fail(where, line, "'items' must list at least one item")
        items = [_read_item(raw, where, line) for raw in raw_items]
    return {"anonymous": anonymous, "min_responses_shown": least, "items": items}


def _read_item(raw, where: Path, line) -> tuple[str, str, bool]:
    if not isinstance(raw, dict):
        _fail(where, line, "each item is 'likert: text' or 'comment: text'")
    line = raw.get("__line__", line)
    kinds = [k for k in ITEM_KINDS if k in raw]
    unknown = sorted(set(raw) - {*ITEM_KINDS, "required", "__line__"})
    if unknown:
        _fail(where, line, f"unknown item key '{unknown[0]}' (likert, comment, required)")
    if len(kinds) != 1:
        _fail(where, line, "each item is 'likert: text' or 'comment: text'")
    kind = kinds[0]
    text = raw[kind]
    if not isinstance(text, str) or not text.strip():
        _fail(where, line, f"the {kind} item needs a text")
    if len(text.strip()) > services.MAX_ITEM_TEXT:
        _fail(where, line, f"an item's text has at most {services.MAX_ITEM_TEXT} characters")
    required = raw.get("required", _DEFAULT_REQUIRED[kind])
    if not isinstance(required, bool):
        _fail(where, line, "'required' must be true or false")
    return kind, text.strip(), required


def load_survey(activity: Activity | None, module: Module, page: packs.PageData) -> Activity:
    """Create or update a pack's survey; an answered survey keeps its items and anonymity."""
    spec = page.survey
    items = spec["items"] if spec["items"] is not None else list(services.STANDARD_ITEMS)
    if activity is None:
        return services.add_survey(
            module,
            page.title,
            page.markdown,
            required=page.required,
            anonymous=spec["anonymous"],
            min_responses_shown=spec["min_responses_shown"],
            items=items,
            key=page.key,
        )
    if activity.type != "survey":
        raise packs.PackError(
            f"{page.file}: '{page.key}' is already a {activity.type}; give the survey a new key"
        )
    survey = services.survey_of(activity)
    answered = services.has_responses(survey)
    if answered and spec["anonymous"] != survey.anonymous:
        log.warning("survey %s is answered: its anonymity stays as it is", activity.id)
    services.update_survey(
        activity,
        page.title,
        page.markdown,
        required=page.required,
        anonymous=survey.anonymous if answered else spec["anonymous"],
        min_responses_shown=spec["min_responses_shown"],
    )
    current = services.items_of(survey)
    if [(i.kind, i.text, i.required) for i in current] == list(items):
        return activity
    if not answered:
        services.replace_items(survey, items)
    elif [(i.kind, i.required) for i in current] == [(k, r) for k, _t, r in items]:
        for item, (_kind, text, required) in zip(current, items, strict=True):
            services.update_item(survey, item, text, required)
    else:
        log.warning("survey %s is answered: its items stay as they are", activity.id)
    return activity


def export_survey(activity: Activity) -> dict:
    """The ``survey:`` mapping of a survey in an exported pack."""
    survey = services.survey_of(activity)
    spec: dict = {"anonymous": survey.anonymous}
    if survey.min_responses_shown != services.MIN_SHOWN:
        spec["min_responses"] = survey.min_responses_shown
    spec["items"] = [
        {
            item.kind: item.text,
            **(
                {"required": item.required} if item.required != _DEFAULT_REQUIRED[item.kind] else {}
            ),
        }
        for item in services.items_of(survey)
    ]
    return spec


packs.SURVEY_READER = read_survey
packs.SURVEY_LOADER = load_survey
packs.SURVEY_EXPORTER = export_survey
