# Dynamic variant: batch, clips per sample, frames, height and width are
# dynamic; the 3 channels are not. The batch axis is dynamic only with
# qd_plugin's compat patch `mmdeploy.recognizer_dynamic_batch`: MMDeploy 1.3.1
# bakes the export batch into the graph (a graph exported at batch 1 and run on
# N samples returns ONE prediction, the average of the N).
_base_ = ['./video-recognition_3d.py']

onnx_config = dict(
    dynamic_axes=dict(
        input={
            0: 'batch',
            1: 'num_clips',
            3: 'time',
            4: 'height',
            5: 'width'
        },
        output={0: 'batch'}))
