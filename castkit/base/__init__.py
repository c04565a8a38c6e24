"""What every layer shares, knowing nothing of media or recipes: atomic files and temporary
names (``files``), jobs and plans (``jobs``), progress and messages (``progress``), stops
(``stops``), timecodes (``timecode``), colours (``colors``) and the C library's calls that
Python lacks (``libc``).

Layer 1 of castkit (below it only ``castkit.errors``). It imports no other castkit package.
"""
