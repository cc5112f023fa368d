"""What a digest process loads for its charts: the bundled CJK font is found from ``mplfonts``'
import spec, without importing the package (it imports fontmeta and fontTools.ttLib, ~0.1 s of CPU;
matplotlib itself imports only a small part of fontTools),
and is the same file ``importlib.resources`` names."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

from groupops.digest.fonts import _FILE, bundled_cjk_font


def test_bundled_font_is_the_packaged_file() -> None:
    expected = Path(str(resources.files("mplfonts") / "fonts")) / _FILE
    assert expected.is_file()
    assert bundled_cjk_font() == expected


def test_charts_in_chinese_without_fonttools_ttlib() -> None:
    code = (
        "import json, sys\n"
        "import pandas as pd\n"
        "from groupops.digest.charts import cjk_font, chart_language, heatmap_chart\n"
        "table = pd.DataFrame([[i * j for j in range(24)] for i in range(7)])\n"
        "png = heatmap_chart(table, 'zh-CN')\n"
        "print(json.dumps({'font': cjk_font(), 'lang': chart_language('zh-CN'),\n"
        "                  'png': png[:8].hex(),\n"
        "                  'loaded': sorted(m for m in ('mplfonts', 'fontmeta', 'fontTools.ttLib')\n"
        "                                   if m in sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"font": "Noto Sans CJK SC", "lang": "zh-CN",
                   "png": b"\x89PNG\r\n\x1a\n".hex(), "loaded": []}  # fmt: skip
