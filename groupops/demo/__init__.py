"""The demo company (示例科技) and the seeded generator of its activity bundle in ``data/demo/``.

Regenerate with ``python -m groupops.demo --out data/demo --seed 20261120`` (``make demo-data``).
The map of the package and how a chapter adds plants: docs/demo.md.
"""
