"""The task protocol: a label space, its labeling functions, and how a record's text is read.

A task is any module (inside or outside this package) that exposes ``TASK`` (a :class:`Task`) or
``build_task() -> Task``. Point beambell at it with ``BEAMBELL_TASK``:

    BEAMBELL_TASK=my_project.tasks.news          # an importable module
    BEAMBELL_TASK=/path/to/news_task.py          # a file, no package needed
    BEAMBELL_TASK=/path/to/news_task.py:MY_TASK  # a file and an attribute
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from snorkel.labeling import LabelingFunction


class TaskPrepareError(ValueError):
    """A task's ``prepare`` hook broke the page table (rows lost, added or reordered)."""


@dataclass(frozen=True)
class Task:
    """What to label and how.

    ``text_field`` names the ``page_features`` column the classifier reads (and LFs by default).
    ``prepare`` may add task-specific columns to the page features before LFs run.
    ``end_model`` names the classifier (``training/end_model.py``): ``"auto"`` (a gold-free choice
    among word / char / both n-gram TF-IDF and, when configured, sentence-encoder features alone and
    beside both n-gram blocks),
    one of those featurisations, ``"fixed"`` (word 1-2-gram TF-IDF, no search) or a factory
    ``n_classes -> estimator`` learning from probabilistic labels.
    """

    name: str
    label_names: tuple[str, ...]
    lfs: tuple[LabelingFunction, ...]
    text_field: str = "text"
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = field(default=None, compare=False)
    end_model: str | Callable[[int], Any] = field(default="auto", compare=False)

    def __post_init__(self) -> None:
        if len(self.label_names) < 2:
            raise ValueError(f"task {self.name!r}: needs at least two labels")
        if len(set(self.label_names)) != len(self.label_names):
            raise ValueError(f"task {self.name!r}: duplicate label names")
        names = [lf.name for lf in self.lfs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"task {self.name!r}: duplicate LF names {dupes}")
        if not self.lfs:
            raise ValueError(f"task {self.name!r}: no labeling functions")
        for lf in self.lfs:
            label = getattr(lf, "label", None)
            if label is not None and not 0 <= label < len(self.label_names):
                raise ValueError(f"task {self.name!r}: LF {lf.name} votes out-of-range label {label}")

    @property
    def cardinality(self) -> int:
        return len(self.label_names)

    @property
    def lf_names(self) -> list[str]:
        return [lf.name for lf in self.lfs]

    def label_index(self, name: str) -> int:
        return self.label_names.index(name)

    def label_for(self, value: Any) -> str | None:
        """The task's label a gold value names: exactly (spaces around it ignored), else the one
        label equal to it ignoring case ("sports" -> "Sports"); ``None`` when none or several are."""
        if not isinstance(value, str):
            return None
        text = value.strip()
        if text in self.label_names:
            return text
        folded = [name for name in self.label_names if name.casefold() == text.casefold()]
        return folded[0] if len(folded) == 1 else None

    def prepared(self, features: pd.DataFrame) -> pd.DataFrame:
        """``features`` after the ``prepare`` hook, checked: a hook adds or changes columns, and
        every page keeps its row (one dropped or reordered row would silently lose a page or give
        it another page's votes); the task's ``text_field`` must be a column."""
        if self.prepare is None:
            return self._with_text_field(features)
        out = self.prepare(features)
        where = f"task {self.name!r}: prepare"
        if not isinstance(out, pd.DataFrame):
            raise TaskPrepareError(f"{where} returned {type(out).__name__}, not a DataFrame")
        if len(out) != len(features):
            raise TaskPrepareError(
                f"{where} returned {len(out)} rows for {len(features)} pages: it may add or change "
                "columns, never drop or add rows (to leave a page out, keep its row and let the LFs abstain)"
            )
        if "page_id" in features.columns and (
            "page_id" not in out.columns or out["page_id"].tolist() != features["page_id"].tolist()
        ):
            raise TaskPrepareError(f"{where} dropped, changed or reordered page_id: every page keeps its row")
        return self._with_text_field(out)

    def _with_text_field(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.text_field in frame.columns:
            return frame
        made = "the page features have" if self.prepare is None else "prepare returned"
        shown = ", ".join(map(str, frame.columns[:12])) + (", …" if len(frame.columns) > 12 else "")
        hint = "; a prepare hook can add it" if self.prepare is None else ""
        raise TaskPrepareError(
            f"task {self.name!r}: its text_field {self.text_field!r} is not a column ({made} {shown}){hint}"
        )

    def fingerprint(self) -> str:
        """Changes when the label space or the LF set changes (used to version label matrices)."""
        h = hashlib.sha256(self.name.encode())
        for part in (*self.label_names, "|", *self.lf_names):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()[:12]


def make_task(
    name: str,
    label_names: Sequence[str],
    lfs: Sequence[LabelingFunction],
    text_field: str = "text",
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    end_model: str | Callable[[int], Any] = "auto",
) -> Task:
    return Task(name, tuple(label_names), tuple(lfs), text_field, prepare, end_model)


def load_task(spec: str) -> Task:
    """Load a task from a module path or a ``.py`` file (see the module docstring)."""
    target, _, attr = spec.partition(":") if not _looks_like_windows_drive(spec) else (spec, "", "")
    if target.endswith(".py") or "/" in target:
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"task file not found: {path}")
        mod_name = f"beambell_user_task_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot import task file {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module  # lets worker processes unpickle LFs defined there
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    if attr:
        obj = getattr(module, attr)
    elif hasattr(module, "TASK"):
        obj = module.TASK
    elif hasattr(module, "build_task"):
        obj = module.build_task
    else:
        raise AttributeError(f"task module {spec!r} defines neither TASK nor build_task()")
    task = obj() if callable(obj) and not isinstance(obj, Task) else obj
    if not isinstance(task, Task):
        raise TypeError(f"{spec!r} did not give a beambell Task (got {type(task).__name__})")
    return task


def _looks_like_windows_drive(spec: str) -> bool:
    return len(spec) > 2 and spec[1] == ":" and spec[2] in "\\/"
