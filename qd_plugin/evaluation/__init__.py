from .bootstrap import (Interval, bootstrap_mean_class_accuracy,
                        mean_class_accuracy, paired_bootstrap_difference,
                        top1_agreement)
from .metrics import *  # noqa: F401,F403
