"""The streaming-evaluation section of the flow report."""
import json
import os.path as osp
from typing import List, Optional


def stream_evaluation_lines(path: Optional[str], title: str) -> List[str]:
    """Markdown of ``tools/eval_stream.py``'s results for the final model
    (nothing when there are none).

    Args:
        path (str, optional): The results JSON.
        title (str): The model's name in the report.
    """
    if not path or not osp.isfile(path):
        return []
    with open(path) as f:
        r = json.load(f)

    def pct(value):
        return 'n/a' if value is None else f'{100 * value:.1f}'

    lines = [
        '## Streaming evaluation', '',
        f'{title}, exported int8 ({r["runtime"]}, `{r["model"]}`), run by '
        f'`tools/eval_stream.py` as the car runs it: a sliding window of '
        f'{r["window_length"]} frames every {r["hop"]} over the '
        f'{r["recordings"]} long recording(s) of `{r["ann_file"]}`, each '
        'frame decoded once and the windows predicted as they come. A window '
        'inside an annotated activity is scored against it; a window with at '
        f'least {pct(r["unannotated_share"])}% of its frames outside every '
        'annotation is in unannotated time, where the model should be '
        f'unsure (top-1 score below {r["low_confidence"]}).', '',
        '| windows inside activities | mean class acc (%) | top-1 (%) | '
        'windows in unannotated time | flagged low-confidence (%) | '
        'annotated windows flagged (%) | across a boundary | real-time '
        'factor |',
        '|---|---|---|---|---|---|---|---|',
        f'| {r["annotated_windows"]} | {pct(r["mean_class_accuracy"])} | '
        f'{pct(r["top1_accuracy"])} | {r["unannotated_windows"]} | '
        f'{pct(r["unannotated_low_confidence_share"])} | '
        f'{pct(r["annotated_low_confidence_share"])} | '
        f'{r["straddling_windows"]} | '
        + (f'{r["real_time_factor"]:.1f}x' if r['real_time_factor'] else
           'n/a') + ' |', ''
    ]
    return lines
