"""The CJK font every chart and screenshot uses: Noto Sans CJK SC (SIL Open Font License), shipped
with the Python dependencies by the ``mplfonts`` package, so Chinese renders on any machine
that ran ``uv sync`` — no system font package needed.

:func:`bundled_cjk_font` is the file; :func:`fontconfig_file` writes a fontconfig file that adds
its folder for programs that find fonts through fontconfig (headless Chromium in
``scripts/screenshots.py`` and the screenshot tests).
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

#: The family name matplotlib and fontconfig know the bundled font by.
BUNDLED_FAMILY = "Noto Sans CJK SC"
_FILE = "NotoSansCJKsc-Regular.otf"


def bundled_cjk_font() -> Path | None:
    """The bundled Noto Sans CJK SC file, or ``None`` when ``mplfonts`` is not installed.

    Found from the package's import spec without importing it: ``mplfonts`` imports
    fontmeta and fontTools (~0.1 s of CPU per digest process), and only the file is needed
    (``importlib.resources.files("mplfonts")`` gives the same folder:
    ``tests/test_digest_startup.py``)."""
    spec = find_spec("mplfonts")
    folders = spec.submodule_search_locations if spec is not None else None
    if not folders:
        return None
    for folder in folders:
        path = Path(folder) / "fonts" / _FILE
        if path.is_file():
            return path
    return None


def fontconfig_file(target: Path) -> Path:
    """Write a fontconfig file at ``target`` that adds the bundled font's folder to the system
    configuration; point ``FONTCONFIG_FILE`` at it."""
    font = bundled_cjk_font()
    if font is None:
        raise FileNotFoundError("the bundled CJK font (package mplfonts) is not installed")
    system = Path("/etc/fonts/fonts.conf")
    include = f'<include ignore_missing="yes">{system}</include>' if system.exists() else ""
    target.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"  {include}\n  <dir>{font.parent}</dir>\n"
        f"  <cachedir>{target.parent / 'fontcache'}</cachedir>\n</fontconfig>\n",
        encoding="utf-8",
    )
    return target
