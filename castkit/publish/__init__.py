"""What a finished cast carries besides pictures: loudness measured and applied
(``loudness``), chapters (``chapters``) and captions (``captions``).

Layer 5 (beside ``titles``): imports ``cache``, ``recipe``, ``media`` and ``base``.
"""
