"""Benchmark: beambell's FastLFApplier against Snorkel's PandasLFApplier, same LFs, same frames.

    python benchmarks/lf_applier.py [--sizes 10000 100000] \
        [--data ../shared/data/website_classification_dev.csv]

Pages for scale are made from the real dev set (611 scraped sites), not random words: rows are
resampled and each text perturbed (tokens dropped, duplicated and locally shuffled), and half of
the URLs get another page's path. The page features are the minimal set the default task's LFs
read (url, text, domain, registered_domain, tld, url_path; the numeric structure counts are NaN
because the dev set has no HTML). LFs: ``beambell_assets.labeling.tasks.web_content.TASK.lfs``.

For each size: time ``FastLFApplier(lfs).apply(df)`` (pool start-up included), then
``PandasLFApplier(lfs).apply(df, fault_tolerant=True)`` (with a progress bar; at 100k rows this
takes a long time), check the label matrices are identical, and print and save a markdown table
(``benchmarks/results/lf_applier.md``). ``--pandas-max-rows`` times Snorkel on a prefix only (for a
quick run); the table then says so and compares L on that prefix.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import time
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from beambell_assets.labeling.applier import FastLFApplier, available_cpus  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "website_classification_dev.csv"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "lf_applier.md"


# --------------------------------------------------------------------------- data


class UrlFeatures:
    """domain / registered_domain / tld / url_path of a URL (tldextract's bundled suffix list)."""

    def __init__(self) -> None:
        import tldextract

        self._extract = tldextract.TLDExtract(suffix_list_urls=())
        self._hosts: dict[str, tuple[str, str, str]] = {}

    def host(self, host: str) -> tuple[str, str, str]:
        if host not in self._hosts:
            r = self._extract(host)
            registered = getattr(r, "top_domain_under_public_suffix", None)
            if registered is None:  # tldextract < 5.3
                registered = r.registered_domain
            self._hosts[host] = (host, registered or "", r.suffix or "")
        return self._hosts[host]

    def __call__(self, url: object) -> dict[str, str]:
        if not isinstance(url, str) or not url:
            return {"domain": "", "registered_domain": "", "tld": "", "url_path": ""}
        parts = urlsplit(url if "//" in url else "//" + url)
        domain, registered, tld = self.host((parts.hostname or "").lower())
        return {"domain": domain, "registered_domain": registered, "tld": tld, "url_path": parts.path}


def features_frame(urls: list, texts: list, url_features: UrlFeatures | None = None) -> pd.DataFrame:
    """A minimal ``page_features`` frame for the default task's LFs."""
    uf = url_features or UrlFeatures()
    parts = pd.DataFrame([uf(u) for u in urls])
    df = pd.DataFrame({"url": urls, "text": texts})
    df = pd.concat([df, parts], axis=1)
    df["n_price_mentions"] = np.nan
    df["n_date_mentions"] = np.nan
    return df


def load_dev(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    return features_frame(raw["website_url"].tolist(), raw["cleaned_website_text"].tolist())


def _perturb(text: object, rng: np.random.Generator) -> object:
    """Drop ~10% of tokens, duplicate ~5%, shuffle locally (tokens move a few places)."""
    if not isinstance(text, str):
        return text
    toks = np.array(text.split(), dtype=object)
    k = len(toks)
    if k == 0:
        return text
    reps = (rng.random(k) >= 0.10).astype(np.int64) + (rng.random(k) < 0.05)
    pos = np.repeat(np.arange(k), reps)
    order = np.argsort(pos + rng.normal(0.0, 3.0, len(pos)), kind="stable")
    return " ".join(toks[pos[order]].tolist())


def synthetic_pages(base: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` pages resampled from ``base`` with perturbed texts and half the URL paths swapped."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(base), n)
    texts = [_perturb(t, rng) for t in base["text"].to_numpy(dtype=object)[idx]]
    urls = base["url"].to_numpy(dtype=object)[idx]
    donors = base["url"].to_numpy(dtype=object)[rng.integers(0, len(base), n)]
    swap = rng.random(n) < 0.5
    new_urls = []
    for url, donor, s in zip(urls, donors, swap, strict=True):
        if s and isinstance(url, str) and isinstance(donor, str):
            a, b = urlsplit(url), urlsplit(donor)
            url = urlunsplit((a.scheme, a.netloc, b.path, b.query, ""))
        new_urls.append(url)
    out = features_frame(new_urls, texts)
    if "source_label" in base:  # the category of the dev row a page was made from (for quality checks)
        out["source_label"] = base["source_label"].to_numpy()[idx]
    return out


# --------------------------------------------------------------------------- machine


def cpu_model() -> str:
    """The CPU's model name, with its family and model numbers: on these VMs the name is often
    just "AMD EPYC", which does not tell a Zen 3 (family 25, model 1) from a Zen 4 (model 17)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip().lower(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        return f"{name} (family {fields['cpu family']}, model {fields['model']})"
    return name


def machine_lines() -> list[str]:
    pkgs = ["snorkel", "pandas", "numpy", "scikit-learn", "scipy", "pyarrow"]
    vers = ", ".join(f"{p} {version(p)}" for p in pkgs)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?", "?", "?")
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"- CPU: {cpu_model()}; {os.cpu_count()} logical cores, {available_cpus()} usable by this process",
        f"- memory: {mem_gb:.1f} GiB; OS: {platform.platform()}",
        f"- Python {platform.python_version()}; {vers}",
        f"- load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (shared machine)",
    ]


def cpu_seconds() -> float:
    """CPU time of this process plus its finished children (the pool's workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def load1() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def timed(fn):
    """(result, wall seconds, CPU seconds incl. children, 1-min load average after)."""
    c0, t0 = cpu_seconds(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, cpu_seconds() - c0, load1()


def breakdown(lfs: list, paths: dict[str, str], df: pd.DataFrame, n_jobs: int | None) -> str:
    """Ours vs Snorkel per LF group on a small frame: where the remaining time goes."""
    from snorkel.labeling import PandasLFApplier

    groups = {
        "declarative (keyword, regex, membership, threshold)": [
            lf for lf in lfs if paths[lf.name] in ("keyword", "regex", "membership", "threshold")
        ],
        "column_votes (model LFs)": [lf for lf in lfs if paths[lf.name] == "column_votes"],
        "row (plain Snorkel LFs)": [lf for lf in lfs if paths[lf.name] == "row"],
    }
    rows = []
    for label, group in groups.items():
        if not group:
            continue
        print(f"  breakdown: {label} ({len(group)} LFs) on {len(df):,} rows", flush=True)
        (L1, rep), w1, c1, _ = timed(lambda g=group: FastLFApplier(g, n_jobs=n_jobs).apply(df))
        L0, w0, c0, _ = timed(
            lambda g=group: PandasLFApplier(g).apply(df, progress_bar=False, fault_tolerant=True)
        )
        rows.append(
            {
                "LF group": f"{label}: {len(group)} LFs",
                "ours ms/row (wall)": f"{1e3 * w1 / len(df):.2f}",
                "ours CPU ms/row": f"{1e3 * c1 / len(df):.2f}",
                "PandasLFApplier ms/row": f"{1e3 * w0 / len(df):.2f}",
                "speed-up (wall)": f"{w0 / w1:,.1f}x",
                "speed-up (CPU)": f"{c0 / c1:,.1f}x",
                "identical L": "yes" if np.array_equal(L0, L1) else "NO",
                "ours ran": rep.mode,
            }
        )
    return pd.DataFrame(rows).to_markdown(index=False)


def peak_rss_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


# --------------------------------------------------------------------------- run


def run(
    sizes: list[int],
    data: Path,
    n_jobs: int | None,
    pandas_max_rows: int | None,
    seed: int,
    breakdown_rows: int = 0,
) -> str:
    from snorkel.labeling import PandasLFApplier
    from tqdm import tqdm

    from beambell_assets.labeling.tasks.web_content import TASK

    # no tqdm monitor thread: with other threads running the applier would (rightly) not fork
    tqdm.monitor_interval = 0
    lfs = list(TASK.lfs)
    started = dt.datetime.now().astimezone()
    machine = machine_lines()
    print("\n".join(machine), flush=True)
    base = load_dev(data)
    print(f"dev data: {len(base)} pages from {data}", flush=True)
    fast = FastLFApplier(lfs, n_jobs=n_jobs)
    kinds = pd.Series(fast.lf_paths).value_counts().to_dict()
    print(f"LFs: {len(lfs)} from task {TASK.name!r} ({', '.join(f'{v} {k}' for k, v in kinds.items())})")

    rows, notes, kind_rows = [], [], []
    breakdown_md = ""
    for n in sizes:
        t0 = time.perf_counter()
        df = synthetic_pages(base, n, seed=seed + n)
        mb = df.memory_usage(deep=True).sum() / 2**20
        print(f"\n[{n:,} rows] synthetic frame built in {time.perf_counter() - t0:.1f}s ({mb:,.0f} MiB)")

        step = max(1, n // 10)
        marks = iter(range(step, n + step, step))
        nxt = [next(marks)]

        def progress(done: int, total: int, nxt: list[int] = nxt, marks=marks) -> None:
            if done >= nxt[0]:
                print(f"  FastLFApplier {done:,}/{total:,}", flush=True)
                while done >= nxt[0]:
                    nxt[0] = next(marks, 1 << 62)

        (L_fast, report), _, cpu_fast, load_fast = timed(lambda df=df, p=progress: fast.apply(df, progress=p))
        print(
            f"  FastLFApplier: {report.seconds:.1f}s, {report.rows_per_second:,.0f} rows/s, "
            f"{cpu_fast:.1f} CPU-s, {report.mode}; seconds per path: "
            + ", ".join(
                f"{k} {v:.1f}" for k, v in sorted(report.kind_seconds.items(), key=lambda kv: -kv[1])
            ),
            flush=True,
        )

        m = n if pandas_max_rows is None else min(n, pandas_max_rows)
        sub = df.iloc[:m]
        print(f"  PandasLFApplier on {m:,} rows (progress on stderr)...", flush=True)
        (L_snorkel, meta), t_snorkel, cpu_snorkel, load_snorkel = timed(
            lambda sub=sub: PandasLFApplier(lfs).apply(
                sub, progress_bar=True, fault_tolerant=True, return_meta=True
            )
        )
        identical = bool(np.array_equal(L_snorkel, L_fast[:m]))
        faults_equal = dict(meta.faults) == report.faults if m == n else None
        snorkel_rps = m / t_snorkel
        print(
            f"  PandasLFApplier: {t_snorkel:.1f}s, {snorkel_rps:,.1f} rows/s; identical L: {identical}; "
            f"faults equal: {faults_equal}",
            flush=True,
        )
        prefix = "" if m == n else f" (first {m:,} rows)"
        rows.append(
            {
                "rows": f"{n:,}",
                "ours rows/s": f"{report.rows_per_second:,.0f}",
                "PandasLFApplier rows/s": f"{snorkel_rps:,.1f}{prefix}",
                "speed-up": f"{report.rows_per_second / snorkel_rps:,.1f}x",
                "identical L": ("yes" if identical else "NO") + prefix,
                "ours s": f"{report.seconds:,.1f}",
                "PandasLFApplier s": f"{t_snorkel:,.1f}",
                "CPU ms/row ours / Snorkel": f"{1e3 * cpu_fast / n:.2f} / {1e3 * cpu_snorkel / m:.2f}",
                "speed-up by CPU time": f"{(cpu_snorkel / m) / (cpu_fast / n):,.1f}x",
                "load avg after ours / Snorkel": f"{load_fast:.1f} / {load_snorkel:.1f}",
            }
        )
        kind_rows.append(
            {"rows": f"{n:,}"}
            | {k: f"{v:,.1f}" for k, v in sorted(report.kind_seconds.items(), key=lambda kv: -kv[1])}
        )
        notes.append(
            f"- {n:,} rows: ours `{report.mode}`, {report.n_chunks} chunks; faults ours "
            f"{report.faults or 'none'}, Snorkel {dict(meta.faults) or 'none'}; fallbacks "
            f"{report.fallbacks or 'none'}; frame {mb:,.0f} MiB"
        )
        if breakdown_rows and not breakdown_md:
            breakdown_md = breakdown(lfs, fast.lf_paths, df.iloc[:breakdown_rows], n_jobs)
        del df, sub, L_fast, L_snorkel

    me, kids = peak_rss_mb()
    table = pd.DataFrame(rows).to_markdown(index=False)
    kind_table = pd.DataFrame(kind_rows).fillna("").to_markdown(index=False)
    md = "\n".join(
        [
            "# LF applier benchmark",
            "",
            f"`python benchmarks/lf_applier.py --sizes {' '.join(map(str, sizes))}`"
            f" - {started:%Y-%m-%d %H:%M %Z}",
            "",
            f"Default task `{TASK.name}`: {len(lfs)} LFs "
            f"({', '.join(f'{v} {k}' for k, v in kinds.items())}). Pages: the {len(base)} dev-set sites "
            "resampled with perturbed texts (drop/duplicate/local shuffle of tokens) and swapped URL paths.",
            "Ours: `FastLFApplier(TASK.lfs)` (n_jobs = usable cores, process-pool start-up included). "
            "Snorkel: `PandasLFApplier(TASK.lfs).apply(df, fault_tolerant=True)`.",
            "",
            table,
            "",
            "Seconds per evaluation path in ours (summed over worker processes, so they can exceed "
            "wall-clock):",
            "",
            kind_table,
            "",
            *notes,
            f"- peak RSS: benchmark process {me:,.0f} MiB, largest worker {kids:,.0f} MiB",
            "",
            *(
                [
                    f"Where the time goes: each LF group alone on the first {breakdown_rows:,} rows of the "
                    f"{sizes[0]:,}-row frame:",
                    "",
                    breakdown_md,
                    "",
                ]
                if breakdown_md
                else []
            ),
            "Wall-clock rows/s depend on what else the machine runs (the load averages above: this is a "
            "shared 2-core machine); CPU time (this process plus the pool's workers) is the steadier "
            "measure of work done per row.",
            "",
            "Machine:",
            "",
            *machine,
            "",
        ]
    )
    return md


def publish(md: str, out: Path) -> None:
    """Print a benchmark's markdown report and save it to ``out``."""
    print("\n" + md)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md, encoding="utf-8")
    print(f"saved {out}")


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants (Linux ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--n-jobs", type=int, default=None, help="FastLFApplier workers (default: all cores)")
    ap.add_argument(
        "--pandas-max-rows",
        type=int,
        default=None,
        help="time PandasLFApplier on at most this many rows (default: all; slow at 100k)",
    )
    ap.add_argument(
        "--breakdown-rows",
        type=int,
        default=1000,
        help="also time each LF group alone on this many rows (0: skip)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if not args.data.is_file():
        sys.exit(f"dev data not found: {args.data} (pass --data)")
    md = run(args.sizes, args.data, args.n_jobs, args.pandas_max_rows, args.seed, args.breakdown_rows)
    publish(md, args.out)


if __name__ == "__main__":
    main()
