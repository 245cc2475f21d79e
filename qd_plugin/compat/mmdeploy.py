"""Patches for MMDeploy 1.3.1's ONNX export on recent PyTorch.

All three act only inside MMDeploy's ``RewriterContext``, i.e. while MMDeploy
exports a model: ``torch.onnx.export`` keeps its own defaults everywhere
else. MMDeploy is imported lazily, so ``import qd_plugin`` stays cheap.
MMRazor's own ONNX export patches are in :mod:`.mmrazor_onnx`.

1. ``onnx_export_torchscript``: ``torch.onnx.export`` defaults to the dynamo
   exporter (``dynamo=True``) since torch 2.9. ``mmdeploy.apis.onnx.export``
   calls it without ``dynamo=`` and fails with
   ``No module named 'onnxscript'``; with onnxscript installed, the dynamo
   exporter bypasses MMDeploy's TorchScript-level rewriters and symbolics.
   The fix registers an MMDeploy function rewriter of ``torch.onnx.export``
   that defaults ``dynamo`` to False (the TorchScript exporter): MMDeploy
   swaps it in on entering its rewrite context and restores the original on
   exit, so only MMDeploy's own export call sees it.
2. ``rewriter_fx_wrap_dict``: torch 2.x keeps ``torch.fx.wrap``'s registry
   (``torch.fx._symbolic_trace._wrapped_fns_to_patch``) in a dict keyed by
   ``(id(globals), name)``; MMDeploy's ``FunctionRewriter`` handles it as a
   list: ``exit()`` calls ``.pop(-1)`` once per ``torch.fx.wrap`` registered
   inside the context (``KeyError: -1``, e.g. under the dynamo exporter or
   when a module calling ``torch.fx.wrap`` is first imported during export),
   and ``enter()`` never re-wraps the copies of fx-wrapped rewriters.
3. ``recognizer_dynamic_batch``: MMDeploy's rewriter of
   ``BaseRecognizer.forward`` takes the clips per sample as
   ``cls_scores.shape[0] // len(data_samples)``, a constant of the trace, so
   the exported graph ignores a dynamic batch axis: exported at batch 1 and
   run on N samples it returns ONE prediction, the average of all N. The fix
   divides by the traced ``inputs.shape[0]`` instead.
"""
import sys

import torch
from torch.fx import _symbolic_trace

from .onnx_exporter import onnx_export_defaults_to_dynamo
from .patch import CompatPatch, register_patch

_FUNCTION_REWRITER_MODULE = 'mmdeploy.core.rewriters.function_rewriter'

# ---------------------------------------------------------------------------
# 1. torch.onnx.export defaults to the dynamo exporter.
# ---------------------------------------------------------------------------
_ONNX_EXPORT_PATH = 'torch.onnx.export'


def torch_onnx_export__torchscript(*args, **kwargs):
    """MMDeploy rewriter of ``torch.onnx.export``: TorchScript by default.

    Defined at module level because MMDeploy looks the rewriter up by the
    caller's name in the caller's globals.
    """
    from mmdeploy.core import FUNCTION_REWRITER
    ctx = FUNCTION_REWRITER.get_context(_ONNX_EXPORT_PATH)
    kwargs.setdefault('dynamo', False)
    return ctx.origin_func(*args, **kwargs)


def _export_rewriter_registered() -> bool:
    if _FUNCTION_REWRITER_MODULE not in sys.modules:
        return False  # MMDeploy not imported yet, so nothing registered
    from mmdeploy.core import FUNCTION_REWRITER
    records = FUNCTION_REWRITER._registry._rewrite_records.get(
        _ONNX_EXPORT_PATH, [])
    return any(record['_object'] is torch_onnx_export__torchscript
               for record in records)


def _torchscript_export_missing() -> bool:
    return onnx_export_defaults_to_dynamo() and not \
        _export_rewriter_registered()


def _register_torchscript_export_rewriter() -> None:
    from mmdeploy.core import FUNCTION_REWRITER
    FUNCTION_REWRITER.register_rewriter(_ONNX_EXPORT_PATH)(
        torch_onnx_export__torchscript)


ONNX_EXPORT_TORCHSCRIPT = register_patch(
    CompatPatch(
        name='mmdeploy.onnx_export_torchscript',
        package='mmdeploy',
        defect='torch.onnx.export defaults to the dynamo exporter and '
        'mmdeploy.apis.onnx.export does not pass dynamo=False: export fails '
        "(`No module named 'onnxscript'`, or `KeyError: -1` in "
        'FunctionRewriter.exit with onnxscript installed)',
        detect=_torchscript_export_missing,
        fix=_register_torchscript_export_rewriter))

# ---------------------------------------------------------------------------
# 2. FunctionRewriter treats torch.fx's wrapped-function registry as a list.
# ---------------------------------------------------------------------------
_MARKER = '_qd_fx_wrap_dict_patched'


def _fx_wrap_registry_is_dict() -> bool:
    return isinstance(_symbolic_trace._wrapped_fns_to_patch, dict)


def _rewriter_fx_wrap_unpatched() -> bool:
    if not _fx_wrap_registry_is_dict():
        return False
    module = sys.modules.get(_FUNCTION_REWRITER_MODULE)
    return module is None or not getattr(module.FunctionRewriter, _MARKER,
                                         False)


def _fx_wrap_copied_fn(func, copied_func) -> None:
    """Register ``copied_func``'s globals for every ``torch.fx.wrap`` name
    registered for ``func``'s globals (torch 2.x dict registry)."""
    globals_ = getattr(func, '__globals__', None)
    if globals_ is None:
        return
    registry = _symbolic_trace._wrapped_fns_to_patch
    for globals_id, name in list(registry):
        if globals_id == id(globals_):
            registry[(id(copied_func.__globals__), name)] = \
                copied_func.__globals__


def _patch_rewriter_fx_wrap() -> None:
    from mmdeploy.core.rewriters import function_rewriter
    rewriter_cls = function_rewriter.FunctionRewriter
    origin_enter, origin_exit = rewriter_cls.enter, rewriter_cls.exit

    def enter(self, *args, **kwargs):
        self._qd_fx_wrap_keys = set(_symbolic_trace._wrapped_fns_to_patch)
        return origin_enter(self, *args, **kwargs)

    def exit(self):
        registry = _symbolic_trace._wrapped_fns_to_patch
        keys = getattr(self, '_qd_fx_wrap_keys', None)
        if keys is not None:
            for key in set(registry) - keys:
                del registry[key]
        # Nothing left for the list-based bookkeeping of the original exit().
        self._ori_fx_wrap_num = len(registry)
        return origin_exit(self)

    enter.__wrapped__, exit.__wrapped__ = origin_enter, origin_exit
    rewriter_cls.enter, rewriter_cls.exit = enter, exit
    function_rewriter._fx_wrap_copied_fn = _fx_wrap_copied_fn
    setattr(rewriter_cls, _MARKER, True)


REWRITER_FX_WRAP_DICT = register_patch(
    CompatPatch(
        name='mmdeploy.rewriter_fx_wrap_dict',
        package='mmdeploy',
        defect='FunctionRewriter handles torch.fx\'s _wrapped_fns_to_patch '
        '(a dict since torch 2.x) as a list: leaving the rewrite context '
        'after a torch.fx.wrap raises `KeyError: -1`',
        detect=_rewriter_fx_wrap_unpatched,
        fix=_patch_rewriter_fx_wrap))

# ---------------------------------------------------------------------------
# 3. The exported recognizer averages the whole batch into one prediction.
# ---------------------------------------------------------------------------
_RECOGNIZER_FORWARD_PATH = 'mmaction.models.recognizers.BaseRecognizer.forward'
_RECOGNIZER_REWRITER_MODULE = \
    'mmdeploy.codebase.mmaction.models.recognizers.base'


def base_recognizer__forward(self, inputs, data_samples=None, mode='tensor',
                             **kwargs):
    """MMDeploy rewriter of ``BaseRecognizer.forward`` (``mode='predict'``):
    the class scores averaged over the clips of each sample.

    Clips per sample: ``cls_scores.shape[0] // inputs.shape[0]``, both
    traced, so the batch axis stays dynamic in the exported graph (MMDeploy
    divides by ``len(data_samples)``, a constant of the trace).
    """
    assert mode == 'predict', f'export needs mode="predict", got {mode!r}'
    feats, predict_kwargs = self.extract_feat(inputs, test_mode=True)
    cls_scores = self.cls_head(feats, **predict_kwargs)
    num_segs = cls_scores.shape[0] // inputs.shape[0]
    return self.cls_head.average_clip(cls_scores, num_segs=num_segs)


class _ProbeHead:
    """Stand-in head for :func:`_recognizer_rewriter_fixes_batch`."""

    def __call__(self, feats):
        return feats

    @staticmethod
    def average_clip(cls_scores, num_segs=1):
        return cls_scores.view(cls_scores.shape[0] // num_segs, num_segs,
                               -1).mean(dim=1)


class _ProbeRecognizer:
    """Stand-in recognizer: one score row per clip, no weights."""

    cls_head = _ProbeHead()

    @staticmethod
    def extract_feat(inputs, test_mode=True):
        return inputs.reshape((-1, ) + tuple(inputs.shape[2:])), {}


def _default_recognizer_records() -> list:
    import importlib

    from mmdeploy.core import FUNCTION_REWRITER
    importlib.import_module(_RECOGNIZER_REWRITER_MODULE)  # registers it
    records = FUNCTION_REWRITER._registry._rewrite_records.get(
        _RECOGNIZER_FORWARD_PATH, [])
    return [record for record in records if not record['_checkers']]


def _recognizer_rewriter_fixes_batch() -> bool:
    """True when the rewriter MMDeploy will use derives the batch from
    ``len(data_samples)``: a graph traced with one sample, run on two, must
    give two predictions."""
    records = _default_recognizer_records()
    if not records:
        return False  # no rewriter: nothing to fix
    rewriter = records[0]['_object']
    with torch.no_grad():
        scores = rewriter(_ProbeRecognizer(), torch.zeros(2, 3, 4),
                          data_samples=[None], mode='predict')
    return scores.shape[0] != 2


def _replace_recognizer_rewriter() -> None:
    from mmdeploy.core import FUNCTION_REWRITER
    for record in _default_recognizer_records():
        FUNCTION_REWRITER._registry.remove_record(record['_object'])
    FUNCTION_REWRITER.register_rewriter(_RECOGNIZER_FORWARD_PATH)(
        base_recognizer__forward)


RECOGNIZER_DYNAMIC_BATCH = register_patch(
    CompatPatch(
        name='mmdeploy.recognizer_dynamic_batch',
        package='mmdeploy',
        defect='the exported mmaction recognizer divides the clips by '
        'len(data_samples), a trace constant: a graph exported at batch 1 '
        'run on batch N averages all N samples into one (1, C) prediction',
        detect=_recognizer_rewriter_fixes_batch,
        fix=_replace_recognizer_rewriter))
