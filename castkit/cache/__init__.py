"""The segment cache: the names of its files (``names``), where it is and where outputs may not
go (``folders``), the keys that name entries (``keys``), the seals that vouch for them
(``seals``), records of what each cast is made of (``records``) and of the outputs castkit
wrote, which it may replace without --force (``written``), and housekeeping
(``housekeeping``: clean, prune, leftovers of killed runs).

Layer 4: imports ``recipe``, ``media`` and ``base``.
"""
