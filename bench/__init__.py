"""Benchmarks and fault drills, run from the repository root: ``python -m bench.<name>``
(``make bench``, ``make chaos``); figures go to bench/results/ and bench/REPORT.md."""
