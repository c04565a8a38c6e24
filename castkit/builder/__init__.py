"""Builds: a recipe planned for every output (``plan``), built (``build``), many recipes at
once (``batch``) and rebuilt on every save (``watch``).

Layer 9: imports ``run`` and everything below.
"""
