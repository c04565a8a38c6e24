"""Planning: pure functions from a checked recipe and its probes to ffmpeg jobs. ``check``
validates a recipe against its sources; ``encode`` builds each segment's filter graph for an
output profile (``profile`` says what planning needs of one); ``slices`` splits long segments;
``pauses`` finds and cuts dead air; ``camera`` is the path of the view (eased moves) and
``activity`` plans one from where the screen changes (``zoom: follow``).

Layer 6: imports ``titles``, ``publish`` and everything below. A new camera, overlay or sound
step is a planning concern: it emits filters into a segment's graph here.
"""
