"""Running the flow's steps as a dependency graph on a few CPU cores."""
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence


@dataclass
class Task:
    """One step of the flow.

    Args:
        name (str): Unique name, e.g. ``'train:teacher'``.
        run (callable): Does the work; gets the number of CPU threads it may
            use. Raising fails the task and stops new tasks from starting.
        deps (Sequence[str]): Tasks that must finish first.
        exclusive (bool): Run alone, on every core (e.g. a latency
            benchmark, which other work would disturb).
    """
    name: str
    run: Callable[[int], None]
    deps: Sequence[str] = ()
    exclusive: bool = False
    seconds: Optional[float] = field(default=None, init=False)


class TaskGraph:
    """Run tasks in dependency order, ``jobs`` at a time.

    Tasks start in the order they were added among those whose dependencies
    have finished, so adding the longest chain first puts it first. Each of
    ``jobs`` parallel tasks gets ``cores // jobs`` threads; an exclusive task
    waits until nothing else runs and gets every core.

    Args:
        jobs (int): Tasks running at once.
        cores (int): CPU cores to share.
    """

    def __init__(self, jobs: int, cores: int) -> None:
        if jobs < 1 or cores < 1:
            raise ValueError(f'jobs and cores must be at least 1, got {jobs} '
                             f'and {cores}')
        self.jobs = jobs
        self.cores = cores
        self.tasks: Dict[str, Task] = {}

    def add(self, task: Task) -> Task:
        """Add ``task``; its dependencies must have been added before."""
        if task.name in self.tasks:
            raise ValueError(f'task {task.name!r} added twice')
        missing = [d for d in task.deps if d not in self.tasks]
        if missing:
            raise ValueError(f'task {task.name!r} depends on unknown '
                             f'task(s) {missing}')
        self.tasks[task.name] = task
        return task

    def run(self) -> Dict[str, float]:
        """Run every task; returns the wall seconds of each.

        Raises:
            RuntimeError: A task failed (the first failure, after the tasks
                already running have ended).
        """
        pending: List[Task] = list(self.tasks.values())
        running: Dict[str, threading.Thread] = {}
        done: set = set()
        errors: List[BaseException] = []
        finished = threading.Condition()

        def work(task: Task, threads: int) -> None:
            started = time.perf_counter()
            try:
                task.run(threads)
            except BaseException as error:  # reported by the main thread
                errors.append(error)
            finally:
                task.seconds = time.perf_counter() - started
                with finished:
                    running.pop(task.name)
                    done.add(task.name)
                    finished.notify()

        with finished:
            while pending or running:
                startable = [] if errors else self._startable(
                    pending, running, done)
                for task in startable:
                    pending.remove(task)
                    threads = self.cores if task.exclusive else max(
                        1, self.cores // self.jobs)
                    thread = threading.Thread(
                        target=work, args=(task, threads), daemon=True)
                    running[task.name] = thread
                    thread.start()
                if errors and not running:
                    break
                if not startable:
                    if not running:
                        raise RuntimeError(
                            'tasks cannot start: '
                            f'{[t.name for t in pending]}')
                    finished.wait()
        if errors:
            raise errors[0]
        return {name: task.seconds for name, task in self.tasks.items()}

    def _startable(self, pending: List[Task], running: Dict,
                   done: set) -> List[Task]:
        chosen: List[Task] = []
        if any(self.tasks[name].exclusive for name in running):
            return chosen
        for task in pending:
            if not all(d in done for d in task.deps):
                continue
            busy = len(running) + len(chosen)
            if task.exclusive:
                if busy == 0:
                    return [task]
                break  # nothing may overtake a waiting exclusive task
            if busy >= self.jobs:
                break
            chosen.append(task)
        return chosen
