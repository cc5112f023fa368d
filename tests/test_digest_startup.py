"""What a digest process loads for its charts: the bundled CJK font is found from ``mplfonts``'
import spec, without importing the package (it imports fontmeta and fontTools.ttLib, ~0.1 s of CPU;
matplotlib itself imports only a small part of fontTools),
and is the same file ``importlib.resources`` names."""

from __future__ import annotations

import json
import os
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


def test_the_digest_command_loads_no_font_tables_or_http_client(tmp_path: Path) -> None:
    """A whole ``groupops digest`` (charts drawn, emails rendered into the outbox, no bot
    configured) without mplfonts' fontTools tables and without httpx."""
    from activity_data import load_into, write_bundle

    from groupops.db import make_engine
    from groupops.db.schema import upgrade

    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    load_into(engine, write_bundle(tmp_path / "bundle"))
    engine.dispose()
    code = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from cli import app\n"
        "r = CliRunner().invoke(app, ['digest', '--period', 'week', '--as-of',"
        " '2026-11-23T09:00', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(json.dumps({'rows': json.loads(r.stdout),\n"
        "                  'loaded': sorted(m for m in ('mplfonts', 'fontTools.ttLib', 'httpx')\n"
        "                                   if m in sys.modules)}))\n"
    )
    env = {**os.environ, "GROUPOPS_DATABASE_URL": url, "GROUPOPS_OUTBOX_DIR": str(tmp_path / "out")}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["outcome"] for r in out["rows"]].count("queued") >= 2
    assert len(list((tmp_path / "out").glob("*.eml"))) >= 2
    assert out["loaded"] == []
