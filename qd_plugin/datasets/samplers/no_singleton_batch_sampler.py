from typing import Iterator, List

from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import BatchSampler, Sampler


@DATA_SAMPLERS.register_module()
class NoSingletonBatchSampler(BatchSampler):
    """Batches of ``batch_size`` indices whose last batch is dropped when it
    holds a single sample (``drop_last=False`` otherwise).

    BatchNorm cannot train on one sample whose feature map is a single voxel
    (small clips, or a dataset whose size ``skip_bad_videos`` changed): the
    batch statistics are undefined and PyTorch raises ``Expected more than
    1 value per channel``. Only the trailing batch of one is dropped, and
    only if other batches remain; the sampler shuffles, so the sample is
    seen in other epochs. Select it for a training dataloader with
    ``batch_sampler=dict(type='NoSingletonBatchSampler')``.

    Args:
        sampler (Sampler): The sampler of the indices (built by the Runner).
        batch_size (int): Samples per batch.
    """

    def __init__(self, sampler: Sampler, batch_size: int) -> None:
        super().__init__(sampler, batch_size, drop_last=False)

    def _drops_last(self) -> bool:
        total = len(self.sampler)
        return self.batch_size > 1 and total > 1 and \
            total % self.batch_size == 1

    def __iter__(self) -> Iterator[List[int]]:
        batches = super().__iter__()
        if not self._drops_last():
            yield from batches
            return
        previous = next(batches, None)
        for batch in batches:
            yield previous
            previous = batch
        if previous is not None and len(previous) > 1:
            yield previous

    def __len__(self) -> int:
        return super().__len__() - int(self._drops_last())
