"""What a flow of the rule policy may use of the turn it runs in: the state, the clock, the output helpers and the
other flows' steps (calls.agent.flows.turn.Turn and the flow mixins provide them at run time).

Annotations for the type checker, and `current_task()`: a flow that inherits this shadows nothing of the turn.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from calls.agent import nlu
from calls.agent.context import CallContext
from calls.agent.flows.state import RuleState, Task
from calls.agent.tools import ToolResult


class FlowHost:
    ctx: CallContext
    st: RuleState
    now: datetime
    say: Callable[..., None]
    ask: Callable[[str, str, str], None]
    tool: Callable[..., ToolResult]
    noted: Callable[[str], None]
    advance: Callable[[], None]
    anything_else: Callable[[], None]
    merge_when: Callable[[nlu.Understanding], None]
    take_when: Callable[[nlu.Understanding], bool]
    set_services: Callable[..., None]
    appointments_list: Callable[..., str]
    confirm_several: Callable[[], None]
    plan_group_move: Callable[[], bool]
    confirm_prompt: Callable[..., None]
    execute: Callable[[], None]
    date_in_discussion: Callable[[nlu.DatePref], nlu.DatePref]
    ask_about_new_car: Callable[[], None]
    start_task: Callable[..., Task]
    search_and_offer: Callable[[], None]
    prompt_cut: bool

    def current_task(self) -> Task:
        """The task the caller's line is about: the flows' handlers run only while there is one."""
        task = self.st.task
        if task is None:
            raise LookupError("no task in hand")
        return task
