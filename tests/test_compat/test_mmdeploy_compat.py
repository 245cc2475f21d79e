"""MMDeploy export compat (qd_plugin.compat.mmdeploy) on torch 2.13: each defect
upstream alone (a fresh process without qd_plugin, where possible), then
fixed by ``import qd_plugin``."""
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from qd_plugin.compat import mmdeploy as compat

DEPLOY_CFG = dict(
    codebase_config=dict(type='mmaction', task='VideoRecognition'),
    onnx_config=dict(
        type='onnx',
        save_file='end2end.onnx',
        input_names=['input'],
        output_names=['output'],
        opset_version=11),
    backend_config=dict(type='onnxruntime'))

# A plain Conv3d exported with MMDeploy's export API, as torch2onnx does.
EXPORT_CONV3D = textwrap.dedent('''
    import sys
    import torch
    from mmdeploy.apis.onnx import export
    deploy_cfg = dict(backend_config=dict(type='onnxruntime'))
    export(torch.nn.Conv3d(3, 4, 3), torch.randn(1, 3, 4, 8, 8),
           output_path_prefix=sys.argv[1], backend='onnxruntime',
           context_info=dict(deploy_cfg=deploy_cfg), input_names=['input'],
           output_names=['output'], opset_version=11)
    print('EXPORTED')
''')

# A tiny 3D recognizer built from mmaction alone (no qd_plugin), exported at
# batch 1 with a dynamic batch axis, then run at batch 2.
TINY_RECOGNIZER = textwrap.dedent('''
    import torch
    import torch.nn as nn
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules
    register_all_modules(init_default_scope=True)

    @MODELS.register_module(force=True)
    class QdTinyBackbone(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv3d(3, 8, 3, stride=2, padding=1)
        def forward(self, x):
            return torch.relu(self.conv(x))

    def tiny_recognizer():
        torch.manual_seed(0)
        model = MODELS.build(dict(
            type='Recognizer3D', backbone=dict(type='QdTinyBackbone'),
            cls_head=dict(type='I3DHead', in_channels=8, num_classes=5,
                          init_std=1.0, average_clips='prob'),
            data_preprocessor=dict(type='ActionDataPreprocessor',
                                   format_shape='NCTHW')))
        return model.eval()
''')

EXPORT_DYNAMIC_BATCH = TINY_RECOGNIZER + textwrap.dedent('''
    import functools
    import sys
    import onnxruntime as ort
    from mmaction.structures import ActionDataSample
    from mmdeploy.apis.onnx import export
    import mmdeploy.codebase.mmaction.models  # noqa: F401 (its rewriters)
    # Work around the first defect here so that the second one shows.
    torch.onnx.export = functools.partial(torch.onnx.export, dynamo=False)
    deploy_cfg = dict(backend_config=dict(type='onnxruntime'))
    export(tiny_recognizer(), torch.randn(1, 1, 3, 4, 16, 16),
           output_path_prefix=sys.argv[1], backend='onnxruntime',
           input_metas=dict(data_samples=[ActionDataSample()],
                            mode='predict'),
           context_info=dict(deploy_cfg=deploy_cfg), input_names=['input'],
           output_names=['output'], opset_version=11,
           dynamic_axes=dict(input={0: 'batch'}, output={0: 'batch'}))
    session = ort.InferenceSession(sys.argv[1] + '.onnx')
    scores = session.run(None, {'input': torch.randn(2, 1, 3, 4, 16, 16)
                                .numpy()})[0]
    print('OUTPUT SHAPE', tuple(scores.shape))
''')


def run_python(code: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code, *map(str, args)],
                          capture_output=True, text=True)


# ---------------------------------------------------------------------------
# mmdeploy.onnx_export_torchscript
# ---------------------------------------------------------------------------
def test_export_defect_without_the_plugin(tmp_path):
    """Upstream alone: MMDeploy's export hits torch's dynamo exporter."""
    assert compat.onnx_export_defaults_to_dynamo()
    result = run_python(EXPORT_CONV3D, tmp_path / 'conv')
    assert result.returncode != 0
    assert 'EXPORTED' not in result.stdout
    # Without onnxscript: ModuleNotFoundError; with it: KeyError: -1 when
    # MMDeploy's rewriter context exits.
    assert ("No module named 'onnxscript'" in result.stderr
            or 'KeyError: -1' in result.stderr), result.stderr[-2000:]


def test_export_fixed_and_only_inside_mmdeploy(tmp_path):
    from mmdeploy.apis.onnx import export
    patch = compat.ONNX_EXPORT_TORCHSCRIPT
    assert patch.applied and not patch.detect()
    assert patch.apply() is False  # idempotent
    original = torch.onnx.export
    export(nn.Conv3d(3, 4, 3), torch.randn(1, 3, 4, 8, 8),
           output_path_prefix=str(tmp_path / 'conv'), backend='onnxruntime',
           context_info=dict(deploy_cfg=dict(DEPLOY_CFG)),
           input_names=['input'], output_names=['output'], opset_version=11)
    model = onnx.load(str(tmp_path / 'conv.onnx'))
    # The TorchScript exporter honours opset 11 (dynamo would write >= 18).
    assert [o.version for o in model.opset_import if o.domain == ''] == [11]
    assert [n.op_type for n in model.graph.node] == ['Conv']
    # Outside MMDeploy's context torch.onnx.export is untouched.
    assert torch.onnx.export is original
    assert compat.onnx_export_defaults_to_dynamo()


# ---------------------------------------------------------------------------
# mmdeploy.rewriter_fx_wrap_dict
# ---------------------------------------------------------------------------
FX_WRAP_IN_CONTEXT = textwrap.dedent('''
    import torch.fx
    from mmdeploy.core import RewriterContext
    context = RewriterContext(cfg={}, backend='onnxruntime')
    context.enter()
    def qd_probe(x):
        return x
    torch.fx.wrap('qd_probe')
    context.exit()
    print('EXITED')
''')


def test_fx_wrap_defect_without_the_plugin():
    result = run_python(FX_WRAP_IN_CONTEXT)
    assert result.returncode != 0
    assert 'KeyError: -1' in result.stderr, result.stderr[-2000:]


def test_fx_wrap_fixed():
    from mmdeploy.core import RewriterContext
    from torch.fx._symbolic_trace import _wrapped_fns_to_patch
    patch = compat.REWRITER_FX_WRAP_DICT
    assert patch.applied and not patch.detect()
    assert patch.apply() is False
    before = set(_wrapped_fns_to_patch)
    with RewriterContext(cfg={}, backend='onnxruntime'):
        # torch.fx.wrap must be called at a module's top level.
        exec(compile("import torch.fx\ntorch.fx.wrap('qd_probe')",
                     'qd_probe_module', 'exec'), {})
        assert set(_wrapped_fns_to_patch) != before
    assert set(_wrapped_fns_to_patch) == before  # restored, no KeyError


# ---------------------------------------------------------------------------
# mmdeploy.recognizer_dynamic_batch
# ---------------------------------------------------------------------------
def test_dynamic_batch_defect_without_the_plugin(tmp_path):
    """Upstream alone: a batch-1 export run on 2 samples gives 1 prediction."""
    result = run_python(EXPORT_DYNAMIC_BATCH, tmp_path / 'tiny')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'OUTPUT SHAPE (1, 5)' in result.stdout


def test_dynamic_batch_fixed(tmp_path):
    import onnxruntime as ort
    from mmaction.structures import ActionDataSample
    from mmdeploy.apis.onnx import export

    from qd_plugin.deploy import predict_scores
    patch = compat.RECOGNIZER_DYNAMIC_BATCH
    assert patch.applied and not patch.detect()
    assert patch.apply() is False
    namespace: dict = {}
    exec(TINY_RECOGNIZER, namespace)
    model = namespace['tiny_recognizer']()
    export(namespace['tiny_recognizer'](), torch.randn(1, 1, 3, 4, 16, 16),
           output_path_prefix=str(tmp_path / 'tiny'), backend='onnxruntime',
           input_metas=dict(data_samples=[ActionDataSample()],
                            mode='predict'),
           context_info=dict(deploy_cfg=Config(DEPLOY_CFG)),
           input_names=['input'], output_names=['output'], opset_version=11,
           dynamic_axes=dict(input={0: 'batch', 1: 'clips'},
                             output={0: 'batch'}))
    session = ort.InferenceSession(str(tmp_path / 'tiny.onnx'))
    for shape in [(2, 1, 3, 4, 16, 16), (3, 2, 3, 4, 16, 16)]:
        inputs = torch.randn(*shape)
        scores = session.run(None, {'input': inputs.numpy()})[0]
        expected = predict_scores(model, inputs).numpy()
        assert scores.shape == (shape[0], 5)
        np.testing.assert_allclose(scores, expected, atol=1e-5)


@pytest.mark.parametrize('patch', [
    compat.ONNX_EXPORT_TORCHSCRIPT, compat.REWRITER_FX_WRAP_DICT,
    compat.RECOGNIZER_DYNAMIC_BATCH
])
def test_patches_are_listed(patch):
    from qd_plugin.compat import patch_report
    line = next(line for line in patch_report().splitlines()
                if line.startswith(patch.name))
    assert ' applied ' in line
