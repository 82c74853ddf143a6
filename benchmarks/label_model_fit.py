"""The label model's fit: beambell's ``EfficientLabelModel`` vs Snorkel's own ``LabelModel``.

    python benchmarks/label_model_fit.py [--epochs 500] [--repeats 3]

Same votes, same seed, same hyper-parameters (Snorkel's defaults, ``n_epochs`` as the pipeline
uses), one torch thread (as ``fit_label_model`` runs it). For each vote matrix: the best wall time
of ``--repeats`` fits for each, the speed-up, and how far apart the results are (largest
difference of LF weights and of predicted probabilities, rows whose argmax differs).

Vote matrices: the dev websites' (the default task's LFs on ``../shared/data``, when present) and
synthetic ones of growing size (independent LFs of random accuracy and coverage), so the table
also says how the two scale with LFs x classes. Writes ``benchmarks/results/label_model_fit.md``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from snorkel.labeling.model import LabelModel  # noqa: E402

from beambell_assets.training.label_model import _remap  # noqa: E402
from beambell_assets.training.snorkel_label_model import EfficientLabelModel  # noqa: E402
from benchmarks.lf_applier import cpu_model  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "label_model_fit.md"
#: (rows, LFs, classes) of the synthetic vote matrices.
SYNTHETIC = [(2_000, 10, 3), (5_000, 30, 8), (5_000, 60, 16), (20_000, 85, 16)]


def synthetic_votes(n: int, m: int, k: int, seed: int = 0) -> np.ndarray:
    """Independent LFs: accuracy 0.4-0.9, coverage 5-40 %, wrong votes uniform over other classes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    L = np.full((n, m), -1, dtype=np.int64)
    for j in range(m):
        acc, cov = rng.uniform(0.4, 0.9), rng.uniform(0.05, 0.4)
        fires = rng.random(n) < cov
        vote = np.where(rng.random(n) < acc, y, (y + rng.integers(1, k, n)) % k)
        L[fires, j] = vote[fires]
    return L


def dev_votes() -> np.ndarray | None:
    """The default task's votes on the dev websites, restricted as ``fit_label_model`` restricts
    them (LFs that vote, classes voted for, renumbered); None without ``../shared/data``."""
    from benchmarks.quality_report import DEFAULT_DATA, labelled_votes

    if not DEFAULT_DATA.exists():
        return None
    from beambell_assets.labeling.task import load_task
    from beambell_assets.settings import DEFAULT_TASK

    task = load_task(DEFAULT_TASK)
    _features, _y, L = labelled_votes(DEFAULT_DATA, task, None)
    L = L[:, (L != -1).any(axis=0)]
    return _remap(L, np.unique(L[L != -1]), task.cardinality)


def timed_fit(cls: type[LabelModel], L: np.ndarray, epochs: int, repeats: int) -> tuple[float, LabelModel]:
    k = int(L.max()) + 1
    best, model = float("inf"), None
    for _ in range(repeats):
        model = cls(cardinality=k, verbose=False)
        t0 = time.perf_counter()
        model.fit(L, n_epochs=epochs, seed=0, progress_bar=False)
        best = min(best, time.perf_counter() - t0)
    assert model is not None
    return best, model


FRESH_CODE = """
import sys, time
t0 = time.process_time()
import numpy as np
from snorkel.labeling.model import LabelModel
from beambell_assets.training.snorkel_label_model import EfficientLabelModel
import torch
torch.set_num_threads(1)
class TorchSGD(EfficientLabelModel):  # beambell before MomentumSGD: Snorkel's torch.optim.SGD
    def _set_optimizer(self):
        LabelModel._set_optimizer(self)
cls = dict(LabelModel=LabelModel, EfficientLabelModel=EfficientLabelModel, TorchSGD=TorchSGD)[sys.argv[1]]
rng = np.random.default_rng(0)
L = np.where(rng.random((5000, 60)) < 0.3, rng.integers(0, 16, size=(5000, 60)), -1)
cls(cardinality=16, verbose=False).fit(L, n_epochs=int(sys.argv[2]), seed=0, progress_bar=False)
print(time.process_time() - t0, "torch._dynamo" in sys.modules)
"""


def fresh_process_fit(cls_name: str, epochs: int) -> tuple[float, bool]:
    """CPU seconds of one process that imports, then fits once (what a run worker pays), and
    whether it imported ``torch._dynamo``."""
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", FRESH_CODE, cls_name, str(epochs)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    return float(out[-2]), out[-1] == "True"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    cases: list[tuple[str, np.ndarray]] = []
    dev = dev_votes()
    if dev is not None:
        cases.append(("dev websites (default task's LFs)", dev))
    else:
        print("../shared/data absent: synthetic vote matrices only", file=sys.stderr)
    cases += [(f"synthetic {n:,} rows", synthetic_votes(n, m, k)) for n, m, k in SYNTHETIC]

    lines = [
        "| votes | rows x LFs x classes | Snorkel `LabelModel` (reference) | beambell `EfficientLabelModel` "
        "| speed-up | max abs diff LF weights | max abs diff probabilities | argmax differs |",
        "|:--|:--|--:|--:|--:|--:|--:|--:|",
    ]
    for name, L in cases:
        t_ref, ref = timed_fit(LabelModel, L, args.epochs, args.repeats)
        t_ours, ours = timed_fit(EfficientLabelModel, L, args.epochs, args.repeats)
        p_ref, p_ours = ref.predict_proba(L), ours.predict_proba(L)
        dw = np.abs(ref.get_weights() - ours.get_weights()).max()
        dp = np.abs(p_ref - p_ours).max()
        flips = int((p_ref.argmax(1) != p_ours.argmax(1)).sum())
        n, m = L.shape
        row = (
            f"| {name} | {n:,} x {m} x {int(L.max()) + 1} | {t_ref:.2f} s | {t_ours:.2f} s "
            f"| {t_ref / t_ours:.1f}x | {dw:.1e} | {dp:.1e} | {flips} |"
        )
        lines.append(row)
        print(row, flush=True)

    lines += [
        "",
        "One fit in a fresh process (imports included: what each run worker or stream process pays; "
        "5,000 x 60 x 16 random votes, CPU seconds, best of the repeats):",
        "",
        "| Snorkel `LabelModel` (reference) | `EfficientLabelModel` stepped by `torch.optim.SGD` "
        "| beambell `EfficientLabelModel` | imports torch._dynamo (reference / torch.optim / beambell) |",
        "|--:|--:|--:|:--|",
    ]
    fresh = {}
    for cls_name in ("LabelModel", "TorchSGD", "EfficientLabelModel"):
        runs = [fresh_process_fit(cls_name, args.epochs) for _ in range(args.repeats)]
        fresh[cls_name] = (min(r[0] for r in runs), runs[0][1])
    yes = {True: "yes", False: "no"}
    lines.append(
        " | ".join(
            ["", *(f"{fresh[c][0]:.2f} s" for c in fresh), " / ".join(yes[fresh[c][1]] for c in fresh), ""]
        ).strip()
    )
    print(lines[-1], flush=True)

    header = (
        f"# Label model fit: Snorkel vs beambell\n\n`python benchmarks/label_model_fit.py --epochs "
        f"{args.epochs} --repeats {args.repeats}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, {cpu_model()}, torch {torch.__version__}, "
        "one torch thread, best of the repeats.\n\n"
    )
    args.out.write_text(header + "\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
