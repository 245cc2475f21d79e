from .class_accuracy_metric import ClassAccuracyMetric

__all__ = ['ClassAccuracyMetric']
