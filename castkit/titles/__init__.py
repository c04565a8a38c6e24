"""Title cards: laying out and drawing a card with Pillow (``cards``), and the job step that
draws one into the cache before its encode (``job``).

Layer 5 (beside ``publish``): imports ``cache``, ``recipe``, ``media`` and ``base``.
"""
