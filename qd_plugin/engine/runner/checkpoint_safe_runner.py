import logging
import os
import os.path as osp
from typing import Optional, Tuple

from mmengine.dist import is_main_process, master_only
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ...utils.checkpoint import (HEAD_PREFIXES, check_state_dict,
                                 check_training_state, find_resume_checkpoint,
                                 read_checkpoint, state_dict_of)

# Keys of the message hub's runtime info holding paths of checkpoints.
_CHECKPOINT_INFO = ('last_ckpt', 'best_ckpt')


@RUNNERS.register_module()
class CheckpointSafeRunner(Runner):
    """MMEngine's :class:`Runner` with strict checkpoint loading, atomic
    checkpoint writes and a ``--resume`` that survives moved work dirs.

    * ``load_from`` and ``resume`` checkpoints must fit the model (keys and
      shapes, see :func:`qd_plugin.utils.checkpoint.check_state_dict`);
      MMEngine only warns and trains random weights. A training run may
      start from a checkpoint without the classifier (``cls_head.*``, e.g.
      Kinetics weights converted with ``--drop-classifier``). They are
      checked when ``train()`` starts, before the datasets are built.
    * Resuming needs a checkpoint with a training state (no ``KeyError:
      'epoch'`` on a bare state dict). Auto-resume finds the checkpoint with
      :func:`qd_plugin.utils.checkpoint.find_resume_checkpoint` (relative or
      moved ``last_checkpoint``, fallback to the newest readable checkpoint)
      and says so when there is nothing to resume. The checkpoint paths the
      resumed run recorded (best checkpoint, last checkpoint) are moved to
      the resumed file's directory, so a copied work dir never deletes the
      original's files.
    * Checkpoints are written to a temporary file in the same directory and
      renamed, so an interrupted save (kill -9, full disk) never leaves a
      truncated ``epoch_N.pth``.

    Select it with ``runner_type = 'CheckpointSafeRunner'`` (set in
    ``configs/_base_/default_runtime.py``; the plugin's tools default to it).
    The arguments are those of :class:`Runner`.
    """

    _start_checkpoint: Optional[Tuple[Optional[str], bool]] = None

    def train(self):
        """Check the checkpoint to start from, then train (see
        :meth:`Runner.train`)."""
        self._start_checkpoint = self._checked_start_checkpoint(
            training=True)
        return super().train()

    def load_or_resume(self) -> None:
        """Load or resume the checked checkpoint (see the class)."""
        if self._has_loaded:
            return
        if self._start_checkpoint is None:
            self._start_checkpoint = self._checked_start_checkpoint(
                training=False)
        filename, resume = self._start_checkpoint
        if filename is None:
            return
        if resume:
            self.resume(filename)
        else:
            self.load_checkpoint(filename)
        self._has_loaded = True

    def resume(self, filename: str, *args, **kwargs) -> None:
        """:meth:`Runner.resume`, then the recorded checkpoint paths follow
        the file resumed from (see the class)."""
        super().resume(filename, *args, **kwargs)
        if osp.isfile(filename):
            self._rebase_checkpoint_paths(osp.dirname(osp.abspath(filename)))

    @master_only
    def save_checkpoint(self,
                        out_dir: str,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True,
                        save_param_scheduler: bool = True,
                        meta: Optional[dict] = None,
                        by_epoch: bool = True,
                        backend_args: Optional[dict] = None) -> None:
        """:meth:`Runner.save_checkpoint` to a temporary file, renamed to
        ``filename`` once complete (local directories only)."""
        options = dict(
            save_optimizer=save_optimizer,
            save_param_scheduler=save_param_scheduler,
            meta=meta,
            by_epoch=by_epoch)
        if '://' in out_dir or file_client_args or backend_args:
            return super().save_checkpoint(
                out_dir,
                filename,
                file_client_args,
                backend_args=backend_args,
                **options)
        head, name = osp.split(filename)
        temporary = osp.join(head, f'.{name}.{os.getpid()}.tmp')
        temporary_path = osp.join(out_dir, temporary)
        try:
            super().save_checkpoint(out_dir, temporary, **options)
            with open(temporary_path, 'rb') as f:
                os.fsync(f.fileno())
            os.replace(temporary_path, osp.join(out_dir, filename))
        finally:
            if osp.exists(temporary_path):
                os.remove(temporary_path)

    def _checked_start_checkpoint(
            self, training: bool) -> Tuple[Optional[str], bool]:
        """The checkpoint to load or resume and whether to resume, checked
        against the model."""
        resume = bool(self._resume)
        filename = self._load_from
        if resume and filename is None:
            filename = find_resume_checkpoint(self.work_dir)
            if filename is None:
                self.logger.warning(
                    f'resume: nothing to resume in {self.work_dir} (no '
                    'last_checkpoint and no epoch_N.pth / iter_N.pth): '
                    'starting from scratch')
                return None, False
            self.logger.info(f'resuming from {filename}')
        if filename is None:
            return None, False
        description = 'checkpoint to resume' if resume else \
            'load_from checkpoint'
        checkpoint = read_checkpoint(filename, description)
        allow_missing = HEAD_PREFIXES if training and not resume else ()
        kept = check_state_dict(self.model, state_dict_of(checkpoint),
                                filename, description, allow_missing)
        if kept:
            self.logger.warning(
                f'{description} {filename} has no {", ".join(kept)}: they '
                'keep their initialisation')
        if resume:
            check_training_state(checkpoint, filename)
        return filename, resume

    def _rebase_checkpoint_paths(self, directory: str) -> None:
        """Point the message hub's checkpoint paths of another directory (the
        run's original work dir) at ``directory``, where the resumed
        checkpoint lies."""
        info = self.message_hub.runtime_info
        last = info.get('last_ckpt')
        if not isinstance(last, str) or osp.dirname(last) == directory:
            return
        original = osp.dirname(last)
        for key in list(info):
            value = info[key]
            if key.startswith(_CHECKPOINT_INFO) and isinstance(
                    value, str) and osp.dirname(value) == original:
                self.message_hub.update_info(
                    key, osp.join(directory, osp.basename(value)))
        if is_main_process():
            self.logger.log(
                logging.WARNING,
                f'the resumed run saved its checkpoints in {original}; they '
                f'are taken from and written to {directory} from now on')
