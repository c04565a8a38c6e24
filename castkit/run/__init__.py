"""Running plans: the runner (``runner``: stages, parallel jobs, atomic outputs, seals), the
local executor and what it shares with the farm (``local``), and the Dask executor (``farm``).

Layer 8: imports ``outputs`` and everything below.
"""
