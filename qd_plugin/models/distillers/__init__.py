from .recognizer_logits_distiller import RecognizerLogitsDistiller

__all__ = ['RecognizerLogitsDistiller']
