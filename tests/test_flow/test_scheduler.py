"""The flow's task graph: dependencies, parallelism, exclusive tasks."""
import threading
import time

import pytest

from qd_plugin.flow.scheduler import Task, TaskGraph


class Recorder:
    """Records start/end order and the peak number of running tasks."""

    def __init__(self):
        self.events = []
        self.running = 0
        self.peak = 0
        self.threads = {}
        self.lock = threading.Lock()

    def task(self, name, seconds=0.02, fail=False):

        def run(threads):
            with self.lock:
                self.events.append(('start', name))
                self.running += 1
                self.peak = max(self.peak, self.running)
                self.threads[name] = threads
            time.sleep(seconds)
            with self.lock:
                self.running -= 1
                self.events.append(('end', name))
            if fail:
                raise RuntimeError(f'{name} failed')

        return run

    def order(self, kind):
        return [name for k, name in self.events if k == kind]


def test_dependencies_finish_before_their_dependents_start():
    rec = Recorder()
    graph = TaskGraph(jobs=2, cores=2)
    graph.add(Task('a', rec.task('a', 0.05)))
    graph.add(Task('b', rec.task('b')))
    graph.add(Task('c', rec.task('c'), deps=['a', 'b']))
    seconds = graph.run()
    ends = rec.order('end')
    assert rec.order('start').index('c') > max(ends.index('a'),
                                               ends.index('b'))
    assert set(seconds) == {'a', 'b', 'c'} and seconds['a'] >= 0.05
    assert rec.threads == dict(a=1, b=1, c=1) and rec.peak == 2


def test_no_more_than_jobs_tasks_run_at_once():
    rec = Recorder()
    graph = TaskGraph(jobs=2, cores=4)
    for name in 'abcde':
        graph.add(Task(name, rec.task(name)))
    graph.run()
    assert rec.peak == 2 and set(rec.threads.values()) == {2}


def test_an_exclusive_task_runs_alone_on_every_core():
    rec = Recorder()
    graph = TaskGraph(jobs=2, cores=2)
    graph.add(Task('first', rec.task('first', 0.05), exclusive=True))
    graph.add(Task('a', rec.task('a', 0.05)))
    graph.add(Task('bench', rec.task('bench'), deps=['a'], exclusive=True))
    graph.add(Task('late', rec.task('late')))
    graph.run()
    assert rec.events[:2] == [('start', 'first'), ('end', 'first')]
    events = rec.events
    start, end = events.index(('start', 'bench')), events.index(
        ('end', 'bench'))
    assert all(name == 'bench' for _, name in events[start:end + 1])
    assert rec.threads['bench'] == 2


def test_a_failure_stops_new_tasks_and_is_raised():
    rec = Recorder()
    graph = TaskGraph(jobs=1, cores=1)
    graph.add(Task('a', rec.task('a', fail=True)))
    graph.add(Task('b', rec.task('b')))
    graph.add(Task('c', rec.task('c'), deps=['a']))
    with pytest.raises(RuntimeError, match='a failed'):
        graph.run()
    assert rec.order('start') == ['a']


def test_unknown_dependencies_and_duplicates_are_refused():
    graph = TaskGraph(jobs=1, cores=1)
    graph.add(Task('a', lambda threads: None))
    with pytest.raises(ValueError, match=r"depends on unknown task\(s\) "
                       r"\['z'\]"):
        graph.add(Task('b', lambda threads: None, deps=['z']))
    with pytest.raises(ValueError, match="'a' added twice"):
        graph.add(Task('a', lambda threads: None))
