"""``castkit serve``: a local page to see the cast and set its cuts with a player, the recipe file
staying the one truth (``session``: the recipe's state, edits written back into it, proxies,
frames, builds; ``server``: the HTTP side and its safety rules; ``page.html``: the page).

Layer 11 (above ``commands``): imports every layer below it.
"""
