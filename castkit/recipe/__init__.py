"""The recipe: its model (frozen dataclasses and every key, range and word a recipe may hold,
``model``), the YAML reader that validates it with line and column (``reader``), and the JSON
Schema made from the same definitions (``schema``), and edits of a recipe's own text that
keep every other byte (``edit``, for ``castkit serve``); ``style`` is how a title card looks.

Layer 3: imports ``media`` and ``base``. A new recipe key goes into ``model`` (its name and
range), ``reader`` (how it is read and checked) and ``schema`` (its description).
"""
