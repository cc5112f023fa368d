"""Names that say which is which: every Prefect task in ``tasks/`` wraps one domain function of
``groupops`` and is named after it (the Python name, and the task name in kebab case), so a run's
task list reads as the domain calls it made."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
from types import ModuleType

import pytest
from prefect import Task

import tasks


def _task_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"tasks.{info.name}")
        for info in pkgutil.iter_modules(tasks.__path__)
    ]


TASKS = [
    (module, name, obj)
    for module in _task_modules()
    for name, obj in vars(module).items()
    if isinstance(obj, Task) and obj.fn.__module__ == module.__name__
]


def _callee(module: ModuleType, call: ast.Call) -> object:
    """The object a call in ``module`` refers to (``f(…)`` or ``a.b.f(…)``), or None."""
    parts: list[str] = []
    func: ast.expr = call.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    obj: object = vars(module).get(func.id)
    for part in reversed(parts):
        obj = getattr(obj, part, None)
    return obj


def test_there_are_tasks() -> None:
    assert len(TASKS) >= 10


@pytest.mark.parametrize(("module", "name", "task"), TASKS, ids=lambda v: getattr(v, "name", ""))
def test_task_is_named_after_the_domain_function_it_wraps(
    module: ModuleType, name: str, task: Task[..., object]
) -> None:
    assert task.name == name.replace("_", "-"), "the task name is the function's, in kebab case"
    tree = ast.parse(textwrap.dedent(inspect.getsource(task.fn)))
    wrapped = [
        callee
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (callee := _callee(module, node)) is not None
        and getattr(callee, "__name__", None) == name
        and getattr(callee, "__module__", "").startswith("groupops.")
    ]
    assert wrapped, f"{module.__name__}.{name} calls no groupops function named {name}"
