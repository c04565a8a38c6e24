"""Output formats: one module per profile (``dv``, ``web`` with ``mp4`` and ``webm``, and the
images for docs: ``animated`` and ``stills`` on the shared ``images``), made by
``profiles.make_profile`` from an output's suffix, and the joins of a cast's segments
(``join``).

Layer 7: imports ``plan`` and everything below. A new output format is one module here plus
its suffix in ``media.formats``.
"""
