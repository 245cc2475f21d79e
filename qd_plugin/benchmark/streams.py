"""Several clips at once in OpenVINO: one request per clip in its
throughput mode (streams), as a car with several cameras would run a model
whose graph fixes the batch at 1."""
from typing import Dict, List, Optional

import numpy as np


class OpenVINOStreams:
    """A model compiled with ``PERFORMANCE_HINT: THROUGHPUT``; a call runs
    each clip of its input batch as an asynchronous request and returns the
    scores in order.

    Args:
        path (str): The ``.onnx`` or ``.xml`` model (batch 1).
        threads (int, optional): ``INFERENCE_NUM_THREADS`` over all streams.
        streams (int, optional): ``NUM_STREAMS``; default: OpenVINO's choice
            for the threads.
    """

    name = 'openvino'

    def __init__(self,
                 path: str,
                 threads: Optional[int] = None,
                 streams: Optional[int] = None) -> None:
        import openvino as ov
        config: Dict[str, str] = {
            'PERFORMANCE_HINT': 'THROUGHPUT',
            'INFERENCE_PRECISION_HINT': 'f32',
            'ENABLE_CPU_PINNING': 'NO',
        }
        if threads:
            config['INFERENCE_NUM_THREADS'] = str(threads)
        if streams:
            config['NUM_STREAMS'] = str(streams)
        self.compiled = ov.Core().compile_model(path, 'CPU', config)
        requests = int(
            self.compiled.get_property('OPTIMAL_NUMBER_OF_INFER_REQUESTS'))
        self.queue = ov.AsyncInferQueue(self.compiled, requests)
        self.queue.set_callback(self._done)
        self._results: List[Optional[np.ndarray]] = []

    def _done(self, request, index: int) -> None:
        self._results[index] = request.get_output_tensor(0).data.copy()

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        self._results = [None] * len(inputs)
        for i in range(len(inputs)):
            self.queue.start_async({0: inputs[i:i + 1]}, i)
        self.queue.wait_all()
        return np.concatenate(self._results)
