"""Telemetry alerting for Firefox Glean probes.

The package layout follows the pipeline: probes -> data -> detect -> alerts (state) -> delivery
-> report. Each step is a pure core with its I/O at the edges.
"""

__version__ = "0.1.0"
