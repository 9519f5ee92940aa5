"""An OO cooperative task scheduler: devices, handlers and workers exchanging packets by priority.

A small operating-system kernel in the spirit of the classic "richards" benchmark (written here
from scratch): tasks are objects with a priority and a state, they exchange packets through
per-task queues, and the scheduler always runs the highest-priority task that is ready.
Usage: scheduler.py [ROUNDS]
"""
from __future__ import annotations

import sys
from enum import IntEnum, IntFlag
from typing import Optional

DEFAULT_SIZE = 50  # rounds of the whole simulation


class Kind(IntEnum):
    DEVICE = 0
    WORK = 1


class State(IntFlag):
    READY = 0
    WAITING = 1  # waits for a packet
    HELD = 2  # put aside by another task
    BLOCKED = WAITING | HELD


class Packet:
    __slots__ = ("link", "dest", "kind", "count", "payload")

    def __init__(self, link: Optional[Packet], dest: int, kind: Kind) -> None:
        self.link = link
        self.dest = dest
        self.kind = kind
        self.count = 0
        self.payload = [0, 0, 0, 0]

    def append_to(self, queue: Optional[Packet]) -> Packet:
        """Append self at the end of `queue` and return the queue's head."""
        self.link = None
        if queue is None:
            return self
        tail = queue
        while tail.link is not None:
            tail = tail.link
        tail.link = self
        return queue


class Task:
    """A schedulable task; subclasses implement step(packet) and return the next task to run."""

    def __init__(self, kernel: Kernel, ident: int, priority: int, queue: Optional[Packet]) -> None:
        self.kernel = kernel
        self.ident = ident
        self.priority = priority
        self.queue = queue
        self.state = State.WAITING if queue is not None else State.READY
        self.next_in_list: Optional[Task] = None

    @property
    def runnable(self) -> bool:
        return not (self.state & State.HELD) and (not (self.state & State.WAITING) or self.queue is not None)

    def take_packet(self) -> Optional[Packet]:
        if self.state & State.WAITING and self.queue is not None:
            packet = self.queue
            self.queue = packet.link
            self.state = State.WAITING if self.queue is not None else State.READY
            return packet
        return None

    def receive(self, packet: Packet, sender: Task) -> Task:
        """A packet arrives for this task; return the task that should run next."""
        if self.queue is None:
            self.queue = packet
            self.state |= State.WAITING
            if self.priority > sender.priority:
                return self
        else:
            self.queue = packet.append_to(self.queue)
        return sender

    def step(self, packet: Optional[Packet]) -> Optional[Task]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}#{self.ident}(prio={self.priority}, state={int(self.state)})"


class IdleTask(Task):
    def __init__(self, kernel: Kernel, ident: int, priority: int, seed: int, budget: int) -> None:
        super().__init__(kernel, ident, priority, None)
        self.seed = seed
        self.budget = budget

    def step(self, packet: Optional[Packet]) -> Optional[Task]:
        self.budget -= 1
        if self.budget == 0:
            return self.kernel.hold_self()
        # A 16-bit feedback shift register decides which device to wake.
        if self.seed & 1 == 0:
            self.seed >>= 1
            return self.kernel.release(DEVICE_A)
        self.seed = (self.seed >> 1) ^ 0xD008
        return self.kernel.release(DEVICE_B)


class WorkerTask(Task):
    def __init__(self, kernel: Kernel, ident: int, priority: int, queue: Optional[Packet]) -> None:
        super().__init__(kernel, ident, priority, queue)
        self.target = HANDLER_A
        self.letter = 0

    def step(self, packet: Optional[Packet]) -> Optional[Task]:
        if packet is None:
            return self.kernel.wait()
        self.target = HANDLER_B if self.target == HANDLER_A else HANDLER_A
        packet.dest = self.target
        packet.count = 0
        for i in range(len(packet.payload)):
            self.letter = self.letter % 26 + 1
            packet.payload[i] = self.letter
        return self.kernel.send(packet)


class HandlerTask(Task):
    def __init__(self, kernel: Kernel, ident: int, priority: int, queue: Optional[Packet]) -> None:
        super().__init__(kernel, ident, priority, queue)
        self.work: Optional[Packet] = None
        self.devices: Optional[Packet] = None

    def step(self, packet: Optional[Packet]) -> Optional[Task]:
        if packet is not None:
            if packet.kind == Kind.WORK:
                self.work = packet.append_to(self.work)
            else:
                self.devices = packet.append_to(self.devices)
        if self.work is None:
            return self.kernel.wait()
        work = self.work
        if work.count >= len(work.payload):
            self.work = work.link
            return self.kernel.send(work)
        if self.devices is None:
            return self.kernel.wait()
        device = self.devices
        self.devices = device.link
        device.count = work.payload[work.count]
        work.count += 1
        return self.kernel.send(device)


class DeviceTask(Task):
    def __init__(self, kernel: Kernel, ident: int, priority: int) -> None:
        super().__init__(kernel, ident, priority, None)
        self.pending: Optional[Packet] = None

    def step(self, packet: Optional[Packet]) -> Optional[Task]:
        if packet is None:
            if self.pending is None:
                return self.kernel.wait()
            done, self.pending = self.pending, None
            return self.kernel.send(done)
        self.pending = packet
        self.kernel.trace(packet.count)
        return self.kernel.hold_self()


IDLE, WORKER, HANDLER_A, HANDLER_B, DEVICE_A, DEVICE_B = range(1, 7)


class Kernel:
    def __init__(self, idle_budget: int) -> None:
        self.tasks: dict[int, Task] = {}
        self.task_list: Optional[Task] = None
        self.current: Optional[Task] = None
        self.sends = 0
        self.holds = 0
        self.traced: list[int] = []
        self.idle_budget = idle_budget

    def add(self, task: Task) -> None:
        self.tasks[task.ident] = task
        task.next_in_list = self.task_list
        self.task_list = task

    def trace(self, value: int) -> None:
        self.traced.append(value)

    def _current(self) -> Task:
        assert self.current is not None
        return self.current

    def wait(self) -> Task:
        me = self._current()
        me.state |= State.WAITING
        return me

    def hold_self(self) -> Optional[Task]:
        self.holds += 1
        me = self._current()
        me.state |= State.HELD
        return me.next_in_list

    def release(self, ident: int) -> Task:
        task = self.tasks[ident]
        task.state &= ~State.HELD
        me = self._current()
        return task if task.priority > me.priority else me

    def send(self, packet: Packet) -> Task:
        self.sends += 1
        dest = self.tasks[packet.dest]
        me = self._current()
        packet.link = None
        packet.dest = me.ident
        return dest.receive(packet, me)

    def build(self) -> None:
        self.add(IdleTask(self, IDLE, 0, seed=1, budget=self.idle_budget))
        work: Optional[Packet] = None
        for _ in range(2):
            work = Packet(work, WORKER, Kind.WORK)
        self.add(WorkerTask(self, WORKER, 1000, work))
        for handler, prio, device in ((HANDLER_A, 2000, DEVICE_A), (HANDLER_B, 3000, DEVICE_B)):
            queue: Optional[Packet] = None
            for _ in range(3):
                queue = Packet(queue, device, Kind.DEVICE)
            self.add(HandlerTask(self, handler, prio, queue))
        self.add(DeviceTask(self, DEVICE_A, 4000))
        self.add(DeviceTask(self, DEVICE_B, 5000))
        # Highest priority first: the scheduler walks this list.
        ordered = sorted(self.tasks.values(), key=lambda t: t.priority, reverse=True)
        for a, b in zip(ordered, ordered[1:] + [None]):
            a.next_in_list = b
        self.task_list = ordered[0]

    def run(self) -> None:
        task = self.task_list
        while task is not None:
            if task.runnable:
                self.current = task
                packet = task.take_packet() if task.state & State.WAITING else None
                task = task.step(packet)
            else:
                task = task.next_in_list


def simulate(rounds: int) -> tuple[int, int, int]:
    sends = holds = mix = 0
    for r in range(rounds):
        kernel = Kernel(idle_budget=500 + 37 * (r % 5))
        kernel.build()
        kernel.run()
        sends += kernel.sends
        holds += kernel.holds
        for v in kernel.traced:
            mix = (mix * 31 + v) % 1_000_000_007
        if r == 0:
            print(f"round 0: {kernel.sends} sends, {kernel.holds} holds, {len(kernel.traced)} device events")
            print("tasks:", ", ".join(repr(t) for t in sorted(kernel.tasks.values(), key=lambda t: t.ident)))
    return sends, holds, mix


def main(rounds: int) -> None:
    sends, holds, mix = simulate(rounds)
    print(f"rounds={rounds} sends={sends} holds={holds}")
    print(f"checksum {mix}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
