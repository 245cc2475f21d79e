from .algorithms import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .common import *  # noqa: F401,F403
from .distillers import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .recognizers import *  # noqa: F401,F403
