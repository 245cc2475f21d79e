# OpenVINO; dynamic N, num_clips, T, H, W (C = 3 fixed). See
# _base_/video-recognition_3d_dynamic.py for what is dynamic and why.
_base_ = [
    './_base_/video-recognition_3d_dynamic.py', './_base_/backends/openvino.py'
]

# The shape the model is exported at (MMDeploy's `model_inputs` layout, read by
# tools/deploy.py for every backend): one clip of 16 frames of 224x224.
backend_config = dict(
    model_inputs=[dict(opt_shapes=dict(input=[1, 1, 3, 16, 224, 224]))])
