"""MMRazor 1.0.0 on torch 2.x: each compat patch's defect and fix, then QAT.

Every defect is shown in a fresh interpreter that cannot import qd_plugin;
every fix is checked in this process, where ``import qd_plugin`` applied it.
"""
import copy
import json
import subprocess
import sys
import textwrap
from typing import Iterator

import pytest
import torch
import torch.ao.nn.intrinsic as nni
import torch.ao.nn.intrinsic.qat as nniqat
import torch.ao.nn.intrinsic.quantized as nniq
import torch.ao.nn.qat as nnqat
import torch.ao.nn.quantized as nnq
import torch.nn as nn

import qd_plugin  # noqa: F401  (applies the compat patches)
from conftest import x86_qat_qconfig
from qd_plugin.compat import apply_patches
from qd_plugin.compat.mmrazor_fx import (BACKEND_CONFIG_REVERSED_PATTERNS,
                                         BACKEND_CONFIG_UTILS_IMPORT,
                                         BACKEND_PATTERN_CONFIG_LEGACY_SETTERS,
                                         FUSE_FX_GRAPH_MODULE_KWARG,
                                         FUSER_METHOD_ALIASES)

MMRAZOR_PATCHES = (FUSER_METHOD_ALIASES, BACKEND_CONFIG_UTILS_IMPORT,
                   BACKEND_PATTERN_CONFIG_LEGACY_SETTERS,
                   FUSE_FX_GRAPH_MODULE_KWARG,
                   BACKEND_CONFIG_REVERSED_PATTERNS)

X86_QAT_QCONFIG = x86_qat_qconfig()

# Stand-ins for the torch-side patches, so the subprocess gets as far as
# mmrazor's backend configs without qd_plugin.
TORCH_SIDE_STOPGAPS = '''
import torch.ao.quantization.backend_config.utils
import torch.ao.quantization.fuser_method_mappings as mappings
from torch.ao.quantization.backend_config import BackendPatternConfig
mappings.reverse2, mappings.reverse3 = mappings._reverse2, mappings._reverse3
mappings.reverse_sequential_wrapper2 = (
    lambda seq: mappings._reverse2(mappings._sequential_wrapper2(seq)))
for setter in ('_set_overwrite_output_fake_quantize',
               '_set_overwrite_output_observer', '_set_input_output_observed'):
    setattr(BackendPatternConfig, setter, lambda self, *args: self)
'''


def run_without_plugin(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter in which qd_plugin cannot load."""
    block_plugin = 'import sys\nsys.modules["qd_plugin"] = None\n'
    return subprocess.run(
        [sys.executable, '-c', block_plugin + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120)


def conv_bn_relu_3d() -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(3, 8, 3), nn.BatchNorm3d(8), nn.ReLU())


class TinyVideoNet(nn.Module):
    """Conv3d-BN-ReLU, depthwise Conv3d-BN-ReLU, global pool and a classifier.
    """

    def __init__(self, num_classes: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm3d(8)
        self.relu1 = nn.ReLU()
        self.depthwise = nn.Conv3d(8, 8, 3, padding=1, groups=8, bias=False)
        self.bn2 = nn.BatchNorm3d(8)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.depthwise(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def build_x86_quantizer(example_input: torch.Tensor):
    from mmrazor.models.quantizers import TorchNativeQuantizer
    quantizer = TorchNativeQuantizer(
        global_qconfig=X86_QAT_QCONFIG,
        tracer=dict(type='mmrazor.CustomTracer'))
    quantizer.example_inputs = (example_input, )
    return quantizer


@pytest.fixture
def x86_engine() -> Iterator[None]:
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = 'x86'
    yield
    torch.backends.quantized.engine = previous


@pytest.mark.parametrize('patch', MMRAZOR_PATCHES, ids=lambda p: p.name)
def test_patch_applied_once_and_idempotent(patch):
    assert patch.applied
    assert not patch.detect()
    assert patch.apply() is False
    assert apply_patches(['mmrazor']) == []


# --- mmrazor.fuser_method_aliases ------------------------------------------
def test_fuser_method_aliases_defect():
    result = run_without_plugin('''
        import torch.ao.quantization.fuser_method_mappings as mappings
        print(sorted(name for name in ('reverse2', 'reverse3',
                                       'reverse_sequential_wrapper2')
                     if not hasattr(mappings, name)))
        import mmrazor.models
    ''')
    assert result.returncode != 0
    assert "['reverse2', 'reverse3', 'reverse_sequential_wrapper2']" \
        in result.stdout
    assert '`torch>=1.13` is not installed properly' in result.stderr


def test_fuser_method_aliases_fixed():
    import mmrazor.models  # noqa: F401
    from torch.ao.quantization.fuser_method_mappings import (
        fuse_conv_bn_relu, reverse3, reverse_sequential_wrapper2)
    conv, bn, relu = conv_bn_relu_3d().train()
    # torch 1.13 semantics: modules arrive in reversed nested tuple order.
    conv_relu = reverse_sequential_wrapper2(nni.ConvReLU3d)(False, relu, conv)
    assert isinstance(conv_relu, nni.ConvReLU3d) and conv_relu[0] is conv
    conv_bn_relu = reverse3(fuse_conv_bn_relu)(True, relu, (bn, conv))
    assert isinstance(conv_bn_relu, nni.ConvBnReLU3d)


# --- mmrazor.backend_config_utils_import -----------------------------------
def test_backend_config_utils_import_defect():
    result = run_without_plugin('''
        import torch.nn as nn
        from torch.ao.quantization.backend_config import (
            BackendConfig, BackendPatternConfig)
        BackendConfig().set_backend_pattern_config(
            BackendPatternConfig(nn.Conv3d))
    ''')
    assert result.returncode != 0
    assert "module 'torch.ao.quantization.backend_config' has no " \
        "attribute 'utils'" in result.stderr


def test_backend_config_utils_import_fixed():
    from torch.ao.quantization.backend_config import (BackendConfig,
                                                      BackendPatternConfig)
    config = BackendConfig().set_backend_pattern_config(
        BackendPatternConfig(nn.Conv3d))
    assert [c.pattern for c in config.configs] == [nn.Conv3d]


# --- mmrazor.backend_pattern_config_legacy_setters -------------------------
def test_legacy_setters_defect():
    result = run_without_plugin('''
        import torch.nn as nn
        import torch.ao.quantization.backend_config.utils
        from torch.ao.quantization.backend_config import BackendPatternConfig
        BackendPatternConfig(nn.Sigmoid)._set_overwrite_output_observer(None)
    ''')
    assert result.returncode != 0
    assert "'BackendPatternConfig' object has no attribute " \
        "'_set_overwrite_output_observer'" in result.stderr


def test_legacy_setters_fixed_with_torch2_semantics():
    from mmrazor.structures.quantization import BackendConfigs
    from torch.ao.quantization.backend_config import ObservationType
    native = {
        (c._pattern_complex_format or c.pattern): c
        for c in BackendConfigs['native'].configs
    }
    # Fixed-qparams ops: an exact-match constraint instead of a forced
    # observer, as torch 2.x's own native backend config has.
    sigmoid_output = native[nn.Sigmoid].dtype_configs[0] \
        .output_dtype_with_constraints
    assert sigmoid_output.scale_exact_match == 1.0 / 256.0
    assert sigmoid_output.zero_point_exact_match == 0
    tanh_input = native[nn.Tanh].dtype_configs[0].input_dtype_with_constraints
    assert tanh_input.scale_exact_match == 2.0 / 256.0
    assert tanh_input.zero_point_exact_match == 128
    # The dtype configs shared with other ops are left unconstrained.
    conv_output = native[nn.Conv3d].dtype_configs[0] \
        .output_dtype_with_constraints
    assert conv_output.scale_exact_match is None
    assert native[nn.Embedding].observation_type is \
        ObservationType.INPUT_OUTPUT_NOT_OBSERVED

    example = torch.randn(1, 3, 2, 4, 4)
    prepared = build_x86_quantizer(example).prepare(
        nn.Sequential(nn.Conv3d(3, 4, 1), nn.Sigmoid()))
    sigmoid_fake_quant = prepared.activation_post_process_2
    assert type(sigmoid_fake_quant).__name__ == 'FixedQParamsFakeQuantize'
    assert float(sigmoid_fake_quant.scale) == 1.0 / 256.0


# --- mmrazor.fuse_fx_graph_module_kwarg ------------------------------------
def test_fuse_fx_graph_module_kwarg_defect():
    result = run_without_plugin('''
        import torch, torch.nn as nn
        from torch.ao.quantization.quantize_fx import _fuse_fx
        model = nn.Sequential(nn.Conv3d(3, 8, 1), nn.ReLU())
        _fuse_fx(graph_module=torch.fx.symbolic_trace(model), is_qat=True)
    ''')
    assert result.returncode != 0
    assert "got an unexpected keyword argument 'graph_module'" \
        in result.stderr


def test_fuse_fx_graph_module_kwarg_fixed():
    from mmrazor.models.quantizers import native_quantizer
    from mmrazor.structures.quantization import BackendConfigs
    fused = native_quantizer._fuse_fx(
        graph_module=torch.fx.symbolic_trace(conv_bn_relu_3d().train()),
        is_qat=True,
        backend_config=BackendConfigs['native'])
    assert [type(m) for m in fused.children()] == [nni.ConvBnReLU3d]


# --- mmrazor.backend_config_reversed_patterns ------------------------------
def test_backend_config_reversed_patterns_defect():
    result = run_without_plugin(TORCH_SIDE_STOPGAPS + '''
import json, torch, torch.nn as nn
from torch.ao.quantization.quantize_fx import _fuse_fx
from mmrazor.structures.quantization import BackendConfigs
native = BackendConfigs['native']
model = nn.Sequential(nn.Conv3d(3, 8, 3), nn.BatchNorm3d(8), nn.ReLU())
fused = _fuse_fx(torch.fx.symbolic_trace(model.train()), True,
                 backend_config=native)
print(json.dumps(dict(
    tuple_patterns=sum(isinstance(c.pattern, tuple) for c in native.configs),
    fused=[type(m).__name__ for m in fused.children()])))
''')
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state['tuple_patterns'] > 0
    assert state['fused'] == ['Conv3d', 'BatchNorm3d', 'ReLU']  # unfused


def test_backend_config_reversed_patterns_fixed():
    from mmrazor.structures.quantization import (BackendConfigs,
                                                 get_native_backend_config,
                                                 get_openvino_backend_config)
    from torch.ao.quantization.quantize_fx import _fuse_fx
    for backend_config in BackendConfigs.values():
        assert not any(
            isinstance(c.pattern, tuple) for c in backend_config.configs)
    native = BackendConfigs['native']
    assert (nn.ReLU, (nn.BatchNorm3d, nn.Conv3d)) in {
        c._pattern_complex_format
        for c in native.configs
    }
    unconverted = get_native_backend_config.unconverted_getter()
    assert {c.pattern
            for c in unconverted.configs} == {
                c._pattern_complex_format or c.pattern
                for c in native.configs
            }
    assert not any(
        isinstance(c.pattern, tuple)
        for c in get_openvino_backend_config().configs)

    def fuse(*modules: nn.Module) -> list:
        graph = torch.fx.symbolic_trace(nn.Sequential(*modules).train())
        return [
            type(m)
            for m in _fuse_fx(graph, True, backend_config=native).children()
        ]

    assert fuse(*conv_bn_relu_3d()) == [nni.ConvBnReLU3d]
    assert fuse(nn.Conv3d(3, 8, 1), nn.ReLU()) == [nni.ConvReLU3d]
    assert fuse(nn.BatchNorm3d(3), nn.ReLU()) == [nni.BNReLU3d]
    assert fuse(nn.Linear(3, 4), nn.ReLU()) == [nni.LinearReLU]


# --- end to end: mmrazor QAT prepare, train step, int8 convert -------------
def test_qat_prepare_train_and_int8_convert(x86_engine):
    from torch.ao.quantization import disable_observer
    from torch.ao.quantization.quantize_fx import convert_fx
    torch.manual_seed(0)
    clips = torch.randn(2, 3, 4, 8, 8)
    prepared = build_x86_quantizer(clips).prepare(TinyVideoNet())

    assert type(prepared.conv1) is nniqat.ConvBnReLU3d
    assert type(prepared.depthwise) is nniqat.ConvBnReLU3d
    assert prepared.depthwise.groups == 8
    assert type(prepared.fc) is nnqat.Linear
    assert prepared.conv1.weight_fake_quant.qscheme == \
        torch.per_channel_symmetric

    optimizer = torch.optim.SGD(prepared.parameters(), lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        prepared(clips).square().mean().backward()
        assert prepared.conv1.weight.grad.abs().sum() > 0
        optimizer.step()

    prepared.eval()
    prepared.apply(disable_observer)
    with torch.no_grad():
        fake_quant_logits = prepared(clips)
    output_scale = float(prepared.activation_post_process_5.scale)

    int8_model = convert_fx(copy.deepcopy(prepared))
    assert type(int8_model.conv1) is nniq.ConvReLU3d
    assert type(int8_model.depthwise) is nniq.ConvReLU3d
    assert type(int8_model.fc) is nnq.Linear
    with torch.no_grad():
        int8_logits = int8_model(clips)
    assert (int8_logits - fake_quant_logits).abs().max() <= 2 * output_scale
