"""A Label Studio project's label config, read for what beambell's predictions need.

Plain XML parsing, no HTTP: the service checks a project's config with it on ``/setup`` and
``/predict``, and ``tests/unit/test_serving_api.py`` calls it directly.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class LabelTarget:
    """Where a prediction goes in a Label Studio project: its ``Choices`` tag and text variable."""

    from_name: str = "label"
    to_name: str = "text"
    text_key: str = "text"
    choices: tuple[str, ...] = ()


class LabelConfigError(ValueError):
    """The project's label config cannot take this task's predictions."""


@lru_cache(maxsize=64)
def parse_label_config(config: str, task_labels: tuple[str, ...]) -> LabelTarget:
    """The first ``<Choices>`` tag, the object tag it labels and the task labels it offers."""
    try:
        root = ET.fromstring(config)
    except ET.ParseError as exc:
        raise LabelConfigError(f"label config is not valid XML: {exc}") from exc
    choices_tag = next(root.iter("Choices"), None)
    if choices_tag is None:
        raise LabelConfigError("label config has no <Choices> tag: beambell predicts one class per page")
    from_name = choices_tag.get("name") or ""
    to_name = (choices_tag.get("toName") or "").split(",")[0].strip()
    if not from_name or not to_name:
        raise LabelConfigError("the <Choices> tag needs `name` and `toName`")
    text_key = "text"
    for tag in root.iter():
        if tag.get("name") == to_name and (tag.get("value") or "").startswith("$"):
            text_key = tag.get("value", "$text")[1:]
            break
    offered = tuple(c.get("value") or c.get("alias") or "" for c in choices_tag.iter("Choice"))
    usable = tuple(c for c in offered if c in task_labels)
    if not usable:
        raise LabelConfigError(
            f"none of the label config's choices {list(offered)[:8]} is a label of this task "
            f"({list(task_labels)[:8]}…)"
        )
    return LabelTarget(from_name, to_name, text_key, usable)
