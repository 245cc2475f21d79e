# ONNX Runtime, static input 1x1x3x16x224x224 (N, num_clips, C, T, H, W).
_base_ = [
    './_base_/video-recognition_3d.py', './_base_/backends/onnxruntime.py'
]

onnx_config = dict(input_shape=[224, 224])

# The shape the model is exported at (MMDeploy's `model_inputs` layout, read by
# tools/deploy.py for every backend): one clip of 16 frames of 224x224.
backend_config = dict(
    model_inputs=[dict(opt_shapes=dict(input=[1, 1, 3, 16, 224, 224]))])
