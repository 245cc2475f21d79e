# MMAction2 3D recognizer (Recognizer3D): the graph's input is the
# preprocessed (normalised) clip tensor (N, num_clips, C, T, H, W); its output
# the class scores (N, num_classes) after the head's `average_clip`
# (probabilities for `average_clips='prob'`).
_base_ = ['./onnx_config.py']

# `module`: MMDeploy imports the plugin (MobileNet3D, DriveActDataset, ...).
codebase_config = dict(
    type='mmaction', task='VideoRecognition', module=['qd_plugin'])
