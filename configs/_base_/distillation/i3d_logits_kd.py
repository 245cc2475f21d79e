# Distillation from the Inception I3D teacher's logits, shared by
# configs/kd_mbv3d.py and configs/kd_qat_mbv3d.py. The temperature T and the
# weight beta are the including config's own (top-level, so --cfg-options can
# re-bind them): it adds
#     distill_losses=dict(loss_kl=dict(type='KLDivergence', tau=T,
#                                       reduction='batchmean', loss_weight=beta))
# to `kd_distiller`.

# The model of configs/_base_/models/i3d_inception.py (two bases may not both
# define `model`; tests/test_razor keeps them equal), frozen as a teacher:
# dropout off, since its logits must be those of inference. It runs on the
# student's preprocessed inputs, scaled to [-1, 1] as it expects.
kd_teacher = dict(
    _scope_='mmaction',
    type='Recognizer3D',
    backbone=dict(type='InceptionI3D'),
    cls_head=dict(
        type='I3DHead',
        in_channels=1024,
        num_classes=34,
        spatial_type='avg',
        dropout_ratio=0.,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        format_shape='NCTHW'))

# Both heads' logits are recorded and fed to the loss named `loss_kl`.
kd_distiller = dict(
    type='ConfigurableDistiller',
    student_recorders=dict(
        logits=dict(type='ModuleOutputs', source='cls_head.fc_cls')),
    teacher_recorders=dict(
        logits=dict(type='ModuleOutputs', source='cls_head.fc_cls')),
    loss_forward_mappings=dict(
        loss_kl=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'))))
