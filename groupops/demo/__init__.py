"""The demo company (示例科技) and the seeded generator of its activity bundle in ``data/demo/``.

Regenerate with ``python -m groupops.demo.generator --out data/demo --seed 20261120``.
"""
