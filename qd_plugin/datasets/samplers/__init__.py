from .class_balanced_sampler import ClassBalancedSampler
from .no_singleton_batch_sampler import NoSingletonBatchSampler

__all__ = ['ClassBalancedSampler', 'NoSingletonBatchSampler']
