"""W3C Trace Context (``traceparent``): continue the client's trace or start a new one.

The gateway is one hop of the trace: it keeps a valid incoming trace id and sampled flag and
sends its own span id as the parent upstream, so services can join their spans to it. An
invalid header is not an error; a fresh trace is started instead, as the spec asks.
"""

from __future__ import annotations

import random
import re

# version-traceid-parentid-flags; later versions may append fields after another "-".
_TRACEPARENT = re.compile(rb"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZERO_TRACE = b"0" * 32
_ZERO_SPAN = b"0" * 16
# Trace and span ids identify, they do not protect anything: the (much cheaper) Mersenne
# Twister is random enough, as W3C asks; os.urandom would make a system call per request.
_bits = random.getrandbits
# tracestate: at most 32 list members of at most 256 characters (W3C 3.3.1.1).
_MAX_TRACESTATE = 32 * 257


class Trace:
    """The gateway's span: ``trace_id``, its own ``span_id``, and the header to send on."""

    __slots__ = ("continued", "span_id", "trace_id", "traceparent", "tracestate")

    def __init__(
        self,
        trace_id: str,
        span_id: str,
        flags: str,
        tracestate: bytes | None = None,
        *,
        continued: bool = False,
    ) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.traceparent = f"00-{trace_id}-{span_id}-{flags}"
        self.tracestate = tracestate
        self.continued = continued


def start_trace(traceparent: bytes | None, tracestate: bytes | None) -> Trace:
    """Continue the trace of a valid ``traceparent`` header, else start a sampled new one."""
    if traceparent is not None:
        parsed = _parse(traceparent)
        if parsed is not None:
            trace_id, flags = parsed
            state = tracestate if tracestate and len(tracestate) <= _MAX_TRACESTATE else None
            return Trace(trace_id, f"{_bits(64):016x}", flags, state, continued=True)
    ids = f"{_bits(192):048x}"
    return Trace(ids[:32], ids[32:], "01")


def _parse(header: bytes) -> tuple[str, str] | None:
    match = _TRACEPARENT.fullmatch(header.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == b"ff" or (version == b"00" and rest is not None):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    # Only the "sampled" bit is defined for version 00; other bits are not passed on.
    return trace_id.decode("ascii"), "01" if int(flags, 16) & 1 else "00"
