"""iommu-dma: regenerate "iommu: Remove IOMMU_DOMAIN_DMA from drivers"."""

PROG = 'iommu-dma'
