"""MMDeploy SDK meta files of an exported recognizer."""
import copy
import json
import os.path as osp
from typing import List, Optional

from mmengine.config import Config

from .deploy_config import SDK_FILES


def write_sdk_files(deploy_cfg: Config,
                    model_cfg: Config,
                    work_dir: str,
                    checkpoint: Optional[str],
                    device: str = 'cpu',
                    precision: Optional[str] = None) -> List[str]:
    """MMDeploy SDK meta files (deploy.json, pipeline.json, detail.json).

    The SDK's preprocessing is derived from ``model_cfg.test_pipeline``; it is
    set to the test dataloader's pipeline (the one parity was checked on).

    Args:
        deploy_cfg (Config): The deploy config the model was exported with.
        model_cfg (Config): The recognizer's config.
        work_dir (str): The deploy folder.
        checkpoint (str, optional): The weights (recorded in detail.json).
        device (str): Recorded device.
        precision (str, optional): Overrides every model's ``precision`` in
            deploy.json (e.g. ``'INT8'``; MMDeploy writes ``'FP32'``).

    Returns:
        list[str]: The three paths.
    """
    from mmdeploy.backend.sdk.export_info import export2SDK
    model_cfg = copy.deepcopy(model_cfg)
    model_cfg.test_pipeline = copy.deepcopy(
        model_cfg.test_dataloader.dataset.pipeline)
    export2SDK(deploy_cfg, model_cfg, work_dir, pth=checkpoint or '',
               device=device)
    if precision is not None:
        deploy_json = osp.join(work_dir, 'deploy.json')
        with open(deploy_json) as f:
            info = json.load(f)
        for model_info in info['models']:
            model_info['precision'] = precision
        with open(deploy_json, 'w') as f:
            json.dump(info, f, indent=4)
    return [osp.join(work_dir, name) for name in SDK_FILES]
