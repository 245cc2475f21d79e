"""QAT of MMAction2's own recognizers, from their stock configs: prepare, one
QAT training step, int8 conversion, QDQ export, int8 vs fake-quant.

Random weights (BN given trained-like statistics) and tiny clips; each model
is prepared and trained once per module (``qat_run``).
"""
from typing import Dict

import mmrazor.engine  # noqa: F401  (registers the QAT loops)
import mmrazor.models  # noqa: F401
import numpy as np
import onnx
import pytest
import torch
import torch.ao.nn.intrinsic.quantized as nniq
import torch.ao.nn.quantized as nnq
import torch.nn as nn
from mmcv.cnn.bricks import wrappers
from mmaction.models.backbones.resnet_tsm import TemporalShift
from mmengine.optim import OptimWrapper
from mmrazor.registry import MODELS
from torch.ao.quantization import FakeQuantizeBase, disable_observer
from torch.nn.modules.batchnorm import _BatchNorm
from stock_models import (STOCK_MODELS, clips, data_batch, input_shape,
                          stock_model_cfg, trained_like)

from conftest import x86_qat_qconfig
from qd_plugin.deploy.parity import check_agreement
from qd_plugin.deploy.qdq import export_qdq_onnx
from qd_plugin.deploy.runtimes import average_clip_scores
from qd_plugin.models.heads import TraceableHeadMixin
from qd_plugin.models.recognizers import TraceableRecognizerMixin
from qd_plugin.quantization import convert_to_int8, quantized_engine
from qd_plugin.quantization.float_report import float_operations

QCONFIG = x86_qat_qconfig()

#: The operations each int8 model leaves in float. The test fails if one
#: grows: a new float island is a regression (or needs a pattern).
FLOAT_OPERATIONS = {name: [] for name in STOCK_MODELS}

#: Int8 rounding noise accepted on log probabilities (the deploy default).
ATOL = 0.4

INT8_LAYERS = (nniq.ConvReLU2d, nniq.ConvReLU3d, nnq.Conv2d, nnq.Conv3d,
               nnq.Linear, nniq.LinearReLU)


def build_qat(name: str, **kwargs) -> nn.Module:
    return MODELS.build(
        dict(
            type='mmrazor.StrictMMArchitectureQuant',
            architecture=stock_model_cfg(name),
            input_shapes=input_shape(name),
            quantizer=dict(
                type='mmrazor.TorchNativeQuantizer', global_qconfig=QCONFIG),
            **kwargs))


@pytest.fixture(scope='module', params=sorted(STOCK_MODELS))
def qat_run(request, tmp_path_factory) -> Dict:
    """A stock model prepared for QAT, trained one step as QATEpochBasedLoop
    does (and its qparams synced to the other graphs), converted to int8
    and exported as QDQ ONNX.

    The graphs of the training and tensor modes only (the predict graph is
    built the same way; it only takes time here).
    """
    name = request.param
    torch.manual_seed(0)
    model = build_qat(name, forward_modes=('tensor', 'loss'))
    trained_like(model.architecture, name)
    before = {k: v.clone() for k, v in model.architecture.state_dict().items()}
    model.train()
    # The optimizer of the QAT configs (configs/_base_/schedules/sgd_200e.py
    # at QAT's learning rate), gradients clipped: R(2+1)D's BNs see a few
    # values per channel in the last stages of tiny clips, and unclipped,
    # one step takes their weights to 1e5 and the next forward to NaN.
    optim_wrapper = OptimWrapper(
        torch.optim.SGD(
            model.parameters(), lr=0.005, momentum=0.9, weight_decay=1e-5),
        clip_grad=dict(max_norm=40, norm_type=2))
    losses = model.train_step(data_batch(name), optim_wrapper)
    model.sync_qparams('loss')
    model.eval()
    # The weight ranges follow the weights the step changed (a training
    # forward would update them next); then observers off, as deployed.
    with torch.no_grad():
        model(clips(name, 2, seed=5), None, 'tensor')
    model.apply(disable_observer)
    int8_model = convert_to_int8(model)
    onnx_path = str(tmp_path_factory.mktemp(name) / f'{name}.onnx')
    export_qdq_onnx(model, clips(name, 1), onnx_path)
    return dict(name=name, model=model, losses=losses, before=before,
                int8=int8_model, onnx=onnx_path)


def test_prepared_from_the_stock_config(qat_run):
    model = qat_run['model']
    architecture = model.architecture
    assert isinstance(architecture, TraceableRecognizerMixin)
    assert isinstance(architecture.cls_head, TraceableHeadMixin)
    untraceable = (tuple(wrappers.__dict__[n] for n in (
        'Conv2d', 'Conv3d', 'Linear', 'MaxPool2d', 'MaxPool3d')),
                   nn.SyncBatchNorm, TemporalShift)
    for module in architecture.modules():
        assert type(module) not in untraceable[0], type(module)
        assert not isinstance(module, nn.SyncBatchNorm)
        assert type(module) is not TemporalShift
    # The float model's state-dict keys are the stock model's.
    stock = MODELS.build(stock_model_cfg(qat_run['name']))
    assert list(architecture.state_dict()) == list(stock.state_dict())
    # Every batch norm is fused into its convolution, in every graph.
    for mode, graph in model.qmodels.items():
        for node in graph.graph.nodes:
            if node.op == 'call_module':
                assert not isinstance(
                    graph.get_submodule(node.target), _BatchNorm), (
                        mode, node.target)


def test_one_qat_step_trains_the_float_weights(qat_run):
    losses = qat_run['losses']
    assert 'loss_cls' in losses and torch.isfinite(losses['loss_cls'])
    after = qat_run['model'].architecture.state_dict()
    changed = [
        key for key, value in qat_run['before'].items()
        if value.is_floating_point() and not torch.equal(value, after[key])
    ]
    assert any(key.endswith('weight') and 'backbone' in key
               for key in changed)
    # The synced tensor graph has the trained graph's ranges, not scale 1.
    scales = [
        float(m.scale.flatten()[0])
        for m in qat_run['model'].qmodels['tensor'].modules()
        if isinstance(m, FakeQuantizeBase)
    ]
    assert scales and all(scale != 1.0 for scale in scales)


def test_int8_layers_compute_their_fake_quant_twins(qat_run):
    """Every convolution and linear layer is int8, and given the same
    quantized input it computes the fake-quant layer within one step.

    Checked on PyTorch's oneDNN engine: the x86 engine runs some depthwise
    convolutions with fbgemm kernels that add pairs of uint8 x int8
    products in int16 and saturate (seen here on X3D-S and
    TSM-MobileNetV2, whose per-channel weights reach +-127 and activations
    255); oneDNN accumulates in int32. The x86 model's scores are checked
    end to end (``test_int8_scores_agree_with_fake_quant``).
    """
    model = qat_run['model']
    with quantized_engine('onednn'):
        int8_model = convert_to_int8(model, engine='onednn')
        _check_layers(qat_run, int8_model)


def _check_layers(qat_run, int8_model):
    model = qat_run['model']
    graph = model.qmodels['tensor']
    float_layers = {
        name
        for name, module in model.architecture.named_modules()
        if type(module) in (nn.Conv2d, nn.Conv3d, nn.Linear)
    }
    int8_layers = {
        node.target
        for node in int8_model.graph.nodes if node.op == 'call_module'
        and isinstance(int8_model.get_submodule(node.target), INT8_LAYERS)
    }
    assert int8_layers == float_layers

    nodes = {n.target: n for n in graph.graph.nodes if n.op == 'call_module'}

    def fake_quant_before(node):
        while not (node.op == 'call_module' and isinstance(
                graph.get_submodule(node.target), FakeQuantizeBase)):
            node = node.args[0]
        return graph.get_submodule(node.target)

    captured = {}
    hooks = [
        graph.get_submodule(name).register_forward_hook(
            lambda module, args, out, name=name: captured.update(
                {name: (args[0], out)})) for name in int8_layers
    ]
    with torch.no_grad():
        graph(clips(qat_run['name'], 2, seed=3))
    for hook in hooks:
        hook.remove()
    checked = 0
    for name in int8_layers:
        users = list(nodes[name].users)
        output_fake_quant = graph.get_submodule(users[0].target)
        if len(users) != 1 or not isinstance(output_fake_quant,
                                             FakeQuantizeBase):
            continue  # the output is re-quantized after another op
        input_fake_quant = fake_quant_before(nodes[name].args[0])
        inputs, outputs = captured[name]
        step = float(output_fake_quant.scale)
        int8_inputs = torch.quantize_per_tensor(
            inputs, float(input_fake_quant.scale),
            int(input_fake_quant.zero_point), torch.quint8)
        with torch.no_grad():
            got = int8_model.get_submodule(name)(int8_inputs).dequantize()
            expected = output_fake_quant(outputs)
        assert (got - expected).abs().max() <= step * 1.001, name
        checked += 1
    assert checked >= len(int8_layers) // 2


def test_int8_model_leaves_nothing_in_float(qat_run):
    float_ops = float_operations(qat_run['int8'], clips(qat_run['name'], 1))
    assert float_ops == FLOAT_OPERATIONS[qat_run['name']]


def fake_quant_scores(model, inputs) -> np.ndarray:
    with torch.no_grad():
        logits = model.qmodels['tensor'](inputs)
    return average_clip_scores(model.architecture.cls_head, logits,
                               inputs.shape[0]).numpy()


def test_int8_scores_agree_with_fake_quant(qat_run):
    model, name = qat_run['model'], qat_run['name']
    inputs = clips(name, 8, seed=7)
    with torch.no_grad():
        int8_scores = average_clip_scores(model.architecture.cls_head,
                                          qat_run['int8'](inputs), 8).numpy()
    parity = check_agreement('int8', fake_quant_scores(model, inputs),
                             int8_scores, 1.0, ATOL, True, 'fake-quant')
    assert parity.max_abs_diff <= ATOL


def test_qdq_export_is_int8_and_agrees_with_fake_quant(qat_run):
    import onnxruntime as ort
    model, name = qat_run['model'], qat_run['name']
    graph = onnx.load(qat_run['onnx']).graph
    ops = [node.op_type for node in graph.node]
    weighted = [n for n in graph.node if n.op_type in ('Conv', 'Gemm',
                                                       'MatMul')]
    num_layers = sum(
        type(m) in (nn.Conv2d, nn.Conv3d, nn.Linear)
        for m in model.architecture.modules())
    assert len(weighted) == num_layers
    int8_weights = {
        t.name
        for t in graph.initializer if t.data_type == onnx.TensorProto.INT8
    }
    assert len(int8_weights) >= num_layers
    assert ops.count('QuantizeLinear') > 0
    session = ort.InferenceSession(
        qat_run['onnx'], providers=['CPUExecutionProvider'])
    inputs = clips(name, 1, seed=11)
    (onnx_scores, ) = session.run(None, {'input': inputs.numpy()})
    check_agreement('ONNX Runtime', fake_quant_scores(model, inputs),
                    onnx_scores, 1.0, ATOL, True, 'fake-quant')
