"""castkit: screencasts from one YAML recipe: title cards, trims and joins, as DV and web masters.

The library's public names, for scripts::

    import castkit
    castkit.convert("capture.ogv", "capture.dv", castkit.DvTarget("pal", "16:9"))
    castkit.make_title("Hello", "title.dv")
    castkit.build("recipes/demo.yaml", force=True)

They are loaded on first use (PEP 562): ``python -m castkit`` must be able to drop the current
folder from ``sys.path`` before anything else (PyYAML, Pillow, ffmpeg-python) is imported.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "convert": ".commands.convert",
    "make_title": ".commands.title",
    "build": ".builder.build",
    "preview": ".commands.preview",
    "load_recipe": ".recipe.reader",
    "probe": ".media.probe",
    "find_ffmpeg": ".media.ffmpeg",
    "DvTarget": ".media.dv",
    "TitleStyle": ".recipe.style",
    "render_card": ".titles.cards",
    "CastkitError": ".errors",
    "UserError": ".errors",
    "UsageError": ".errors",
    "InputError": ".errors",
    "RecipeError": ".errors",
    "WorkError": ".errors",
    "FfmpegNotFound": ".errors",
    "FfmpegFailed": ".errors",
    "FfmpegStalled": ".errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module 'castkit' has no attribute {name!r}")
