"""Write the per-window predictions of a stream as a timeline file."""
import csv
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from .window_prediction import WindowPrediction

#: Timeline formats, by file extension.
TIMELINE_FORMATS = ('.json', '.csv')
#: Columns of a CSV timeline.
CSV_COLUMNS = ('start_frame', 'end_frame', 'start_time', 'end_time', 'label',
               'score', 'smoothed_label', 'smoothed_score', 'latency_ms',
               'delay_ms', 'topk')


def check_timeline_path(path: str) -> str:
    """The format (``'.json'`` or ``'.csv'``) of a timeline file name.

    Raises:
        ValueError: Another extension, or a folder that does not exist.
    """
    ext = osp.splitext(path)[1].lower()
    if ext not in TIMELINE_FORMATS:
        raise ValueError(f'timeline file must end with '
                         f'{" or ".join(TIMELINE_FORMATS)}: {path}')
    folder = osp.dirname(osp.abspath(path))
    if not osp.isdir(folder):
        raise ValueError(f'folder of the timeline does not exist: {folder}')
    return ext


def write_timeline(path: str,
                   windows: Sequence[WindowPrediction],
                   meta: Optional[Dict] = None) -> str:
    """Write ``windows`` to ``path`` (``.json``: ``meta`` and a ``windows``
    list; ``.csv``: one row per window, top-k as ``label:score`` joined by
    ``;``). Written to a temporary file first, so an existing file is only
    replaced by a complete one.

    Args:
        path (str): A ``.json`` or ``.csv`` file.
        windows (Sequence[WindowPrediction]): The stream's windows.
        meta (dict, optional): Model, source, window settings and summary
            (JSON only).

    Returns:
        str: ``path``.
    """
    ext = check_timeline_path(path)
    records = [window.to_dict() for window in windows]
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        with open(tmp, 'w', newline='') as f:
            if ext == '.json':
                json.dump(dict(meta or {}, windows=records), f, indent=1)
            else:
                _write_csv(f, records)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path


def _write_csv(f, records: List[Dict]) -> None:
    writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction='ignore')
    writer.writeheader()
    for record in records:
        row = dict(record)
        row['topk'] = ';'.join(f'{label}:{score:.6f}'
                               for label, score in record['topk'])
        writer.writerow(row)
