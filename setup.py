from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    with open('qd_plugin/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


# Versions that install and work together on Python 3.11 with torch 2.13
# (see README "Dependencies"). torch is pinned exactly: any other version pulls
# several GB of CUDA packages. mmrazor imports joblib without declaring it.
INSTALL_REQUIRES = [
    'torch==2.13.0',
    'mmengine==0.10.7',
    'mmcv-lite==2.0.1',
    'mmaction2==1.1.0',
    'mmrazor==1.0.0',
    'joblib',
    'decord==0.6.0',
    'matplotlib',
]

EXTRAS_REQUIRE = {
    # mmdeploy pins protobuf<=3.20.2, which these onnx/onnxruntime accept;
    # onnxruntime.quantization imports ml_dtypes without declaring it.
    'deploy': [
        'mmdeploy==1.3.1',
        'onnx==1.17.0',
        'onnxruntime==1.26.0',
        'openvino==2026.4.1',
        'ml_dtypes',
    ],
    'tests': ['pytest'],
}

setup(
    name='qd-plugin',
    version=read_version(),
    description='Quantized distillation of video action recognizers for '
    'in-car driver monitoring, as an MMAction2/MMRazor plugin',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['qd_plugin', 'qd_plugin.*']),
    python_requires='>=3.10',
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    license='Apache-2.0',
)
