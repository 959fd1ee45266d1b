// SPDX-License-Identifier: GPL-2.0-only
/// Add the use_dma_iommu and allow_dma_fq bitfields to struct iommu_ops.
///
/// Drivers stop comparing against IOMMU_DOMAIN_DMA/_DMA_FQ and declare
/// instead whether dma-iommu.c may use them (use_dma_iommu) and whether
/// flush queues may be selected (allow_dma_fq). The fields go after
/// pgsize_bitmap, or after the last bitfield where a release has them.
/// allow_dma_fq is added only with -D dma_fq, for cores that still hand
/// flush-queue domains to drivers.
//
// Confidence: High
// Options: --no-includes --include-headers

virtual patch
virtual context
virtual org
virtual report
virtual record
virtual dma_fq

@initialize:python@
@@
import json

def emit(event, **fields):
	print('IOMMU-DMA ' + json.dumps(dict(event=event, **fields)))

@ops_struct@
position p;
@@
struct iommu_ops@p { ... };

// Never twice: a tree that has the fields is left alone.
@fields_use_dma_iommu@
type T;
@@
struct iommu_ops { ... T use_dma_iommu : 1; ... };

@fields_allow_dma_fq@
type T;
@@
struct iommu_ops { ... T allow_dma_fq : 1; ... };

@script:python depends on report && !fields_use_dma_iommu@
p << ops_struct.p;
@@
coccilib.report.print_report(p[0], "struct iommu_ops has no use_dma_iommu: drivers cannot declare DMA API support")

@script:python depends on org && !fields_use_dma_iommu@
p << ops_struct.p;
@@
coccilib.org.print_todo(p[0], "struct iommu_ops: add use_dma_iommu")

@depends on context && !fields_use_dma_iommu@
identifier pgsize_bitmap;
@@
struct iommu_ops {
  ...
* unsigned long pgsize_bitmap;
  ...
};

@fields_add_allow_dma_fq depends on patch && dma_fq && !fields_allow_dma_fq@
identifier pgsize_bitmap;
@@
struct iommu_ops {
  ...
  unsigned long pgsize_bitmap;
+ u8 allow_dma_fq : 1;
  ...
};

// A release that has bitfields in struct iommu_ops (user_pasid_table)
// gets the new one beside them; cores with flush queues in drivers
// (-D dma_fq) have none.
@fields_add_use_dma_iommu_bits depends on patch && !dma_fq && !fields_use_dma_iommu@
identifier bits;
@@
struct iommu_ops {
  ...
  u8 bits:1;
+ u8 use_dma_iommu:1;
  ...
};

@fields_add_use_dma_iommu depends on patch && !fields_use_dma_iommu &&
  !fields_add_use_dma_iommu_bits@
identifier pgsize_bitmap;
@@
struct iommu_ops {
  ...
  unsigned long pgsize_bitmap;
+ u8 use_dma_iommu : 1;
  ...
};

@script:python depends on record && fields_add_allow_dma_fq@
p << ops_struct.p;
@@
emit('field', file=p[0].file, struct='iommu_ops', field='allow_dma_fq')

@script:python depends on record &&
  (fields_add_use_dma_iommu || fields_add_use_dma_iommu_bits)@
p << ops_struct.p;
@@
emit('field', file=p[0].file, struct='iommu_ops', field='use_dma_iommu')
