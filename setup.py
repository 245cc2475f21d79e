import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

#: Folders shipped inside the package as ``qd_plugin/.mim/<folder>``, the way
#: MMAction2 ships ``mmaction/.mim``: the ``qd_plugin::`` configs and the tools
#: of an installed package (``qd_plugin.utils.package_files`` finds them).
MIM_FOLDERS = ('configs', 'tools')


def read_version() -> str:
    namespace: dict = {}
    with open('qd_plugin/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def add_mim_extension() -> None:
    """Copy ``configs/`` and ``tools/`` into ``qd_plugin/.mim`` when a wheel
    or an sdist is built (``pip install .``). An editable install and a
    source checkout use the checkout's own folders, so nothing is copied
    for them."""
    if not {'bdist_wheel', 'sdist'} & set(sys.argv):
        return
    repo_path = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(repo_path, 'qd_plugin', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for folder in MIM_FOLDERS:
        target = osp.join(mim_path, folder)
        if osp.islink(target) or osp.isfile(target):
            os.remove(target)
        elif osp.isdir(target):
            shutil.rmtree(target)
        shutil.copytree(
            osp.join(repo_path, folder),
            target,
            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


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

add_mim_extension()
setup(
    name='qd-plugin',
    version=read_version(),
    description='Quantized distillation of video action recognizers for '
    'in-car driver monitoring, as an MMAction2/MMRazor plugin',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['qd_plugin', 'qd_plugin.*']),
    package_data={
        'qd_plugin': [f'.mim/{folder}/**/*' for folder in MIM_FOLDERS]
    },
    python_requires='>=3.10',
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={
        'console_scripts': ['qd-run-flow = qd_plugin.flow.cli:main']
    },
    license='Apache-2.0',
    license_files=['LICENSE'],
)
