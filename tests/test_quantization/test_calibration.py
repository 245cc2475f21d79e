"""convert_to_int8 and export_qdq_onnx refuse graphs whose observers never
saw data, instead of deploying MMRazor's initial scale 1."""
import sys

import pytest
import torch
from mmaction.structures import ActionDataSample
from mmrazor.registry import MODELS
from torch.ao.quantization import FakeQuantizeBase, disable_observer

from conftest import REPO_ROOT
from qd_plugin.deploy.qdq import export_qdq_onnx
from qd_plugin.quantization import convert_to_int8
from qd_plugin.quantization.calibration import (UncalibratedModelError,
                                                uncalibrated_fake_quants)

sys.path.insert(0, str(REPO_ROOT / 'tests' / 'test_razor'))
from test_qat import clips, qat_model_cfg  # noqa: E402


@pytest.fixture
def fresh_qat():
    torch.manual_seed(0)
    return MODELS.build(qat_model_cfg())


def unit_scales(graph) -> bool:
    return all(
        float(module.scale.flatten()[0]) == 1.0
        for module in graph.modules() if isinstance(module, FakeQuantizeBase)
        and type(module).__name__ != 'FixedQParamsFakeQuantize')


def test_a_fresh_model_is_refused(fresh_qat, tmp_path):
    graph = fresh_qat.qmodels['tensor']
    assert unit_scales(graph)
    assert uncalibrated_fake_quants(graph)
    with pytest.raises(UncalibratedModelError,
                       match="'tensor' graph has .* fake-quantizes whose "
                       'observers never saw data'):
        convert_to_int8(fresh_qat)
    with pytest.raises(UncalibratedModelError, match='sync_qparams'):
        export_qdq_onnx(fresh_qat, clips(1), str(tmp_path / 'qdq.onnx'))
    assert not (tmp_path / 'qdq.onnx').exists()


def test_training_without_sync_is_refused_then_synced_deploys(
        fresh_qat, tmp_path):
    """The trap: training updates the 'loss' graph only."""
    model = fresh_qat.train()
    samples = [ActionDataSample().set_gt_labels(i % 3) for i in range(4)]
    with torch.no_grad():
        model(clips(4), samples, 'loss')
    assert not uncalibrated_fake_quants(model.qmodels['loss'])
    model.eval()
    model.apply(disable_observer)
    with pytest.raises(UncalibratedModelError):
        convert_to_int8(model)
    with pytest.raises(UncalibratedModelError):
        export_qdq_onnx(model, clips(1), str(tmp_path / 'qdq.onnx'))

    model.sync_qparams('loss')  # what QATEpochBasedLoop does every epoch
    assert not uncalibrated_fake_quants(model.qmodels['tensor'])
    assert not unit_scales(model.qmodels['tensor'])
    convert_to_int8(model)
    export_qdq_onnx(model, clips(1), str(tmp_path / 'qdq.onnx'))
    assert (tmp_path / 'qdq.onnx').is_file()
