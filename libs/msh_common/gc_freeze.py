"""Keep a process's start-up objects out of the cyclic garbage collector's full passes.

What a server builds before it serves (modules, settings, routes, models) lives as long as the
process, yet each full collection walks all of it: in mainapp's server, ~100 MiB of it, which
paused the sockets' event loop long enough to add 70-100 ms to the p99 of a 1,000-socket fan-out
(bench/ws_bench.py: 250-285 ms without, 175-187 with). ``gc.freeze()`` moves them to a
permanent generation the collector no longer visits.
"""

from __future__ import annotations

import gc


def freeze_startup_objects(thresholds: tuple[int, int, int] | None = None) -> None:
    """Collect once, then freeze everything that survived; optionally set new thresholds
    (``gc.set_threshold``) for what the process allocates from now on."""
    gc.collect()
    gc.freeze()
    if thresholds is not None:
        gc.set_threshold(*thresholds)
