"""The lab: checks and measurements beside the product (tools/iommu_dma).

boot (does the rewritten kernel still boot like pristine?), fuzz
(generated drivers, judged as C) and bench (speed, against a floor
measured in the same run). Each runs as `python3 -m lab.<name>`; they
use the product, the product never imports them.
"""
