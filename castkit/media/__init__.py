"""Media facts: the ffmpeg binary and how castkit runs it (``ffmpeg``), what a file holds
(``probe``), where a decoder may seek (``seek``), frames and rates (``raster``), what DV is
(``dv``, ``dvtc``), which output suffix is which format (``formats``), and the distinct-pictures
pair of ffmpegs (``pictures``).

Layer 2: imports ``castkit.base`` and ``castkit.errors`` only.
"""
