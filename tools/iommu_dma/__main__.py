import sys

try:
    from .cli import main
except KeyboardInterrupt:
    # Ctrl-C while Python is still importing: one line, as at any moment.
    print('iommu-dma: interrupted', file=sys.stderr)
    sys.exit(130)

sys.exit(main())
