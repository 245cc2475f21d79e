"""Patches for MMRazor 1.0.0's FX quantization stack on PyTorch 2.x.

MMRazor 1.0.0 was written against torch 1.13's FX quantization internals.
The patches are registered in the order they must be applied:

1. ``fuser_method_aliases``, 2. ``backend_config_utils_import`` and
   3. ``backend_pattern_config_legacy_setters`` touch torch only and must run
   before ``mmrazor.structures.quantization`` is imported, because that module
   builds every backend config at import time. They never import mmrazor.
4. ``fuse_fx_graph_module_kwarg`` wraps torch's ``_fuse_fx``; mmrazor's
   quantizers pick the wrapper up when they import it.
5. ``backend_config_reversed_patterns`` rewrites the backend configs mmrazor
   built, so it imports ``mmrazor.structures.quantization`` (cheap, no models).
6. ``fixed_qparams_reset`` wraps ``MMArchitectureQuant``'s reset of the
   quantization parameters, so it imports ``mmrazor.models.algorithms``.

After patches 1-3, ``import mmrazor.models`` works
(:func:`mmrazor_importable`); MMRazor's ONNX export patches are in
:mod:`.mmrazor_onnx`.

``reverse_sequential_wrapper2`` is NOT torch 2.x's ``_sequential_wrapper2``:
the torch 1.13 helper swaps the two modules. Aliasing the private one makes
Conv+ReLU, Linear+ReLU and BN+ReLU fusion fail with
``Incorrect types for input modules: ReLU and Conv3d``.
"""
import copy
import importlib
import inspect
import sys
from typing import Any, Callable, Iterator, List, Tuple

import torch
import torch.nn as nn
from torch.ao.quantization import fuser_method_mappings
from torch.ao.quantization.backend_config import (BackendConfig,
                                                  BackendPatternConfig,
                                                  DTypeConfig, ObservationType)
from torch.ao.quantization.backend_config.backend_config import \
    DTypeWithConstraints

from torch.ao.quantization.fake_quantize import FixedQParamsFakeQuantize
from torch.ao.quantization.observer import \
    default_fixed_qparams_range_0to1_observer

from .patch import CompatPatch, register_patch

# ---------------------------------------------------------------------------
# 1. torch 1.13 fuser-method helpers, renamed private in torch 2.0.
# ---------------------------------------------------------------------------
_FUSER_METHOD_ALIASES = ('reverse2', 'reverse3', 'reverse_sequential_wrapper2')


def _reverse_sequential_wrapper2(sequential: Callable) -> Callable:
    """torch 1.13's ``reverse_sequential_wrapper2``.

    Unlike torch 2.x's ``_sequential_wrapper2`` the returned fuser method gets
    the two modules in the reversed nested tuple order, e.g. ``(relu, conv)``,
    and builds ``sequential(conv, relu)``.
    """
    return fuser_method_mappings._reverse2(
        fuser_method_mappings._sequential_wrapper2(sequential))


def _fuser_method_aliases_missing() -> bool:
    return not all(
        hasattr(fuser_method_mappings, name) for name in _FUSER_METHOD_ALIASES)


def _add_fuser_method_aliases() -> None:
    fuser_method_mappings.reverse2 = fuser_method_mappings._reverse2
    fuser_method_mappings.reverse3 = fuser_method_mappings._reverse3
    fuser_method_mappings.reverse_sequential_wrapper2 = \
        _reverse_sequential_wrapper2


FUSER_METHOD_ALIASES = register_patch(
    CompatPatch(
        name='mmrazor.fuser_method_aliases',
        package='mmrazor',
        defect='torch.ao.quantization.fuser_method_mappings lacks reverse2, '
        'reverse3 and reverse_sequential_wrapper2, so `import mmrazor.models` '
        'fails (`torch>=1.13` is not installed properly)',
        detect=_fuser_method_aliases_missing,
        fix=_add_fuser_method_aliases))

# ---------------------------------------------------------------------------
# 2. BackendConfig.set_backend_pattern_config needs backend_config.utils.
# ---------------------------------------------------------------------------
_BACKEND_CONFIG_UTILS = 'torch.ao.quantization.backend_config.utils'


def _backend_config_utils_not_imported() -> bool:
    backend_config_package = sys.modules[
        'torch.ao.quantization.backend_config']
    return not hasattr(backend_config_package, 'utils')


def _import_backend_config_utils() -> None:
    importlib.import_module(_BACKEND_CONFIG_UTILS)


BACKEND_CONFIG_UTILS_IMPORT = register_patch(
    CompatPatch(
        name='mmrazor.backend_config_utils_import',
        package='mmrazor',
        defect='BackendConfig.set_backend_pattern_config uses '
        'torch.ao.quantization.backend_config.utils without importing it '
        '(AttributeError while mmrazor builds its backend configs)',
        detect=_backend_config_utils_not_imported,
        fix=_import_backend_config_utils))

# ---------------------------------------------------------------------------
# 3. BackendPatternConfig setters removed in torch 2.0.
# ---------------------------------------------------------------------------
_LEGACY_SETTERS = ('_set_overwrite_output_fake_quantize',
                   '_set_overwrite_output_observer',
                   '_set_input_output_observed')
_CONSTRAINT_FIELDS = ('quant_min_lower_bound', 'quant_max_upper_bound',
                      'scale_exact_match', 'zero_point_exact_match')


def _fixed_qparams_constraints(
        observer_or_fake_quant_ctr: Callable) -> DTypeWithConstraints:
    """The dtype constraints a fixed-qparams observer or fake-quant implies."""
    fixed = observer_or_fake_quant_ctr()
    return DTypeWithConstraints(
        dtype=fixed.dtype,
        quant_min_lower_bound=fixed.quant_min,
        quant_max_upper_bound=fixed.quant_max,
        scale_exact_match=float(fixed.scale),
        zero_point_exact_match=int(fixed.zero_point))


def _constrain_to_fixed_qparams(
        self: BackendPatternConfig,
        observer_or_fake_quant_ctr: Callable) -> BackendPatternConfig:
    """torch 2.x form of torch 1.13's ``_set_overwrite_output_*`` setters.

    torch 1.13 forced the given fixed-qparams observer/fake-quant onto the
    output of ops like sigmoid and tanh. torch 2.x instead lets the
    QConfigMapping supply it (mmrazor's TorchNativeQuantizer maps these ops to
    FixedQParamsFakeQuantize) and the backend config only states the qparams
    it accepts, as exact-match constraints on the input and output dtypes
    (what torch 2.x's own native backend config does for the same ops). The
    shared dtype configs are copied, not modified.
    """
    constraints = _fixed_qparams_constraints(observer_or_fake_quant_ctr)
    constrained_dtype_configs: List[DTypeConfig] = []
    for dtype_config in self.dtype_configs:
        dtype_config = copy.deepcopy(dtype_config)
        for dtype_with_constraints in (
                dtype_config.input_dtype_with_constraints,
                dtype_config.output_dtype_with_constraints):
            if dtype_with_constraints.dtype == constraints.dtype:
                for field in _CONSTRAINT_FIELDS:
                    setattr(dtype_with_constraints, field,
                            getattr(constraints, field))
        constrained_dtype_configs.append(dtype_config)
    self.dtype_configs = constrained_dtype_configs
    return self


def _set_input_output_observed(
        self: BackendPatternConfig,
        input_output_observed: bool) -> BackendPatternConfig:
    """torch 2.x form of torch 1.13's ``_set_input_output_observed``.

    ``False`` (mmrazor: embeddings) becomes
    ``ObservationType.INPUT_OUTPUT_NOT_OBSERVED``. torch 2.x's FX prepare
    decides this from the weight-only dtype configs mmrazor gives embeddings
    (float input and output), so the observation type only records the
    intent; torch's own 2.x embedding configs drop the call entirely.
    """
    not_observed = getattr(ObservationType, 'INPUT_OUTPUT_NOT_OBSERVED', None)
    if not input_output_observed and not_observed is not None:
        self.observation_type = not_observed
    elif input_output_observed and self.observation_type is not_observed:
        self.observation_type = \
            ObservationType.OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT
    return self


def _legacy_setters_missing() -> bool:
    return not all(
        hasattr(BackendPatternConfig, name) for name in _LEGACY_SETTERS)


def _add_legacy_setters() -> None:
    BackendPatternConfig._set_overwrite_output_fake_quantize = \
        _constrain_to_fixed_qparams
    BackendPatternConfig._set_overwrite_output_observer = \
        _constrain_to_fixed_qparams
    BackendPatternConfig._set_input_output_observed = \
        _set_input_output_observed


BACKEND_PATTERN_CONFIG_LEGACY_SETTERS = register_patch(
    CompatPatch(
        name='mmrazor.backend_pattern_config_legacy_setters',
        package='mmrazor',
        defect='BackendPatternConfig._set_overwrite_output_fake_quantize, '
        '_set_overwrite_output_observer and _set_input_output_observed were '
        "removed in torch 2.0; mmrazor's fixed-qparams and embedding configs "
        'call them',
        detect=_legacy_setters_missing,
        fix=_add_legacy_setters))

# ---------------------------------------------------------------------------
# 4. quantize_fx._fuse_fx renamed ``graph_module`` to ``model``.
# ---------------------------------------------------------------------------
_MMRAZOR_FUSE_FX_CALLERS = ('mmrazor.models.quantizers.native_quantizer',
                            'mmrazor.models.quantizers.academic_quantizer')


def _fuse_fx_rejects_graph_module() -> bool:
    # Imported here: quantize_fx imports backend_config.utils as a side effect.
    from torch.ao.quantization import quantize_fx
    try:
        inspect.signature(quantize_fx._fuse_fx).bind(
            graph_module=None, is_qat=True, backend_config=None)
    except TypeError:
        return True
    return False


def _accept_graph_module_keyword() -> None:
    from torch.ao.quantization import quantize_fx
    if hasattr(quantize_fx._fuse_fx, 'renamed_fuse_fx'):
        return
    renamed_fuse_fx = quantize_fx._fuse_fx

    def _fuse_fx(*args: Any,
                 graph_module: Any = None,
                 **kwargs: Any) -> torch.fx.GraphModule:
        """``_fuse_fx`` that also takes torch 1.13's ``graph_module=``."""
        if graph_module is not None:
            kwargs['model'] = graph_module
        return renamed_fuse_fx(*args, **kwargs)

    _fuse_fx.renamed_fuse_fx = renamed_fuse_fx
    quantize_fx._fuse_fx = _fuse_fx
    # Modules that imported the renamed function by name before this patch.
    for module_name in _MMRAZOR_FUSE_FX_CALLERS:
        module = sys.modules.get(module_name)
        if getattr(module, '_fuse_fx', None) is renamed_fuse_fx:
            module._fuse_fx = _fuse_fx


FUSE_FX_GRAPH_MODULE_KWARG = register_patch(
    CompatPatch(
        name='mmrazor.fuse_fx_graph_module_kwarg',
        package='mmrazor',
        defect="quantize_fx._fuse_fx renamed its parameter 'graph_module' to "
        "'model'; mmrazor's quantizers call _fuse_fx(graph_module=...)",
        detect=_fuse_fx_rejects_graph_module,
        fix=_accept_graph_module_keyword))

# ---------------------------------------------------------------------------
# 5. mmrazor's fusion patterns use torch 1.13's reversed nested tuple format.
# ---------------------------------------------------------------------------
_MMRAZOR_BACKEND_CONFIG_PACKAGE = 'mmrazor.structures.quantization'
_BACKEND_CONFIG_GETTER_MODULES = {
    'get_academic_backend_config': 'academic',
    'get_native_backend_config': 'native',
    'get_openvino_backend_config': 'openvino',
    'get_tensorrt_backend_config': 'tensorrt',
}


def _move_tuple_patterns_to_complex_format(
        backend_config: BackendConfig) -> BackendConfig:
    """Re-register every tuple pattern of ``backend_config`` as complex format.

    torch 1.13 read ``BackendPatternConfig.pattern`` in the reversed nested
    tuple format, e.g. ``(nn.ReLU, (nn.BatchNorm3d, nn.Conv3d))``; torch 2.x
    reads a tuple there in forward order and keeps the old format in
    ``_pattern_complex_format``. The configs are keyed by pattern, so they are
    registered again after the move.
    """
    configs = backend_config.configs
    for config in configs:
        if isinstance(config.pattern, tuple):
            pattern, config.pattern = config.pattern, None
            config._set_pattern_complex_format(pattern)
    backend_config._pattern_complex_format_to_config.clear()
    return backend_config.set_backend_pattern_configs(configs)


def _converting_getter(
        getter: Callable[[], BackendConfig]) -> Callable[[], BackendConfig]:

    def get_backend_config() -> BackendConfig:
        return _move_tuple_patterns_to_complex_format(getter())

    get_backend_config.__name__ = getter.__name__
    get_backend_config.__doc__ = getter.__doc__
    get_backend_config.unconverted_getter = getter
    return get_backend_config


def _backend_config_getter_bindings(
) -> Iterator[Tuple[Any, str, Callable[[], BackendConfig]]]:
    """Yield ``(module, name, getter)`` for each binding of mmrazor's getters.

    The getters are defined in ``backend_config/<backend>.py`` and re-exported
    by ``backend_config`` and ``mmrazor.structures.quantization``.
    """
    package = importlib.import_module(_MMRAZOR_BACKEND_CONFIG_PACKAGE)
    backend_config_package = importlib.import_module(
        f'{_MMRAZOR_BACKEND_CONFIG_PACKAGE}.backend_config')
    for name, defining_module in _BACKEND_CONFIG_GETTER_MODULES.items():
        defining = importlib.import_module(
            f'{backend_config_package.__name__}.{defining_module}')
        for module in (defining, backend_config_package, package):
            if hasattr(module, name):
                yield module, name, getattr(module, name)


def mmrazor_importable() -> bool:
    """Whether ``import mmrazor.models`` works now: patches 1-3 are not
    needed (any more). Importing it before would fail and leave MMRazor's
    placeholder modules behind."""
    return not (_fuser_method_aliases_missing()
                or _backend_config_utils_not_imported()
                or _legacy_setters_missing())


def _mmrazor_backend_configs_reversed() -> bool:
    if not mmrazor_importable():
        return True
    package = importlib.import_module(_MMRAZOR_BACKEND_CONFIG_PACKAGE)
    built_configs_reversed = any(
        isinstance(config.pattern, tuple)
        for backend_config in package.BackendConfigs.values()
        if backend_config is not None for config in backend_config.configs)
    getter_unconverted = any(
        not hasattr(getter, 'unconverted_getter')
        for _, _, getter in _backend_config_getter_bindings())
    return built_configs_reversed or getter_unconverted


def _convert_mmrazor_backend_configs() -> None:
    package = importlib.import_module(_MMRAZOR_BACKEND_CONFIG_PACKAGE)
    for backend_config in package.BackendConfigs.values():
        if backend_config is not None:
            _move_tuple_patterns_to_complex_format(backend_config)
    for module, name, getter in _backend_config_getter_bindings():
        if not hasattr(getter, 'unconverted_getter'):
            setattr(module, name, _converting_getter(getter))


BACKEND_CONFIG_REVERSED_PATTERNS = register_patch(
    CompatPatch(
        name='mmrazor.backend_config_reversed_patterns',
        package='mmrazor',
        defect="mmrazor's backend configs give fusion patterns in torch "
        "1.13's reversed nested tuple format, which torch 2.x reads forward: "
        'Conv+BN+ReLU, Conv+ReLU, Linear+ReLU, add+ReLU never match, nothing '
        'is fused',
        detect=_mmrazor_backend_configs_reversed,
        fix=_convert_mmrazor_backend_configs))


# ---------------------------------------------------------------------------
# 6. fixed_qparams_reset: ``MMArchitectureQuant.__init__`` ends with
# ``reset_observer_and_fakequant_statistics``, which sets the scale of every
# fake-quantize to 1 and its zero point to 0 so that training recomputes them.
# ``FixedQParamsFakeQuantize`` (the outputs of sigmoid, hardsigmoid, tanh,
# softmax) never recomputes them: the fake-quantized model rounds every
# sigmoid output to 0 or 1 for the whole training while the int8 model
# converted from it uses the fixed 1/256; X3D (squeeze-excitation, Swish)
# trains a different model than the one it deploys. The fix keeps them.

_ALGORITHMS = 'mmrazor.models.algorithms'


def _reset_statistics():
    algorithms = importlib.import_module(_ALGORITHMS)
    return algorithms.MMArchitectureQuant.reset_observer_and_fakequant_statistics


def _fixed_qparams_reset() -> bool:
    if not mmrazor_importable():
        return True
    reset = _reset_statistics()
    if getattr(reset, '__qd_compat__', False):
        return False
    holder = nn.Module()
    holder.sigmoid_fake_quant = FixedQParamsFakeQuantize(
        default_fixed_qparams_range_0to1_observer)
    expected = holder.sigmoid_fake_quant.scale.clone()
    reset(None, holder)
    return not torch.equal(holder.sigmoid_fake_quant.scale, expected)


def _keep_fixed_qparams() -> None:
    algorithms = importlib.import_module(_ALGORITHMS)
    quant = algorithms.MMArchitectureQuant
    reset = quant.reset_observer_and_fakequant_statistics

    def reset_observer_and_fakequant_statistics(self, model: nn.Module):
        fixed = [(module, module.scale.clone(), module.zero_point.clone())
                 for module in model.modules()
                 if isinstance(module, FixedQParamsFakeQuantize)]
        reset(self, model)
        for module, scale, zero_point in fixed:
            module.scale.data = scale
            module.zero_point.data = zero_point

    reset_observer_and_fakequant_statistics.__doc__ = reset.__doc__
    reset_observer_and_fakequant_statistics.__qd_compat__ = True
    reset_observer_and_fakequant_statistics.resetting_fixed_qparams = reset
    quant.reset_observer_and_fakequant_statistics = \
        reset_observer_and_fakequant_statistics


FIXED_QPARAMS_RESET = register_patch(
    CompatPatch(
        name='mmrazor.fixed_qparams_reset',
        package='mmrazor',
        defect='MMArchitectureQuant resets every fake-quantize to scale 1 '
        'and zero point 0, also the FixedQParamsFakeQuantize of sigmoid/'
        'tanh/softmax outputs, which never recompute them: QAT rounds '
        'sigmoids to 0 or 1 while the int8 model uses the fixed 1/256',
        detect=_fixed_qparams_reset,
        fix=_keep_fixed_qparams))
