"""The shop in Lighthouse (``make bench-web``): home, a product page and the login page, each
audited by Lighthouse 12.2.3 (``bench/web``, pinned by its lock file) in Debian's Chromium with
the mobile preset (Lighthouse's default: a mid-range phone on a slow 4G link, simulated).

Starts the platform natively (as ``make dev``; throwaway data, free ports) serving the SPA built
in ``frontend/dist``, then audits each page ``--runs`` times and keeps the median run's scores
(performance, accessibility, best practices, SEO), its timings (FCP, LCP, TBT, CLS) and the bytes
the first visit moved. Figures go to ``bench/results/web.json`` (the previous run's beside them)
and ``bench/REPORT.md``, with each Lighthouse report kept whole in ``bench/results/lighthouse/``.
A benchmark: nothing asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.orders_bench import Stack
from bench.report import machine, write_report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "web.json"
LIGHTHOUSE = ROOT / "bench" / "web" / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
PAGES = {
    "home": "/",
    "product": "/products/ethiopia-yirgacheffe-coffee-beans",
    "login": "/login",
}
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = {
    "first-contentful-paint": "fcp_ms",
    "largest-contentful-paint": "lcp_ms",
    "total-blocking-time": "tbt_ms",
    "cumulative-layout-shift": "cls",
    "total-byte-weight": "bytes",
}
# Issue 16 (best practices, SEO) and issue 17 (performance, bytes on the wire).
TARGETS = {"performance": 98, "best-practices": 100, "seo": 95, "bytes": 120_000}


def audit(url: str) -> dict[str, Any]:
    """One Lighthouse run of ``url``: its whole JSON report."""
    completed = subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--output=json",
            "--output-path=stdout",
            f"--only-categories={','.join(CATEGORIES)}",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
            "--quiet",
        ],
        env={**os.environ, "CHROME_PATH": CHROME},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """Scores (0-100), timings and bytes of one report."""
    scores = {name: round((report["categories"][name]["score"] or 0) * 100) for name in CATEGORIES}
    audits = report["audits"]
    metrics = {key: audits[audit_id].get("numericValue") for audit_id, key in METRICS.items()}
    failed = {
        category: [
            ref["id"]
            for ref in report["categories"][category]["auditRefs"]
            if ref.get("weight") and (audits[ref["id"]].get("score") or 0) < 1
        ]
        for category in ("best-practices", "seo", "accessibility")
    }
    return {"scores": scores, **metrics, "failed_audits": failed}


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose performance score is the median (Lighthouse's advice for noisy scores)."""
    ordered = sorted(runs, key=lambda run: run["scores"]["performance"])
    return ordered[len(ordered) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():  # `make bench-web` installs it from bench/web's lock file
        parser.error(f"{LIGHTHOUSE} is missing: run `make bench-web`")
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else None
    pages: dict[str, Any] = {}
    keep = RESULTS.parent / "lighthouse"
    keep.mkdir(parents=True, exist_ok=True)
    with Stack({}) as stack:
        for name, path in PAGES.items():
            reports = [audit(stack.url + path) for _ in range(args.runs)]
            runs = [figures(report) for report in reports]
            best = median_run(runs)
            pages[name] = {
                "path": path,
                **best,
                "performance_runs": [r["scores"]["performance"] for r in runs],
            }
            kept = reports[runs.index(best)]
            (keep / f"{name}.json").write_text(json.dumps(kept))
            print(f"{name}: {best['scores']} bytes={best['bytes']:,.0f}", flush=True)
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": machine(),
        "lighthouse": "12.2.3, mobile preset (simulated slow 4G, mid-range phone)",
        "runs": args.runs,
        "pages": pages,
        "targets": TARGETS,
        "previous": _previous_pages(previous),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {write_report()}")
    return 0


def _previous_pages(previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """The last run's figures per page (without its own "previous"), for the report's column."""
    if not previous:
        return None
    return {
        "when": previous.get("when"),
        "pages": {
            name: {"scores": page["scores"], "bytes": page.get("bytes")}
            for name, page in previous.get("pages", {}).items()
        },
    }


if __name__ == "__main__":
    sys.exit(main())
