from .config import ConfigError, load_config, validate_config
from .config_scope import register_config_scope
from .package_files import (config_path, package_file, package_files_root,
                            tool_path)

__all__ = [
    'ConfigError', 'config_path', 'load_config', 'package_file',
    'package_files_root', 'register_config_scope', 'tool_path',
    'validate_config'
]
