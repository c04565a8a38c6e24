"""castkit: screencasts to DV, with title cards, trims and joins, from one YAML recipe.

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
    "convert": "._convert",
    "make_title": "._cards",
    "build": "._build",
    "preview": "._preview",
    "load_recipe": "._recipe",
    "probe": "._probe",
    "find_ffmpeg": "._ffmpeg",
    "DvTarget": "._target",
    "TitleStyle": "._titles",
    "render_card": "._titles",
    "CastkitError": ".errors",
    "UserError": ".errors",
    "UsageError": ".errors",
    "InputError": ".errors",
    "RecipeError": ".errors",
    "WorkError": ".errors",
    "FfmpegNotFound": ".errors",
    "FfmpegFailed": ".errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module 'castkit' has no attribute {name!r}")
