"""Making MMAction2's recognizers traceable: module swaps, the traceable
temporal shift, recognizer and head twins, the config rewrite."""
import copy

import pytest
import torch
import torch.nn as nn
from mmaction.models.backbones.resnet_tsm import TemporalShift
from mmaction.registry import MODELS
from mmcv.cnn.bricks import wrappers
from mmengine.model.utils import _BatchNormXd
from mmengine.utils.dl_utils.parrots_wrapper import SyncBatchNorm
from stock_models import NUM_CLASSES, data_batch, stock_model_cfg

from qd_plugin.models.common import TraceableTemporalShift
from qd_plugin.models.heads import (TraceableHeadMixin, TraceableSlowFastHead,
                                    TraceableTSMHead, TraceableTSNHead,
                                    TraceableX3DHead)
from qd_plugin.models.recognizers import TraceableRecognizer2D
from qd_plugin.quantization.adapters import (swap_untraceable_modules,
                                             traceable_recognizer,
                                             traceable_recognizer_cfg,
                                             with_head_skipped_methods)


# --- module swaps ----------------------------------------------------------
class Block(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.conv = wrappers.Conv3d(4, 8, 3, padding=1, bias=False)
        self.bn = SyncBatchNorm(8)
        self.norm = _BatchNormXd(8)
        self.pool = wrappers.MaxPool3d(2)
        self.fc = wrappers.Linear(8, 3)

    def forward(self, x):
        x = self.pool(self.norm(self.bn(self.conv(x))))
        return self.fc(x.mean((2, 3, 4)))


def test_swaps_keep_parameters_statistics_and_outputs():
    torch.manual_seed(0)
    block = Block()
    block.bn.running_mean.uniform_(-1, 1)
    block.bn.running_var.uniform_(0.5, 2)
    block.eval()
    x = torch.randn(2, 4, 4, 8, 8)
    with torch.no_grad():
        expected = block(x)
    state = copy.deepcopy(block.state_dict())
    weight = block.conv.weight
    swapped = swap_untraceable_modules(block, batch_norm_dims=3)
    assert swapped == {
        'conv': 'Conv3d -> Conv3d',
        'pool': 'MaxPool3d -> MaxPool3d',
        'fc': 'Linear -> Linear',
        'bn': 'SyncBatchNorm -> BatchNorm3d',
        'norm': '_BatchNormXd -> BatchNorm3d',
    }
    assert type(block.conv) is nn.Conv3d and block.conv.weight is weight
    assert type(block.pool) is nn.MaxPool3d and type(block.fc) is nn.Linear
    assert type(block.bn) is nn.BatchNorm3d
    assert type(block.norm) is nn.BatchNorm3d and not block.bn.training
    assert list(block.state_dict()) == list(state)
    for key, value in block.state_dict().items():
        assert torch.equal(value, state[key]), key
    with torch.no_grad():
        torch.testing.assert_close(block(x), expected)
    assert swap_untraceable_modules(block, 3) == {}  # nothing left


def test_swaps_need_valid_batch_norm_dims():
    with pytest.raises(ValueError, match='batch_norm_dims must be 1, 2 or 3'):
        swap_untraceable_modules(Block(), batch_norm_dims=5)


# --- temporal shift --------------------------------------------------------
def test_traceable_temporal_shift_equals_temporal_shift():
    torch.manual_seed(0)
    net = nn.Conv2d(16, 4, 1)
    shift = TemporalShift(net, num_segments=4, shift_div=4)
    traceable = TraceableTemporalShift.from_temporal_shift(shift)
    assert traceable.net is net and traceable.fold == 4
    assert list(traceable.state_dict()) == list(shift.state_dict())
    x = torch.randn(2 * 4, 16, 3, 3)
    expected = TemporalShift.shift(x, 4, shift_div=4)
    captured = {}
    net.register_forward_pre_hook(lambda m, args: captured.update(x=args[0]))
    traceable(x)
    assert torch.equal(captured['x'], expected)
    torch.testing.assert_close(traceable(x), shift(x))
    # and it traces
    graph = torch.fx.symbolic_trace(traceable)
    torch.testing.assert_close(graph(x), shift(x))


def test_traceable_temporal_shift_needs_a_convolution():
    with pytest.raises(ValueError, match='needs a net with a convolution'):
        TraceableTemporalShift(nn.ReLU(), 4, 4)


# --- heads -------------------------------------------------------------------
HEADS = {
    'X3DHead': (TraceableX3DHead, dict(in_channels=16), (4, 16, 2, 3, 3),
                {}),
    'SlowFastHead': (TraceableSlowFastHead, dict(in_channels=20),
                     ((4, 16, 2, 3, 3), (4, 4, 8, 3, 3)), {}),
    'TSNHead': (TraceableTSNHead,
                dict(in_channels=16, consensus=dict(type='AvgConsensus',
                                                    dim=1)), (4 * 3, 16, 3,
                                                              3),
                dict(num_segs=3)),
    'TSMHead': (TraceableTSMHead, dict(in_channels=16, num_segments=3),
                (4 * 3, 16, 3, 3), dict(num_segs=3)),
}


@pytest.mark.parametrize('head_type', sorted(HEADS))
def test_traceable_heads_compute_what_the_stock_heads_do(head_type):
    traceable_class, kwargs, shape, forward_kwargs = HEADS[head_type]
    torch.manual_seed(0)
    stock = MODELS.build(
        dict(type=head_type, num_classes=NUM_CLASSES, **kwargs)).eval()
    stock.init_weights()
    traceable = traceable_class(num_classes=NUM_CLASSES, **kwargs).eval()
    assert isinstance(traceable, TraceableHeadMixin)
    assert isinstance(traceable, type(stock))
    traceable.load_state_dict(stock.state_dict())
    assert list(traceable.state_dict()) == list(stock.state_dict())
    feats = tuple(torch.randn(s) for s in shape) if isinstance(
        shape[0], tuple) else torch.randn(shape)
    samples = data_batch('x3d-s', 4)['data_samples']
    with torch.no_grad():
        torch.testing.assert_close(
            traceable(feats, **forward_kwargs), stock(feats, **forward_kwargs))
        losses = traceable.loss(feats, samples, **forward_kwargs)
        expected = stock.loss(feats, samples, **forward_kwargs)
    assert set(losses) == set(expected)
    torch.testing.assert_close(losses['loss_cls'], expected['loss_cls'])


# --- recognizers -------------------------------------------------------------
def test_traceable_recognizer2d_predicts_like_recognizer2d():
    torch.manual_seed(0)
    cfg = stock_model_cfg('tsn-r50')
    stock = MODELS.build(cfg).eval()
    traceable = MODELS.build(traceable_recognizer_cfg(cfg)).eval()
    assert type(traceable) is TraceableRecognizer2D
    traceable.load_state_dict(stock.state_dict())
    data = stock.data_preprocessor(data_batch('tsn-r50'), False)
    with torch.no_grad():
        expected = stock(**copy.deepcopy(data), mode='predict')
        predicted = traceable(**copy.deepcopy(data), mode='predict')
        expected_loss = stock(**copy.deepcopy(data), mode='loss')
        loss = traceable(**copy.deepcopy(data), mode='loss')
        logits = traceable(data['inputs'], mode='tensor')
    for want, got in zip(expected, predicted):
        torch.testing.assert_close(got.pred_scores.item, want.pred_scores.item)
    torch.testing.assert_close(loss['loss_cls'], expected_loss['loss_cls'])
    assert logits.shape == (2, NUM_CLASSES)


def test_config_rewrite_maps_types_and_keeps_the_rest():
    cfg = stock_model_cfg('x3d-s')
    cfg.type = 'mmaction.Recognizer3D'
    rewritten = traceable_recognizer_cfg(cfg)
    assert rewritten.type == 'TraceableRecognizer3D'
    assert rewritten.cls_head.type == 'TraceableX3DHead'
    assert rewritten._scope_ == 'mmaction'
    assert rewritten.backbone == cfg.backbone
    assert cfg.type == 'mmaction.Recognizer3D'  # not changed in place
    # Already traceable: unchanged; classes are accepted too.
    assert traceable_recognizer_cfg(rewritten).type == 'TraceableRecognizer3D'
    from mmaction.models.recognizers import Recognizer2D
    tsm = stock_model_cfg('tsm-mobilenetv2')
    tsm.type = Recognizer2D
    assert traceable_recognizer_cfg(tsm).type == 'TraceableRecognizer2D'


def test_unsupported_types_are_named():
    cfg = stock_model_cfg('x3d-s')
    cfg.cls_head.type = 'TPNHead'
    with pytest.raises(ValueError, match="head type 'TPNHead'"):
        traceable_recognizer_cfg(cfg)
    cfg = stock_model_cfg('x3d-s')
    cfg.type = 'RecognizerAudio'
    with pytest.raises(ValueError, match="recognizer type 'RecognizerAudio'"):
        traceable_recognizer_cfg(cfg)
    cfg = stock_model_cfg('x3d-s')
    cfg.cls_head = None
    with pytest.raises(ValueError, match='needs a cls_head'):
        traceable_recognizer_cfg(cfg)


def test_a_built_stock_recognizer_is_refused():
    stock = MODELS.build(stock_model_cfg('x3d-s'))
    with pytest.raises(TypeError, match='pass the config of the Recognizer3D'):
        traceable_recognizer(stock)


def test_tracer_skips_the_head_methods_after_the_configs_own():
    own = 'qd_plugin.models.heads.TraceableI3DHead.loss_by_feat'
    quantizer = dict(
        type='mmrazor.TorchNativeQuantizer',
        tracer=dict(type='mmrazor.CustomTracer', skipped_methods=[own]))
    updated = with_head_skipped_methods(quantizer)
    assert updated['tracer']['skipped_methods'] == [
        own, *TraceableHeadMixin.SKIPPED_METHODS
    ]
    assert quantizer['tracer']['skipped_methods'] == [own]
    default = with_head_skipped_methods(dict(type='mmrazor.OpenVINOQuantizer'))
    assert default['tracer']['skipped_methods'] == list(
        TraceableHeadMixin.SKIPPED_METHODS)
    other = dict(type='X', tracer=dict(type='mmrazor.FxTracer'))
    assert with_head_skipped_methods(other) == other
